"""Cockpit in the test world, for the tests and the benchmark of issue 20.

- :func:`cockpit_socket_unit`: a ``cockpit.socket`` as Debian's cockpit-ws ships it, run by
  the world's systemd on an address of its own and podbridge's default port.
- :func:`install_package`: podbridge's Cockpit package staged by ``scripts/install-cockpit.sh``
  into the world's folder (never into the machine's /usr/local/share).
- :class:`CockpitWS`: Debian's cockpit-ws with ``--local-session`` (a session as root, no
  login) started inside the world's mount and pid namespaces, so it sees the world's /run:
  its Podman page and podbridge's page then talk to the world's Podman and bridge. The
  world's own Cockpit runs: the machine's in a world on the machine's Debian (Cockpit 287
  on Debian 12), the tree's in a world on a built root filesystem (Cockpit 337 and
  cockpit-podman 108 in debian13).
- :class:`UnixBridge`: ``podbridge serve --listen unix:WORLD/run/podbridge/podbridge.sock``,
  which is /run/podbridge/podbridge.sock inside the world, where the page looks.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bridge.config import DEFAULT_PORT
from bridge.sandbox import World
from bridge.sandbox.registry import free_port
from bridge.sandbox.world import UnixHTTPConnection
from tests.helpers import ServedBridge

ROOT = Path(__file__).resolve().parents[1]
COCKPIT_WS = Path("/usr/lib/cockpit/cockpit-ws")
COCKPIT_BRIDGE = Path("/usr/bin/cockpit-bridge")
COCKPIT_PODMAN = Path("/usr/share/cockpit/podman/manifest.json")
PACKAGE_DIR = "/cockpit/podbridge"      # under the staged data dir
# The auto-update plugin checks the world's plain-HTTP registry from outside the world.
BRIDGE_CONFIG = "[plugins.auto_update]\ntls_verify = false\n"


def cockpit_missing(world: World | None = None) -> str | None:
    """Why Cockpit cannot run in ``world`` (None: on the machine), or None. A world on
    the machine's own Debian runs the machine's Cockpit (scripts/install-deps.sh); a world
    on a built root filesystem its own (the tree's, bridge.sandbox.rootfs)."""
    for path, package in ((COCKPIT_WS, "cockpit-ws"), (COCKPIT_BRIDGE, "cockpit-bridge"),
                          (COCKPIT_PODMAN, "cockpit-podman")):
        if world is None:
            there = path.exists()
        else:
            there = world.run(["test", "-e", str(path)], check=False).returncode == 0
        if not there:
            where = "on this machine" if world is None else f"in the {world.flavour} world"
            return f"{path} is missing {where} (Debian package {package})"
    return None


def unique_loopback() -> str:
    """An address of 127/8 of our own: a listener there on the default port is in no other
    test's (or engineer's) way."""
    x, y, z = (b % 250 + 1 for b in os.urandom(3))
    return f"127.{x}.{y}.{z}"


@contextlib.contextmanager
def cockpit_socket_unit(world: World, address: str, port: int = DEFAULT_PORT) -> Iterator[str]:
    """``cockpit.socket`` listening on ADDRESS:PORT in the world's systemd (its service is
    never started); stopped and removed after."""
    (world.unit_dir / "cockpit.socket").write_text(textwrap.dedent(f"""\
        [Unit]
        Description=Cockpit Web Service Socket
        [Socket]
        ListenStream={address}:{port}
        [Install]
        WantedBy=sockets.target
        """))
    (world.unit_dir / "cockpit.service").write_text(textwrap.dedent("""\
        [Unit]
        Description=Cockpit Web Service (never started by the tests)
        [Service]
        ExecStart=/bin/false
        """))
    world.systemctl("daemon-reload")
    world.systemctl("start", "cockpit.socket")
    try:
        yield f"{address}:{port}"
    finally:
        world.systemctl("stop", "cockpit.socket", check=False)
        for name in ("cockpit.socket", "cockpit.service"):
            (world.unit_dir / name).unlink(missing_ok=True)
        world.systemctl("daemon-reload", check=False)


def install_package(world: World) -> Path:
    """``make install``'s Cockpit step, staged in the world's folder (visible inside at the
    same path). Returns the data dir, as the world sees it, to put first on XDG_DATA_DIRS."""
    # Under the world's /run: reachable inside by any user (the world's folder may sit in
    # a 0700 one, such as pytest's), as /run/cockpit-share.
    share = world.run_dir / "cockpit-share"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "install-cockpit.sh")], cwd=ROOT,
                          env={**os.environ, "DESTDIR": str(share),
                               "COCKPIT_PKG_DIR": PACKAGE_DIR},
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (share / PACKAGE_DIR.lstrip("/") / "manifest.json").is_file()
    return Path("/run/cockpit-share")


class CockpitWS:
    """One cockpit-ws in the world. ``--local-session`` serves one session: a browser that
    leaves ends it, so each browser gets a fresh one (:meth:`restart`)."""

    def __init__(self, world: World, data_dir: Path | None, user: str | None = None) -> None:
        self.world = world
        self.data_dir = data_dir
        self.user = user      # None: root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = world.root / "log" / f"cockpit-ws-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> CockpitWS:
        dirs = "/usr/local/share:/usr/share"
        if self.data_dir is not None:
            dirs = f"{self.data_dir}:{dirs}"
        as_user = [] if self.user is None else [
            "setpriv", f"--reuid={self.user}", f"--regid={pwd.getpwnam(self.user).pw_gid}",
            "--init-groups"]
        home = "/root" if self.user is None else "/tmp"
        argv = ["nsenter", "-t", str(self.world.pid1), "-m", "-p", "--", *as_user,
                "env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", f"HOME={home}",
                "LANG=C.UTF-8", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket",
                f"XDG_DATA_DIRS={dirs}", str(COCKPIT_WS),
                f"--local-session={COCKPIT_BRIDGE}", "--address", "127.0.0.1",
                "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _answers("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"cockpit-ws did not come up:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Ends cockpit-ws and its session (cockpit-bridge and what it runs) by the process
        group this object started."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        # Its session's processes (cockpit-bridge, the pages' helpers) in the group too.
        deadline = time.monotonic() + 10
        while _group_alive(self._pgid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def _pgid(self) -> int:
        return self.proc.pid if self.proc is not None else -1

    def session_pids(self) -> list[int]:
        """cockpit-ws and every process of its session (for CPU accounting)."""
        if self.proc is None:
            return []
        return [p for p in _all_pids() if _pgid_of(p) == self.proc.pid]


def _all_pids() -> list[int]:
    return [int(e.name) for e in Path("/proc").iterdir() if e.name.isdigit()]


def _pgid_of(pid: int) -> int:
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[2])


def _group_alive(pgid: int) -> bool:
    return pgid > 0 and any(_pgid_of(p) == pgid for p in _all_pids())


def _answers(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class UnixBridge(ServedBridge):
    """`podbridge serve` on the world, on the unix socket Cockpit's page looks for."""

    def __init__(self, world: World, state_dir: Path, panel: Path | None = None, *,
                 inside: str = "/run/podbridge/podbridge.sock",
                 socket_group: str | None = None) -> None:
        """``inside``: the socket's path as the world sees it (the user's own bridge:
        /run/user/UID/podbridge/podbridge.sock); ``socket_group``: 0660 for that group."""
        self.world = world
        self.state_dir = state_dir
        self.panel = panel
        self.socket = world.run_dir / inside.removeprefix("/run/")
        self.socket_group = socket_group
        self.proc: subprocess.Popen[bytes] | None = None
        state_dir.mkdir(parents=True, exist_ok=True)
        self.config = state_dir.parent / f"{state_dir.name}.toml"
        self.config.write_text(BRIDGE_CONFIG)
        self.log = state_dir.parent / f"{state_dir.name}.log"

    def start(self, timeout: float = 60.0) -> UnixBridge:
        env = {**os.environ, **self.world.env()}
        if self.socket_group:
            env["PODBRIDGE_SOCKET_GROUP"] = self.socket_group
        argv = [sys.executable, "-m", "bridge", "serve", "--listen", f"unix:{self.socket}",
                "--state-dir", str(self.state_dir), "--unit-dir", str(self.world.unit_dir),
                "--config", str(self.config)]
        if self.panel is not None:
            argv += ["--panel-dir", str(self.panel)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log,
                                         stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._sources_connected():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the bridge did not come up:\n{self.log.read_text()}")
            time.sleep(0.1)
        return self

    def call(self, method: str, **params: Any) -> Any:
        """A REST call over the unix socket: as root, the peer needs no token."""
        conn = UnixHTTPConnection(self.socket, 30)
        try:
            conn.request("POST", f"/api/{method}", body=json.dumps(params),
                         headers={"Content-Type": "application/json"})
            answer = json.loads(conn.getresponse().read())
        finally:
            conn.close()
        assert answer["ok"], answer
        return answer["data"]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
