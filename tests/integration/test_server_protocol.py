"""The websocket protocol and REST API on a real aiohttp server over loopback: auth,
origin checks, every kind of malformed input, slow clients, and plugin isolation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import aiohttp
import pytest
from pydantic import BaseModel

from bridge.auth import Auth
from bridge.bus import Bus
from bridge.errors import BridgeError
from bridge.events import BRIDGE_SOURCE
from bridge.methods import MethodRegistry, method
from bridge.plugin import PluginConfig, PluginContext, PluginHost
from bridge.podman import PodmanClient
from bridge.server import Server
from bridge.state import State
from bridge.store import Store
from bridge.systemd import SystemdClient
from bridge.tasks import within
from tests.helpers import serving
from tests.integration.bridgefix import wait_for

TOKEN = "test-token-123"


class Echo(BaseModel):
    text: str
    times: int = 1


class Env:
    def __init__(self, bus: Bus, methods: MethodRegistry, url: str) -> None:
        self.bus = bus
        self.methods = methods
        self.url = url


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    bus = Bus(ring_size=50, queue_size=20)
    methods = MethodRegistry()

    async def echo(p: Echo) -> str:
        return p.text * p.times

    async def boom(_: Any) -> None:
        raise RuntimeError("kaputt")

    methods.register("test.echo", echo, Echo, role="viewer", readonly=True)
    methods.register("test.boom", boom)
    server = Server(bus=bus, methods=methods, auth=Auth(TOKEN), panel_dir=None,
                    allowed_origins=["http://trusted.example"], queue_size=20)
    async with serving(server.app) as port:
        yield Env(bus, methods, f"http://127.0.0.1:{port}")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def open_ws(session: aiohttp.ClientSession, env: Env, token: str | None = TOKEN,
                  **kw: Any) -> aiohttp.ClientWebSocketResponse:
    ws = await session.ws_connect(env.url + "/ws", **kw)
    if token is not None:
        await ws.send_json({"type": "auth", "token": token})
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "auth_ok", reply
    return ws


async def test_wrong_token_is_refused(env: Env, session: aiohttp.ClientSession) -> None:
    ws = await open_ws(session, env, token=None)
    await ws.send_json({"type": "auth", "token": "wrong"})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_invalid"
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE
    # A call before auth is not an auth message: refused too.
    ws = await open_ws(session, env, token=None)
    await ws.send_json({"id": 1, "type": "call", "method": "test.echo"})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_invalid"
    await ws.close()


async def test_foreign_origin_is_refused(env: Env, session: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await session.ws_connect(env.url + "/ws", headers={"Origin": "http://evil.example"})
    assert info.value.status == 403
    # The same host, and a configured origin, are fine.
    ws = await open_ws(session, env, headers={"Origin": env.url})
    await ws.close()
    ws = await open_ws(session, env, headers={"Origin": "http://trusted.example"})
    await ws.close()


MALFORMED = [
    ("not json", None, "protocol-error"),
    ("[]", None, "protocol-error"),
    ('{"type": "call", "method": "test.echo"}', None, "protocol-error"),
    ('{"id": 2, "type": "nonsense"}', 2, "protocol-error"),
    ('{"id": 3, "type": "subscribe", "topics": "container.*"}', 3, "protocol-error"),
    ('{"id": 4, "type": "call", "method": "no.such"}', 4, "unknown-method"),
    ('{"id": 5, "type": "call", "method": "test.echo", "params": {}}', 5, "invalid-params"),
    ('{"id": 6, "type": "call", "method": "test.echo", "params": {"text": 1}}', 6,
     "invalid-params"),
    ('{"id": 7, "type": "call", "method": "test.echo", "params": "x"}', 7, "protocol-error"),
    ('{"id": 8, "type": "unsubscribe", "sub": 99}', 8, "not-found"),
    ('{"id": 9, "type": "call", "method": "test.boom"}', 9, "internal-error"),
    ('{"id": 10, "type": "subscribe", "topics": ["*"], "since": "yesterday"}', 10,
     "protocol-error"),
]


async def test_malformed_input_gets_an_error_and_the_socket_stays_usable(
        env: Env, session: aiohttp.ClientSession) -> None:
    ws = await open_ws(session, env)
    for text, msg_id, code in MALFORMED:
        await ws.send_str(text)
        reply = await ws.receive_json(timeout=5)
        if msg_id is None:
            assert reply["type"] == "error", (text, reply)
        else:
            assert reply["id"] == msg_id and reply["ok"] is False, (text, reply)
        error = reply["error"]
        assert error["code"] == code, (text, reply)
        assert error["message"], text
        # Still usable after each.
        await ws.send_json({"id": 1000, "type": "ping"})
        assert (await ws.receive_json(timeout=5))["data"] == "pong"
    await ws.send_bytes(b"\x00\x01")
    assert (await ws.receive_json(timeout=5))["type"] == "error"
    await ws.send_json({"id": 11, "type": "call", "method": "test.echo",
                        "params": {"text": "ab", "times": 2}})
    assert await ws.receive_json(timeout=5) == {"id": 11, "type": "result", "ok": True,
                                                "data": "abab"}
    await ws.close()


async def test_subscribe_since_and_reset(env: Env, session: aiohttp.ClientSession) -> None:
    for i in range(10):
        env.bus.publish("container.start", "podman", f"c{i}")
    ws = await open_ws(session, env)
    await ws.send_json({"id": 1, "type": "subscribe", "topics": ["container.*"], "since": 7})
    result = await ws.receive_json(timeout=5)
    assert result["ok"] and result["data"] == {"seq": 7, "reset": False}
    got = [(await ws.receive_json(timeout=5))["event"]["seq"] for _ in range(3)]
    assert got == [8, 9, 10]
    for i in range(100):  # more than the ring holds
        env.bus.publish("image.tag", "podman", f"i{i}")
    await ws.send_json({"id": 2, "type": "subscribe", "topics": ["*"], "since": 3})
    result = await ws.receive_json(timeout=5)
    assert result["ok"] and result["data"]["reset"] is True
    assert (await ws.receive_json(timeout=5))["type"] == "reset"
    await ws.send_json({"id": 3, "type": "unsubscribe", "sub": 1})
    assert (await ws.receive_json(timeout=5))["ok"] is True
    await ws.close()


async def test_stalled_client_is_dropped_and_does_not_slow_others(
        env: Env, session: aiohttp.ClientSession) -> None:
    # A client that subscribes and then never reads a byte.
    reader, writer = await asyncio.open_connection("127.0.0.1", int(env.url.rsplit(":", 1)[1]))
    writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                 b"Sec-WebSocket-Version: 13\r\n\r\n")
    await reader.readuntil(b"\r\n\r\n")

    def frame(obj: Any) -> bytes:
        payload = json.dumps(obj).encode()
        return bytes([0x81, 0x80 | len(payload)]) + b"\0\0\0\0" + payload

    writer.write(frame({"type": "auth", "token": TOKEN}))
    writer.write(frame({"id": 1, "type": "subscribe", "topics": ["*"]}))
    # The stalled client's subscription is made (it reads no answer, so ask the bus).
    await wait_for(lambda: env.bus.subscriber_count >= 1, 20, "the stalled client to subscribe",
                   0.01)
    good = await open_ws(session, env)
    await good.send_json({"id": 1, "type": "subscribe", "topics": ["*"]})
    await good.receive_json(timeout=5)
    assert env.bus.subscriber_count == 2
    big = {"blob": "x" * 20_000}
    received = 0

    async def read_good() -> None:
        nonlocal received
        while received < 400:
            msg = await good.receive_json(timeout=10)
            if msg["type"] == "event":
                received += 1

    reading = asyncio.create_task(read_good())
    for i in range(400):
        env.bus.publish("bench.tick", "test", str(i), big)
        if i % 10 == 9:
            await asyncio.sleep(0.01)
    await within(reading, 30)
    assert received == 400
    assert env.bus.subscriber_count == 1, "the stalled client was let go of"
    writer.close()
    await good.close()


async def test_rest_api(env: Env, session: aiohttp.ClientSession) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with session.post(env.url + "/api/test.echo", json={"text": "x"},
                            headers=auth) as r:
        assert r.status == 200 and (await r.json()) == {"ok": True, "data": "x"}
    async with session.get(env.url + "/api/test.echo?text=y&times=3", headers=auth) as r:
        assert (await r.json())["data"] == "yyy"
    async with session.post(env.url + "/api/test.echo", json={}, headers=auth) as r:
        assert r.status == 400 and (await r.json())["error"]["code"] == "invalid-params"
    async with session.post(env.url + "/api/test.echo", data=b"{nope", headers=auth) as r:
        assert r.status == 400
    async with session.post(env.url + "/api/no.such", json={}, headers=auth) as r:
        assert r.status == 404
    async with session.post(env.url + "/api/test.echo", json={"text": "x"}) as r:
        assert r.status == 401
    async with session.post(env.url + "/api/test.echo", json={"text": "x"},
                            headers={"Authorization": "Bearer wrong"}) as r:
        assert r.status == 401


async def test_login_cookie_then_websocket(env: Env) -> None:
    # A cookie jar that, like a browser, keeps cookies of an IP address host.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        await _login_then_websocket(env, session)


async def _login_then_websocket(env: Env, session: aiohttp.ClientSession) -> None:
    async with session.get(env.url + f"/?token={TOKEN}", allow_redirects=False) as r:
        assert r.status == 302 and "podbridge_session" in r.cookies
    ws = await open_ws(session, env, token=None, headers={"Origin": env.url})
    await ws.send_json({"type": "auth"})
    assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
    await ws.close()
    async with session.get(env.url + "/?token=bad", allow_redirects=False) as r:
        assert r.status == 401
    async with aiohttp.ClientSession() as fresh:
        async with fresh.post(env.url + "/login", json={"token": "bad"}) as r:
            assert r.status == 401


class Crashy:
    name: ClassVar[str] = "crashy"
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    starts: ClassVar[int] = 0

    async def start(self, ctx: PluginContext) -> None:
        type(self).starts += 1

        async def explode() -> None:
            await asyncio.sleep(0.05)
            raise RuntimeError("plugin bug")

        async def hello(_: Any) -> str:
            return "hi"

        ctx.register_method("crashy.hello", hello)
        ctx.create_task(explode())

    async def stop(self) -> None:
        pass


class BadStart(Crashy):
    name: ClassVar[str] = "badstart"

    async def start(self, ctx: PluginContext) -> None:
        raise ValueError("cannot start")


class BadInit(Crashy):
    name: ClassVar[str] = "badinit"

    def __init__(self, ctx: PluginContext) -> None:
        raise ValueError("cannot construct")


async def test_crashing_plugin_is_isolated_and_restarted(tmp_path: Any) -> None:
    bus = Bus()
    methods = MethodRegistry()
    store = Store(tmp_path / "db.sqlite")
    failures: list[tuple[str, str]] = []
    bus.listen(["bridge.plugin_failed"], lambda e, _r: failures.append(
        (e.subject, e.data["error"])))
    host = PluginHost(bus=bus, podman=PodmanClient("unix:///nonexistent"),
                      systemd=SystemdClient("system", "unix:path=/nonexistent"), store=store,
                      state=State(bus), methods=methods,
                      config={"badstart": {}, "badinit": {}, "crashy": {},
                              "off": {"enabled": False}},
                      plugins={"crashy": Crashy, "badstart": BadStart, "badinit": BadInit,
                               "broken": ImportError("no module named nope")},
                      backoff=lambda n: 0.05)
    Crashy.starts = 0
    await host.start()
    try:
        # Wait for the condition (a loaded machine may take long), not a fixed 5 s.
        await wait_for(lambda: Crashy.starts >= 3, timeout=60,
                       what="a restart after each failure")
        names = {n for n, _ in failures}
        assert {"crashy", "badstart", "badinit", "broken"} <= names
        assert any("plugin bug" in err for n, err in failures if n == "crashy")
        # A constructor that raises is a failure like a start() that raises.
        assert any("cannot construct" in err for n, err in failures if n == "badinit")
        info = {p["name"]: p for p in host.list()}
        assert info["broken"]["state"] == "broken"
        assert info["crashy"]["failures"] >= 2
        assert info["badinit"]["state"] == "failed"
        # The rest of the bridge is unaffected: the bus still delivers to a subscriber.
        with bus.subscribe(["x.*"]) as sub:
            sent = bus.publish("x.y", "test", "alive")
            got = sub.get_nowait()
            assert got is not None and got[0].seq == sent.seq and got[0].subject == "alive"
    finally:
        await host.stop()
        store.close()
    assert "crashy.hello" not in {m.name for m in methods.list()}


async def test_rest_and_websocket_send_the_same_error(
        env: Env, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    """One mapping: the error body REST answers with is the one the websocket sends, and
    its HTTP status is the one its class carries; an internal-error's cause is logged."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    ws = await open_ws(session, env)
    cases = [("test.boom", {}, "internal-error", 500), ("test.echo", {}, "invalid-params", 400),
             ("no.such", {}, "unknown-method", 404)]
    for i, (name, params, code, status) in enumerate(cases, 1):
        caplog.clear()
        async with session.post(env.url + f"/api/{name}", json=params, headers=auth) as r:
            rest = await r.json()
            assert r.status == status, (name, r.status)
        if code == "internal-error":
            assert "RuntimeError: kaputt" in caplog.text and "Traceback" in caplog.text
        await ws.send_json({"id": i, "type": "call", "method": name, "params": params})
        reply = await ws.receive_json(timeout=10)
        assert reply["error"] == rest["error"] and rest["error"]["code"] == code
    await ws.close()


class Declared:
    """A plugin written the narrow way: the context at construction, a method declared on
    its handler, a typed listener and a subscription through the context."""

    name: ClassVar[str] = "declared"
    Config: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.heard: list[str] = []

    async def start(self, ctx: PluginContext) -> None:
        assert ctx is self.ctx
        ctx.listen(BRIDGE_SOURCE, lambda _e, data: self.heard.append(str(data["connected"])))
        self.sub = ctx.subscribe(["x.*"])
        ctx.create_task(self._drain(), "drain")

    async def _drain(self) -> None:
        while await self.sub.next() is not None:
            pass

    async def stop(self) -> None:
        pass

    @method("declared.echo", Echo, role="viewer", readonly=True)
    async def do_echo(self, p: Echo) -> str:
        """say it again"""
        return p.text * p.times


async def test_a_plugin_declares_its_methods_and_its_context_undoes_its_work(
        tmp_path: Any) -> None:
    bus = Bus()
    methods = MethodRegistry()
    store = Store(tmp_path / "db.sqlite")
    host = PluginHost(bus=bus, podman=PodmanClient("unix:///nonexistent"),
                      systemd=SystemdClient("system", "unix:path=/nonexistent"), store=store,
                      state=State(bus), methods=methods, config={},
                      plugins={"declared": Declared})
    await host.start()
    try:
        await wait_for(lambda: "declared.echo" in {m.name for m in methods.list()},
                       what="the declared method")
        m = methods.get("declared.echo")
        assert (m.owner, m.role, m.readonly, m.description) == (
            "declared", "viewer", True, "say it again")
        assert await methods.call("declared.echo", {"text": "ab", "times": 2}) == "abab"
        bus.publish(BRIDGE_SOURCE, "bridge", "podman", {"connected": True, "error": None})
        plugin = host.instance("declared")
        assert plugin is not None and plugin.heard == ["True"]
        assert bus.subscriber_count == 1
    finally:
        await host.stop()
        store.close()
    assert "declared.echo" not in {m.name for m in methods.list()}
    assert bus.subscriber_count == 0, "the plugin's subscription outlived it"
    bus.publish(BRIDGE_SOURCE, "bridge", "podman", {"connected": False, "error": "x"})
    assert plugin.heard == ["True"], "the plugin's listener outlived it"


class Gated:
    """A plugin whose start() ends only when the test says so, and then as it says."""

    name: ClassVar[str] = "gated"
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    release: ClassVar[asyncio.Event]
    fail: ClassVar[bool] = False
    starting: ClassVar[asyncio.Event]

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def start(self, ctx: PluginContext) -> None:
        Gated.starting.set()
        await Gated.release.wait()
        if Gated.fail:
            raise RuntimeError("no database")

    async def stop(self) -> None:
        pass

    @method("gated.ping", role="viewer", readonly=True)
    async def do_ping(self, _: Any) -> str:
        return "pong"


@pytest.mark.parametrize("fail", [False, True])
async def test_a_call_made_while_its_plugin_starts_waits_for_the_start(
        tmp_path: Any, fail: bool) -> None:
    """A client that connects while the bridge's plugins start (the bridge already serves)
    gets the plugin's answer once it has started, or why it did not -- never
    ``unknown-method`` for a method that is on its way."""
    bus, methods, store = Bus(), MethodRegistry(), Store(tmp_path / "db.sqlite")
    Gated.release, Gated.starting, Gated.fail = asyncio.Event(), asyncio.Event(), fail
    host = PluginHost(bus=bus, podman=PodmanClient("unix:///nonexistent"),
                      systemd=SystemdClient("system", "unix:path=/nonexistent"), store=store,
                      state=State(bus), methods=methods, config={},
                      plugins={"gated": Gated}, backoff=lambda n: 3600)
    await host.start()
    try:
        await within(Gated.starting.wait(), 60)
        call = asyncio.create_task(methods.call("gated.ping", {}))
        # Given a turn of the loop, the call is waiting for the start, neither answered
        # nor refused (the method was known before the start ended).
        await asyncio.sleep(0)
        assert not call.done()
        assert {p["name"]: p["state"] for p in host.list()}["gated"] == "starting"
        Gated.release.set()
        if fail:
            with pytest.raises(BridgeError) as err:
                await within(call, 60)
            assert err.value.code == "unreachable"
            assert "did not start: RuntimeError: no database" in err.value.message
            # Once the failed plugin is torn down, its method is gone.
            await wait_for(lambda: "gated.ping" not in {m.name for m in methods.list()},
                           what="the failed plugin's method unregistered")
        else:
            assert await within(call, 60) == "pong"
            assert await methods.call("gated.ping", {}) == "pong"
    finally:
        await host.stop()
        store.close()
