"""The world's image registry: `docker-registry serve` on 127.0.0.1 at a free port.

It runs outside the world's namespaces (it has nothing to do with systemd), as a child
process owned by the world, with its storage in the world's folder.
"""

from __future__ import annotations

import logging
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from bridge.sandbox.procs import ProcRef

logger = logging.getLogger(__name__)

REGISTRY_BIN = "/usr/bin/docker-registry"

CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {data}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as resp:
            return int(resp.status) == 200
    except (OSError, urllib.error.URLError):
        return False


def start_registry(folder: Path, env: dict[str, str], timeout: float = 15.0,
                   ) -> tuple[subprocess.Popen[bytes], int]:
    """Start a registry with its data in ``folder``; return it once it answers /v2/.

    A free port can be taken by someone else before the registry binds it: then the
    registry exits and another port is tried.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "data").mkdir(exist_ok=True)
    for _attempt in range(5):
        port = free_port()
        config = folder / "config.yml"
        config.write_text(CONFIG.format(data=folder / "data", port=port))
        with (folder / "registry.log").open("ab") as log:
            proc = subprocess.Popen(
                [REGISTRY_BIN, "serve", str(config)], stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, env=env, cwd=folder, start_new_session=True)
        deadline = time.monotonic() + timeout
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers(port):
                logger.info("registry up on 127.0.0.1:%d (pid %d)", port, proc.pid)
                return proc, port
            time.sleep(0.05)
        if proc.poll() is None:
            ProcRef.of(proc.pid).kill()
            proc.wait()
            raise TimeoutError(f"registry did not answer on 127.0.0.1:{port} in {timeout}s")
        logger.warning("registry on port %d exited with %s; trying another port",
                       port, proc.returncode)
    raise RuntimeError(f"the registry would not start: see {folder / 'registry.log'}")
