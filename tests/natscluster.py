"""A real 3-node nats-server cluster with JetStream on loopback ports, for tests.

Each node has its own store folder under the test's tmp_path; ``kill(i)`` SIGKILLs one node
and ``start(i)`` brings it back on the same ports and store. ``stop()`` kills them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import socket
import subprocess
from pathlib import Path

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _quiet(exc: Exception) -> None:
    """nats-py prints a traceback for every refused connection by default."""


class NatsCluster:
    def __init__(self, root: Path, nodes: int = 3) -> None:
        self.root = root
        self.client_ports = [free_port() for _ in range(nodes)]
        self.route_ports = [free_port() for _ in range(nodes)]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes

    @property
    def urls(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.client_ports]

    def _config(self, i: int) -> Path:
        d = self.root / f"n{i}"
        d.mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{p}"
                           for j, p in enumerate(self.route_ports) if j != i)
        conf = d / "nats.conf"
        conf.write_text(f"""
server_name: n{i}
listen: 127.0.0.1:{self.client_ports[i]}
jetstream {{ store_dir: "{d}/js", max_memory_store: 64MB, max_file_store: 256MB }}
cluster {{ name: podbridge-test, listen: 127.0.0.1:{self.route_ports[i]}, routes: [{routes}] }}
""")
        return conf

    def start(self, i: int) -> None:
        log = open(self.root / f"n{i}.log", "ab")
        self.procs[i] = subprocess.Popen([NATS_SERVER, "-c", str(self._config(i))],
                                         stdout=log, stderr=log)
        log.close()

    def kill(self, i: int) -> None:
        p = self.procs[i]
        if p is not None:
            p.send_signal(signal.SIGKILL)
            p.wait()
            self.procs[i] = None

    def stop(self) -> None:
        for i in range(len(self.procs)):
            self.kill(i)

    async def up(self, timeout: float = 60.0) -> None:
        """Start every node and wait until JetStream answers (a meta leader is elected)."""
        import nats

        for i in range(len(self.procs)):
            self.start(i)
        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(Exception):
                    nc = await nats.connect(servers=self.urls, connect_timeout=1,
                                            allow_reconnect=False, error_cb=_quiet)
                    try:
                        await nc.jetstream().account_info()
                        return
                    finally:
                        await nc.close()
                await asyncio.sleep(0.2)
