"""Trust on a real aiohttp server over loopback: roles over websocket and REST, no change
from a cross-site GET or form POST, sessions that expire, end on logout in every tab and on
revocation, login rate limits, TLS, and an audit trail that holds every change."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import BaseModel, ConfigDict
from yarl import URL

from bridge.audit import AuditLog
from bridge.auth import Auth
from bridge.bus import Bus
from bridge.methods import MethodRegistry
from bridge.roles import Caller
from bridge.server import Server
from bridge.store import Store
from bridge.tasks import within
from bridge.tls import TLSConfigError, choose, self_signed
from tests.helpers import serving

TOKEN = "first-admin-token-xyz"


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "web"
    secret: str | None = None


class Env:
    def __init__(self, url: str, auth: Auth, audit: AuditLog, server: Server,
                 done: list[tuple[str, str]], tokens: dict[str, str]) -> None:
        self.url = url
        self.auth = auth
        self.audit = audit
        self.server = server
        self.done = done  # (method, name) of every change that ran
        self.tokens = tokens  # role -> token


def build(tmp: Path, **auth_kw: Any) -> tuple[MethodRegistry, Auth, AuditLog, Store, Bus,
                                              list[tuple[str, str]]]:
    store = Store(tmp / "db.sqlite")
    bus = Bus(ring_size=100, queue_size=100)
    auth = Auth(TOKEN, tokens_file=tmp / "tokens.json", store=store, **auth_kw)
    audit = AuditLog(store, bus)
    methods = MethodRegistry()
    methods.audit = audit.record
    done: list[tuple[str, str]] = []

    async def read(p: Target) -> str:
        return f"state of {p.name}"

    def changer(kind: str) -> Any:
        async def change(p: Target) -> str:
            done.append((kind, p.name))
            return f"{kind} {p.name}"
        return change

    methods.register("demo.read", read, Target, role="viewer", readonly=True)
    methods.register("demo.stop", changer("demo.stop"), Target, role="operator")
    methods.register("demo.install", changer("demo.install"), Target, role="admin")
    return methods, auth, audit, store, bus, done


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    methods, auth, audit, store, bus, done = build(tmp_path, idle_timeout=600,
                                                   login_attempts=5)
    tokens = {"admin": TOKEN,
              "operator": auth.credentials.add("olga", "operator"),
              "viewer": auth.credentials.add("vic", "viewer")}
    server = Server(bus=bus, methods=methods, auth=auth, panel_dir=None,
                    allowed_origins=[], queue_size=100)
    try:
        async with serving(server.app) as port:
            yield Env(f"http://127.0.0.1:{port}", auth, audit, server, done, tokens)
    finally:
        store.close()


def jar_session() -> aiohttp.ClientSession:
    # Keeps cookies of an IP-address host, as a browser does.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(s: aiohttp.ClientSession, env: Env, token: str) -> None:
    async with s.post(env.url + "/login", json={"token": token},
                      headers={"Origin": env.url}) as r:
        assert r.status == 200, await r.text()


async def ws_open(s: aiohttp.ClientSession, env: Env, token: str | None
                  ) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await s.ws_connect(env.url + "/ws", headers={"Origin": env.url})
    await ws.send_json({"type": "auth", "token": token})
    return ws, await ws.receive_json(timeout=5)


async def ws_call(ws: aiohttp.ClientWebSocketResponse, method: str,
                  params: dict[str, Any] | None = None, msg_id: int = 1) -> dict[str, Any]:
    await ws.send_json({"id": msg_id, "type": "call", "method": method,
                        "params": params or {}})
    while True:
        msg = await ws.receive_json(timeout=5)
        if msg.get("id") == msg_id:
            return msg


async def test_cross_site_get_and_form_post_with_a_cookie_change_nothing(env: Env) -> None:
    async with jar_session() as s:
        await login(s, env, TOKEN)
        # What an <img src> on another page sends: a GET with the cookie, no Origin.
        async with s.get(env.url + "/api/demo.stop?name=web") as r:
            assert r.status == 405 and r.headers["Allow"] == "POST"
            body = await r.json()
            assert body["error"]["code"] == "access-denied"
            assert "POST" in body["error"]["message"]
        # What a <form method=post> on another page sends (no Origin in old browsers).
        async with s.post(env.url + "/api/demo.stop", data={"name": "web"}) as r:
            assert r.status == 403
        async with s.post(env.url + "/api/demo.install", data=b'{"name": "web"}',
                          headers={"Content-Type": "text/plain"}) as r:
            assert r.status == 403
        # A modern browser's cross-site fetch carries its Origin.
        async with s.post(env.url + "/api/demo.stop", json={"name": "web"},
                          headers={"Origin": "http://evil.example"}) as r:
            assert r.status == 403
        assert env.done == [], "nothing ran"
        # The panel's own same-origin JSON POST works, and reads work over GET.
        async with s.post(env.url + "/api/demo.stop", json={"name": "web"},
                          headers={"Origin": env.url}) as r:
            assert r.status == 200 and (await r.json())["data"] == "demo.stop web"
        async with s.get(env.url + "/api/demo.read?name=db") as r:
            assert (await r.json())["data"] == "state of db"
    assert env.done == [("demo.stop", "web")]
    # A Bearer token may POST a change without a JSON content type (not a browser).
    async with aiohttp.ClientSession() as s:
        async with s.post(env.url + "/api/demo.stop",
                          headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200
        async with s.get(env.url + "/api/demo.stop",
                         headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 405


ALLOWED = {
    "viewer": {"demo.read"},
    "operator": {"demo.read", "demo.stop"},
    "admin": {"demo.read", "demo.stop", "demo.install"},
}
NEEDS = {"demo.read": "viewer", "demo.stop": "operator", "demo.install": "admin"}


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
async def test_each_role_over_websocket_and_rest(env: Env, role: str) -> None:
    token = env.tokens[role]
    async with aiohttp.ClientSession() as s:
        ws, hello = await ws_open(s, env, token)
        assert hello["type"] == "auth_ok" and hello["role"] == role
        for i, method in enumerate(NEEDS, 1):
            reply = await ws_call(ws, method, {"name": f"ws-{role}"}, i)
            if method in ALLOWED[role]:
                assert reply["ok"], reply
            else:
                assert reply["error"]["code"] == "access-denied"
                assert repr(NEEDS[method]) in reply["error"]["message"]
        await ws.close()
        for method in NEEDS:
            async with s.post(env.url + f"/api/{method}", json={"name": f"rest-{role}"},
                              headers={"Authorization": f"Bearer {token}"}) as r:
                body = await r.json()
                if method in ALLOWED[role]:
                    assert r.status == 200 and body["ok"], body
                else:
                    assert r.status == 403 and body["error"]["code"] == "access-denied"
                    assert repr(NEEDS[method]) in body["error"]["message"]
    changes = sorted(ALLOWED[role] - {"demo.read"})
    assert sorted(env.done) == sorted([(m, f"ws-{role}") for m in changes]
                                      + [(m, f"rest-{role}") for m in changes])


async def test_the_audit_trail_holds_every_change(env: Env) -> None:
    async with aiohttp.ClientSession() as s:
        ws, _ = await ws_open(s, env, env.tokens["operator"])
        await ws_call(ws, "demo.stop", {"name": "a", "secret": "hunter2"}, 1)
        await ws_call(ws, "demo.install", {"name": "b"}, 2)  # refused: recorded too
        await ws_call(ws, "demo.read", {"name": "c"}, 3)  # a read: not recorded
        await ws.close()
        async with s.post(env.url + "/api/demo.install", json={"name": "d"},
                          headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 200
    records = env.audit.list()
    assert [(r["method"], r["who"], r["role"], r["ok"]) for r in reversed(records)] == [
        ("demo.stop", "olga", "operator", True),
        ("demo.install", "olga", "operator", False),
        ("demo.install", "admin", "admin", True),
    ]
    first = records[-1]
    assert first["params"] == {"name": "a", "secret": "***"}, "secrets are masked"
    assert first["remote"] == "127.0.0.1" and first["via"] == "token"
    assert first["result"] == {"data": "demo.stop a"} and first["duration"] >= 0
    assert records[1]["result"]["error"]["code"] == "access-denied"
    # Every change that ran is in the trail.
    ran = {(m, n) for m, n in env.done}
    audited = {(r["method"], r["params"]["name"]) for r in records if r["ok"]}
    assert ran == audited


async def test_audit_is_kept_by_count(tmp_path: Path) -> None:
    methods, _auth, audit, store, _bus, _done = build(tmp_path)
    audit.max_entries = 5

    for i in range(12):
        await methods.call("demo.stop", {"name": f"c{i}"}, Caller("admin", "admin"))
    audit.prune()
    assert [r["params"]["name"] for r in audit.list()] == [f"c{i}" for i in range(11, 6, -1)]
    store.close()


async def test_logout_ends_the_session_in_every_tab(env: Env) -> None:
    async with jar_session() as s:
        await login(s, env, TOKEN)
        tab1, hello = await ws_open(s, env, None)
        assert hello["type"] == "auth_ok"
        tab2, _ = await ws_open(s, env, None)
        async with s.post(env.url + "/logout", headers={"Origin": env.url}) as r:
            assert r.status == 200
        for tab in (tab1, tab2):
            msg = await tab.receive_json(timeout=5)
            assert msg["type"] == "auth_expired"
            assert (await tab.receive(timeout=5)).type in (aiohttp.WSMsgType.CLOSE,
                                                          aiohttp.WSMsgType.CLOSED)
        # The old cookie is worth nothing now, even replayed.
    async with jar_session() as s:
        await login(s, env, TOKEN)
        cookie = s.cookie_jar.filter_cookies(URL(env.url))["podbridge_session"].value
        async with s.post(env.url + "/logout", headers={"Origin": env.url}) as r:
            assert r.status == 200
    async with aiohttp.ClientSession(cookies={"podbridge_session": cookie}) as s:
        async with s.get(env.url + "/api/demo.read") as r:
            assert r.status == 401


async def test_expired_session_is_refused(tmp_path: Path) -> None:
    methods, auth, _audit, store, bus, done = build(tmp_path, idle_timeout=0.6,
                                                    absolute_timeout=3600)
    now = [1000.0]
    auth.sessions.clock = lambda: now[0]
    server = Server(bus=bus, methods=methods, auth=auth, panel_dir=None,
                    allowed_origins=[], queue_size=10)
    try:
        async with serving(server.app) as port:
            url = f"http://127.0.0.1:{port}"
            env = Env(url, auth, _audit, server, done, {})
            async with jar_session() as s:
                await login(s, env, TOKEN)
                ws, hello = await ws_open(s, env, None)
                assert hello["type"] == "auth_ok"
                now[0] += 0.5  # active within the idle limit: still fine
                async with s.get(url + "/api/demo.read") as r:
                    assert r.status == 200
                now[0] += 0.5
                assert (await ws_call(ws, "demo.read", {}, 1))["ok"]
                now[0] += 5  # idle past the limit
                async with s.get(url + "/api/demo.read") as r:
                    assert r.status == 401
                # The sweeper closes the websocket of the expired session by itself.
                msg = await ws.receive_json(timeout=10)
                assert msg["type"] == "auth_expired"
                ws2, hello = await ws_open(s, env, None)
                assert hello["type"] == "auth_invalid"
                await ws2.close()
            # The absolute limit ends even a busy session.
            auth.sessions.absolute = 2.0
            async with jar_session() as s:
                await login(s, env, TOKEN)
                for _ in range(5):
                    now[0] += 0.5
                    async with s.get(url + "/api/demo.read") as r:
                        last = r.status
                assert last == 401
    finally:
        store.close()


async def test_revoking_a_token_ends_its_sessions_and_connections(env: Env) -> None:
    async with jar_session() as s:
        await login(s, env, env.tokens["operator"])
        tab, hello = await ws_open(s, env, None)
        assert hello["role"] == "operator"
        async with aiohttp.ClientSession() as t:
            token_ws, _ = await ws_open(t, env, env.tokens["operator"])
            env.auth.credentials.revoke("olga")  # what `podbridge token revoke` writes
            for ws in (tab, token_ws):
                assert (await ws.receive_json(timeout=10))["type"] == "auth_expired"
            async with s.get(env.url + "/api/demo.read") as r:
                assert r.status == 401
            ws, hello = await ws_open(t, env, env.tokens["operator"])
            assert hello["type"] == "auth_invalid"
            await ws.close()


async def test_failed_logins_are_rate_limited_per_client(env: Env) -> None:
    async with aiohttp.ClientSession() as s:
        for _ in range(5):
            async with s.post(env.url + "/login", json={"token": "guess"}) as r:
                assert r.status == 401
        async with s.post(env.url + "/login", json={"token": TOKEN}) as r:
            assert r.status == 429 and int(r.headers["Retry-After"]) >= 1
        ws, hello = await ws_open(s, env, TOKEN)
        assert hello["type"] == "auth_invalid" and "too many" in hello["message"]
        await ws.close()
    env.auth.limiter.window = 0.0  # time passes
    async with aiohttp.ClientSession() as s:
        async with s.post(env.url + "/login", json={"token": TOKEN}) as r:
            assert r.status == 200


async def test_deeply_nested_json_is_a_clear_error_without_a_traceback(
        env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with aiohttp.ClientSession() as s:
        ws, _ = await ws_open(s, env, TOKEN)
        await ws.send_str("[" * 5000 + "]" * 5000)
        reply = await ws.receive_json(timeout=5)
        assert reply["type"] == "error" and reply["error"]["code"] == "protocol-error"
        await ws.send_str('{"id": 1, "type": "call", "method": "demo.read", "params": '
                          + '{"a":' * 3000 + "1" + "}" * 3000 + "}")
        reply = await ws.receive_json(timeout=5)
        assert reply["error"]["code"] == "protocol-error"
        assert (await ws_call(ws, "demo.read", {}, 2))["ok"]
        await ws.close()
        async with s.post(env.url + "/api/demo.read", data=b"[" * 5000,
                          headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            assert r.status == 400
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_plain_http_off_loopback_is_refused(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "192.0.2.7", "::", "example.org"):
        with pytest.raises(TLSConfigError, match="without TLS"):
            choose(host, cert=None, key=None, self_signed_tls=False,
                   insecure_plain_http=False, state_dir=tmp_path)
        assert choose(host, cert=None, key=None, self_signed_tls=False,
                      insecure_plain_http=True, state_dir=tmp_path) is None
    for host in ("127.0.0.1", "::1", "localhost"):
        assert choose(host, cert=None, key=None, self_signed_tls=False,
                      insecure_plain_http=False, state_dir=tmp_path) is None
    with pytest.raises(TLSConfigError, match="together"):
        choose("0.0.0.0", cert=tmp_path / "c", key=None, self_signed_tls=False,
               insecure_plain_http=False, state_dir=tmp_path)


async def test_tls_with_a_self_signed_certificate(tmp_path: Path) -> None:
    methods, auth, _audit, store, bus, _done = build(tmp_path)
    ctx = choose("0.0.0.0", cert=None, key=None, self_signed_tls=True,
                 insecure_plain_http=False, state_dir=tmp_path / "state")
    assert ctx is not None
    cert, key = self_signed(tmp_path / "state")
    assert (key.stat().st_mode & 0o777) == 0o600
    server = Server(bus=bus, methods=methods, auth=auth, panel_dir=None,
                    allowed_origins=[], queue_size=10, tls=True)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    try:
        async with serving(server.app, ctx) as port, aiohttp.ClientSession(
                cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.post(f"https://127.0.0.1:{port}/login", json={"token": TOKEN},
                              ssl=client_ctx) as r:
                assert r.status == 200
                assert r.headers["Strict-Transport-Security"].startswith("max-age=")
                cookie = r.headers["Set-Cookie"]
                assert "Secure" in cookie and "HttpOnly" in cookie
            # Plain HTTP to the TLS port gets nowhere.
            with pytest.raises(aiohttp.ClientError):
                async with s.get(f"http://127.0.0.1:{port}/api/demo.read"):
                    pass
        # The certificate is made once and kept.
        assert self_signed(tmp_path / "state") == (cert, key)
    finally:
        store.close()


async def test_cli_refuses_plain_http_off_loopback(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        ".venv/bin/podbridge", "serve", "--listen", "0.0.0.0:0", "--state-dir",
        str(tmp_path / "st"), "--url", "unix:///nonexistent.sock",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await within(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    assert b"refusing to listen on 0.0.0.0 without TLS" in err


async def test_audit_is_kept_by_age(tmp_path: Path) -> None:
    methods, _auth, audit, store, _bus, _done = build(tmp_path)
    audit.max_age = 30 * 86_400
    await methods.call("demo.stop", {"name": "old"}, Caller("admin", "admin"))
    await methods.call("demo.stop", {"name": "new"}, Caller("admin", "admin"))
    old_id = audit.list()[-1]["id"]
    store.execute("UPDATE audit SET time = time - 31 * 86400 WHERE id = ?", (old_id,))
    audit.prune()
    assert [r["params"]["name"] for r in audit.list()] == ["new"]
    store.close()


async def test_unauthenticated_websockets_are_capped_per_address(
        env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    import bridge.server

    monkeypatch.setattr(bridge.server, "MAX_UNAUTHENTICATED_PER_CLIENT", 3)
    port = int(env.url.rsplit(":", 1)[1])
    waiting = []
    async with aiohttp.ClientSession() as s:
        for _ in range(3):
            waiting.append(await s.ws_connect(env.url + "/ws"))
        with pytest.raises(aiohttp.WSServerHandshakeError) as info:
            await s.ws_connect(env.url + "/ws")
        assert info.value.status == 503
    # Another address still gets in, and is served.
    conn = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=conn) as s:
        ws = await s.ws_connect(f"http://127.0.0.1:{port}/ws")
        await ws.send_json({"type": "auth", "token": TOKEN})
        assert (await ws.receive_json(timeout=5))["type"] == "auth_ok"
        await ws.close()
    for ws in waiting:  # one authenticates: room for another from this address
        await ws.close()
    async with aiohttp.ClientSession() as s:
        ws, hello = await ws_open(s, env, TOKEN)
        assert hello["type"] == "auth_ok"
        await ws.close()
