"""Small helpers shared by the integration, browser and bench tests."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge.client import BridgeClient
from bridge.faults import ENV as FAULT_ENV
from bridge.sandbox import World
from bridge.sandbox.leftovers import HostSnapshot, leftovers
from bridge.sandbox.registry import free_port

__all__ = ["checked_world", "fetch", "free_port", "unique"]


@contextmanager
def checked_world(path: Path, whose: str, flavour: str | None = None, *,
                  users: Sequence[str] = ()) -> Iterator[World]:
    """A world (of ``flavour``, the default one if None; with ``users``, see
    bridge.sandbox.users) booted in ``path``, torn down after, and checked to leave
    nothing behind on the machine (processes, mounts, cgroups, network, files)."""
    before = HostSnapshot.take()
    w = World(path, flavour=flavour, users=users).up()
    try:
        yield w
    finally:
        w.down()
    left = leftovers(w, before)
    assert not left, f"{whose} world left behind: {left}"


@contextmanager
def started(thing: Any) -> Iterator[Any]:
    """``thing.start()`` for the block (what it returns), ``stop()`` after it."""
    running = thing.start()
    try:
        yield running
    finally:
        running.stop()


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: ``prefix-<8 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def serving(app: web.Application, ssl_context: ssl.SSLContext | None = None,
                  **runner_args: Any) -> AsyncIterator[int]:
    """``app`` served on a free port of 127.0.0.1 for the block (over TLS with
    ``ssl_context``): the port."""
    runner = web.AppRunner(app, access_log=None, **runner_args)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


def fetch(url: str, timeout: float = 10.0) -> str:
    """GET ``url``, retrying while the container is still starting its server."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def plugins_off(*names: str) -> str:
    """The config lines that turn the named plugins off."""
    return "".join(f"[plugins.{name}]\nenabled = false\n" for name in names)


async def serve_bridge(world: Any, state: Path, config: Path, port: int,
                       fault: str | None = None, log: Path | None = None,
                       env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """``python -m bridge serve`` on the world's system Podman and D-Bus (killed at the
    fault point ``fault``, if one is named; with ``env`` added to its environment); its
    stderr goes to ``log``."""
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": world.dbus_address, **(env or {})}
    env.pop("CONTAINER_HOST", None)
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    stderr = log.open("ab") if log is not None else None
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge", "serve", "--config", str(config),
            "--url", world.podman_url, "--state-dir", str(state),
            "--listen", f"127.0.0.1:{port}", stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=stderr or asyncio.subprocess.DEVNULL,
            env=env)
    finally:
        if stderr is not None:
            stderr.close()


async def connect(url: str, token_file: Path, timeout: float = 30) -> BridgeClient:
    """A client of a bridge that is still starting: retried until it answers."""
    deadline = time.monotonic() + timeout
    while True:
        client = None
        try:
            token = await asyncio.to_thread(token_file.read_text)
            client = BridgeClient(url, token.strip())
            await client.connect()
            await client.call("rollback.status")
            return client
        except Exception:
            if client is not None:
                await client.close()
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


class ServedBridge:
    """What the tests' ``podbridge serve`` subprocesses share: the readiness check (both
    sources connected) and a stop that always reaps."""

    proc: subprocess.Popen[bytes] | None = None

    def call(self, method: str, **params: Any) -> Any:
        raise NotImplementedError

    def _sources_connected(self) -> bool:
        try:
            status = self.call("bridge.status")
        except (OSError, ValueError, AssertionError):
            return False
        return bool(status["podman"]["connected"] and status["systemd"]["connected"])

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
