"""``podbridge serve`` run inside a test world, as root or as one of its users, as a host
runs it; and ``podbridge`` commands run there the same way."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.python import argv as in_world_python
from bridge.sandbox.users import command
from tests.helpers import free_port

REPO = Path(__file__).resolve().parents[2]

def host_port() -> int:
    """A port for a rootless container's ``-p``, free now and outside the kernel's ephemeral
    range: on a busy machine a port from that range is often held by some connection, and
    rootless Podman's port forwarder then fails with "bind: address already in use"."""
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range")
                 .read_text().split())
    candidates = [p for p in range(20000, 32768) if not low <= p <= high]
    for port in random.sample(candidates, 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a container")


def python_argv(world: World) -> list[str]:
    """A Python that any user of ``world`` may run, with podbridge and its dependencies on
    its path (bridge.sandbox.python: the machine's, or the world's own virtualenv)."""
    return in_world_python(world)


def podbridge_argv(world: World, *args: str) -> list[str]:
    return [*python_argv(world), "-m", "bridge", *args]


def run_podbridge(world: World, user: str | None, *args: str, timeout: float = 300,
                  ) -> subprocess.CompletedProcess[str]:
    who = world.user(user) if user else None
    return subprocess.run(command(world, who, podbridge_argv(world, *args)), capture_output=True,
                          text=True, timeout=timeout, check=False, env={"PATH": os.environ[
                              "PATH"]})


class WorldBridge:
    """A bridge process inside ``world``; ``url`` and ``token`` once :meth:`start` returns."""

    def __init__(self, world: World, user: str | None, log: Path, *args: str) -> None:
        self.world = world
        self.user = user
        self.port = free_port()
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = ""

    @property
    def state_dir(self) -> Path:
        """The state folder as the machine sees it."""
        if self.user is None:
            return self.world.root / "root-bridge-state"
        return self.world.root / "home" / self.user / ".local" / "state" / "podbridge"

    def start(self, timeout: float = 60) -> WorldBridge:
        who = self.world.user(self.user) if self.user else None
        extra = [] if self.user else ["--state-dir", str(self.state_dir)]
        argv = podbridge_argv(self.world, "serve", "--listen", f"127.0.0.1:{self.port}",
                              "--log-level", "debug", *extra, *self.args)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(command(self.world, who, argv), stdout=out,
                                         stderr=out, stdin=subprocess.DEVNULL,
                                         env={"PATH": os.environ["PATH"]})
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"the bridge exited {self.proc.returncode}: "
                                     f"{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    pass
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the bridge did not answer: "
                                         f"{self.log.read_text()[-3000:]}") from None
                time.sleep(0.1)
        self.token = (self.state_dir / "token").read_text().strip()
        return self

    def _bridge_pid(self) -> int | None:
        """nsenter forks the bridge into the world's pid namespace: its child."""
        assert self.proc is not None
        try:
            kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return None
        return int(kids.split()[0]) if kids.split() else None

    def stop(self) -> None:
        if self.proc is None:
            return
        pid = self._bridge_pid()
        if pid is not None:
            os.kill(pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            if (pid := self._bridge_pid()) is not None:
                os.kill(pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    async def astart(self) -> WorldBridge:
        return await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)


@asynccontextmanager
async def world_client(world: World, user: str | None, log: Path, *args: str
                       ) -> AsyncIterator[BridgeClient]:
    """A client of a :class:`WorldBridge` started for the block, stopped after it."""
    bridge = await WorldBridge(world, user, log, *args).astart()
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            yield client
    finally:
        await bridge.astop()
