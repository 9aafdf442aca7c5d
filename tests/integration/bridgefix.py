"""A real bridge, in this process, against the test world; and helpers to talk to it."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.config import Settings
from bridge.errors import BridgeError
from plugins.unit_generator.plugin import UnitGeneratorPlugin


async def wait_for(predicate: Callable[[], Any], timeout: float = 20.0,
                   what: str | Callable[[], Any] = "condition", every: float = 0.05) -> None:
    """Ask ``predicate`` (a plain or an async function) every ``every`` seconds until it
    answers true; fail after ``timeout`` seconds. ``what`` names the condition: a function
    (plain or async) is asked only then, so counts in it are those at the timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await _answer(predicate()):
        if loop.time() > deadline:
            said = what if isinstance(what, str) else await _answer(what())
            raise AssertionError(f"timed out waiting for {said}")
        await asyncio.sleep(every)


async def _answer(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def refused(client: Any, method: str, params: Any) -> BridgeError:
    """The BridgeError with which ``client`` (a BridgeClient, a method registry, a test
    harness) refuses the call; the test fails if there is none."""
    with pytest.raises(BridgeError) as exc:
        await client.call(method, params)
    return exc.value


def make_settings(world: Any, state_dir: Path, **extra: Any) -> Settings:
    # Not the machine's users (/run/user of a developer's laptop): only the world's.
    extra.setdefault("rootless", False)
    return Settings(url=world.podman_url, systemd="system", state_dir=state_dir,
                    listen="127.0.0.1:0", unit_dir=world.unit_dir, **extra)


async def start_bridge(world: Any, state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                       plugins: dict[str, Any] | None = None,
                       config: dict[str, dict[str, Any]] | None = None, **extra: Any) -> Bridge:
    """A bridge in this process on the world, with ``plugins`` (name: class), once its
    sources are connected and every plugin ``config`` configures (name: table) runs."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", world.dbus_address)
    if config is not None:
        extra["plugins"] = config
    bridge = Bridge(make_settings(world, state_dir, **extra),
                    plugins={} if plugins is None else plugins)
    await bridge.start()
    try:
        await wait_for(lambda: bool(
            bridge.podman_source and bridge.podman_source.connected and bridge.systemd_source
            and bridge.systemd_source.connected and bridge.plugins and all(
                bridge.plugins.info[n].state == "running" for n in config or {})), 40,
            what=f"the bridge's sources to connect and its plugins {list(config or {})} to run")
    except BaseException:
        await bridge.stop()
        raise
    return bridge


@asynccontextmanager
async def until_stopped(starting: Awaitable[Bridge]) -> AsyncIterator[Bridge]:
    """The bridge ``starting`` starts (start_bridge, start_watcher), for the block;
    stopped after it."""
    bridge = await starting
    try:
        yield bridge
    finally:
        await bridge.stop()


def base_url(bridge: Bridge) -> str:
    return bridge.url.split("/?", 1)[0]


@pytest.fixture
async def bridge(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[Bridge]:
    async with until_stopped(start_bridge(world, tmp_path / "state", monkeypatch)) as b:
        yield b


@pytest.fixture
async def client(bridge: Bridge) -> AsyncIterator[BridgeClient]:
    async with BridgeClient(base_url(bridge), bridge.token) as c:
        yield c


@pytest.fixture
async def gen_bridge(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> AsyncIterator[Bridge]:
    """A bridge with the unit generator, its methods registered; Quadlet files go to the
    world's folder for them, as `podbridge sandbox env` says."""
    monkeypatch.setenv("PODBRIDGE_QUADLET_DIR", str(world.quadlet_dir))
    async with until_stopped(start_bridge(
            world, tmp_path / "state", monkeypatch,
            plugins={"unit_generator": UnitGeneratorPlugin})) as b:
        await wait_for(lambda: "units.install" in {m.name for m in b.methods.list()},
                       what="the unit generator's methods")
        yield b


@pytest.fixture
async def gen_client(gen_bridge: Bridge) -> AsyncIterator[BridgeClient]:
    async with BridgeClient(base_url(gen_bridge), gen_bridge.token) as c:
        yield c


class RawWS:
    """A websocket speaking raw frames, for protocol tests."""

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse
                 ) -> None:
        self.session = session
        self.ws = ws

    @classmethod
    async def open(cls, bridge: Bridge, auth: bool = True, **kw: Any) -> RawWS:
        session = aiohttp.ClientSession()
        try:
            ws = await session.ws_connect(base_url(bridge) + "/ws", **kw)
        except BaseException:
            await session.close()
            raise
        raw = cls(session, ws)
        if auth:
            await raw.send({"type": "auth", "token": bridge.token})
            assert (await raw.recv())["type"] == "auth_ok"
        return raw

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(obj if isinstance(obj, str) else json.dumps(obj))

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        result: dict[str, Any] = json.loads(msg.data)
        return result

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()
