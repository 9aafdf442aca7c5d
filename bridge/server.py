"""The aiohttp application: the panel's files, login, REST ``/api/<method>`` and ``/ws``."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bridge import __version__
from bridge.auth import COOKIE, Auth
from bridge.errors import AccessDenied, BridgeError, ProtocolError, to_bridge_error
from bridge.peer import is_unix, peer_cred, trusted_peer
from bridge.roles import Caller
from bridge.streams import StreamSource
from bridge.tasks import TaskOwner
from bridge.websocket import Connection, dumps, loads

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.methods import MethodRegistry

logger = logging.getLogger(__name__)

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>podbridge</title></head>
<body><h1>podbridge</h1><p>The bridge is running. The panel is not built yet:
run <code>make run</code> (or <code>npm run build</code> in <code>frontend/</code>).</p>
</body></html>
"""


HSTS = "max-age=31536000"
# Websockets that have not authenticated yet (each waits up to AUTH_TIMEOUT): past these
# many from one address, or in all, new ones are refused at once, so that a flood cannot
# use up the open files nor keep other clients out.
MAX_UNAUTHENTICATED = 4000
MAX_UNAUTHENTICATED_PER_CLIENT = 256


def _denied(message: str, status: int = 401) -> web.Response:
    return web.json_response({"ok": False, "error": {"code": "access-denied",
                                                     "message": message}}, status=status)


class Server:
    def __init__(self, *, bus: Bus, methods: MethodRegistry, auth: Auth,
                 panel_dir: Path | None, allowed_origins: list[str], queue_size: int,
                 tls: bool = False, fleet_bus: Bus | None = None) -> None:
        self.bus = bus
        self.fleet_bus = fleet_bus  # every host's events (docs/fleet.md), when watched
        self.methods = methods
        self.auth = auth
        self.panel_dir = panel_dir
        self.allowed_origins = set(allowed_origins)
        self.queue_size = queue_size
        self.tls = tls
        self.connections: set[Connection] = set()
        self.unauthenticated = 0
        self._unauthenticated_by: Counter[str] = Counter()
        self._tasks = TaskOwner("server")
        self.app = web.Application(client_max_size=1024 * 1024)
        self.app.add_routes([
            web.get("/ws", self.handle_ws),
            web.post("/login", self.handle_login),
            web.post("/logout", self.handle_logout),
            web.get("/api/{method}", self.handle_api),
            web.post("/api/{method}", self.handle_api),
            web.get("/", self.handle_index),
        ])
        if panel_dir is not None and (panel_dir / "assets").is_dir():
            self.app.router.add_static("/assets", panel_dir / "assets")
        self.app.router.add_get("/{name}", self.handle_file)
        self.app.on_startup.append(self._on_startup)
        self.app.on_shutdown.append(self._on_shutdown)
        self.app.on_response_prepare.append(self._on_response_prepare)

    # -- auth helpers
    @staticmethod
    def client(request: web.Request) -> str:
        return request.remote or "unknown"

    def session_caller(self, request: web.Request) -> Caller | None:
        sid = request.cookies.get(COOKIE)
        s = self.auth.check_session(sid)
        if s is None:
            return None
        return Caller(s.name, s.role, "session", self.client(request), s.key)

    def peer_caller(self, request: web.Request) -> Caller | None:
        """A unix-socket peer running as root or as the bridge's own user (Cockpit's
        channel, bridge/peer.py): it could read the admin token file anyway."""
        if not trusted_peer(request):
            return None
        cred = peer_cred(request)
        return Caller(f"uid {cred.uid}" if cred else "peer", "admin", "peer",
                      self.client(request))

    def _bearer(self, request: web.Request) -> tuple[bool, Caller | None]:
        """Whether a Bearer token was given, and the caller it proves."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer":
            return False, None
        cred = self.auth.check_token(token.strip())
        if cred is None:
            return True, None
        return True, Caller(cred.name, cred.role, "token", self.client(request))

    def _origin_ok(self, request: web.Request) -> bool:
        """Browsers send Origin: it must be this host (or one configured). Clients that are
        not browsers send none, and prove themselves with the token instead."""
        origin = request.headers.get("Origin")
        if origin is None or is_unix(request):
            # No browser reaches a unix socket but through Cockpit's channel, which sends
            # an Origin of its own making (http:///run/...): bridge/peer.py decides there.
            return True
        if origin in self.allowed_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == request.host

    def _set_session(self, response: web.StreamResponse, sid: str) -> None:
        response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/",
                            secure=self.tls or None)

    def _rate_limited(self, request: web.Request) -> web.Response | None:
        wait = self.auth.limiter.blocked(self.client(request))
        if not wait:
            return None
        response = web.json_response({"ok": False, "error": {
            "code": "access-denied",
            "message": f"too many failed attempts: try again in {wait:.0f} s"}}, status=429)
        response.headers["Retry-After"] = str(max(1, round(wait)))
        return response

    # -- handlers
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None:
            limited = self._rate_limited(request)
            if limited is not None:
                return limited
            cred = self.auth.check_token(token)
            if cred is None:
                self.auth.limiter.failed(self.client(request))
                raise web.HTTPUnauthorized(text="invalid token\n")
            self.auth.limiter.succeeded(self.client(request))
            # Trade the token in the URL for a cookie, and take it out of the address bar.
            response = web.HTTPFound("/")
            self._set_session(response, self.auth.new_session(cred))
            raise response
        return self._file("index.html")

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        return self._file(request.match_info["name"])

    def _file(self, name: str) -> web.StreamResponse:
        if self.panel_dir is None or not (self.panel_dir / "index.html").is_file():
            if name == "index.html":
                return web.Response(text=PLACEHOLDER, content_type="text/html")
            raise web.HTTPNotFound()
        path = (self.panel_dir / name).resolve()
        if self.panel_dir.resolve() not in path.parents or not path.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

    async def handle_login(self, request: web.Request) -> web.Response:
        if not self._origin_ok(request):
            raise web.HTTPForbidden(text="foreign origin\n")
        limited = self._rate_limited(request)
        if limited is not None:
            return limited
        token: Any = None
        if request.content_type == "application/json":
            try:
                body = loads(await request.read())
            except ValueError:
                raise web.HTTPBadRequest(text="body is not JSON\n") from None
            token = body.get("token") if isinstance(body, dict) else None
        else:
            token = (await request.post()).get("token")
        cred = self.auth.check_token(token) if isinstance(token, str) else None
        if cred is None:
            self.auth.limiter.failed(self.client(request))
            return _denied("invalid token")
        self.auth.limiter.succeeded(self.client(request))
        response = web.json_response({"ok": True, "name": cred.name, "role": cred.role})
        self._set_session(response, self.auth.new_session(cred))
        return response

    async def handle_logout(self, request: web.Request) -> web.Response:
        if not self._origin_ok(request):
            raise web.HTTPForbidden(text="foreign origin\n")
        key = self.auth.end_session(request.cookies.get(COOKIE))
        if key is not None:
            await self.close_sessions({key}, "logged out")
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def handle_api(self, request: web.Request) -> web.Response:
        if not self._origin_ok(request):
            raise web.HTTPForbidden(text="foreign origin\n")
        limited = self._rate_limited(request)
        if limited is not None:
            return limited
        given, caller = self._bearer(request)
        if given and caller is None:
            self.auth.limiter.failed(self.client(request))
            return _denied("invalid token")
        if caller is None:
            caller = self.session_caller(request) or self.peer_caller(request)
        if caller is None:
            return _denied("missing or invalid token")
        name = request.match_info["method"]
        try:
            method = self.methods.get(name)
        except BridgeError as exc:
            return self._api_error(exc)
        if not method.readonly:
            # A change is never a GET (an <img> or a link on any page could send one), and a
            # POST that only has a cookie must carry JSON: a form on another site cannot
            # send that content type without a CORS preflight, which is never granted.
            if request.method != "POST":
                return self._api_error(AccessDenied(
                    f"{name} changes things: send it as a POST"),
                    {"Allow": "POST"}, status=405)
            if caller.via == "session" and request.content_type != "application/json":
                return _denied(f"{name} with a session cookie needs a JSON body "
                               "(Content-Type: application/json)", 403)
        params: Any
        if request.method == "POST" and request.can_read_body:
            try:
                params = loads(await request.read() or b"{}")
            except ValueError as exc:
                return self._api_error(ProtocolError(f"body is not JSON: {exc}"))
        else:
            params = dict(request.query)
        try:
            data = await self.methods.call(name, params, caller)
        except Exception as exc:
            return self._api_error(to_bridge_error(exc, f"method {name}"))
        if isinstance(data, StreamSource):
            # Nothing of it was opened: a stream needs the websocket (docs/protocol.md).
            await data.aclose()
            return self._api_error(BridgeError(
                f"{name} with these params opens a stream, which needs the websocket "
                "(/ws); without follow/progress it answers over REST", "not-supported"))
        return web.Response(body=dumps({"ok": True, "data": data}),
                            content_type="application/json")

    @staticmethod
    def _api_error(exc: BridgeError, headers: dict[str, str] | None = None,
                   status: int | None = None) -> web.Response:
        return web.Response(body=dumps({"ok": False, "error": exc.to_json()}),
                            status=status or exc.status,
                            content_type="application/json", headers=headers)

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            logger.warning("refused a websocket from origin %s",
                           request.headers.get("Origin"))
            raise web.HTTPForbidden(text="foreign origin\n")
        client = self.client(request)
        if (self.unauthenticated >= MAX_UNAUTHENTICATED
                or self._unauthenticated_by[client] >= MAX_UNAUTHENTICATED_PER_CLIENT):
            raise web.HTTPServiceUnavailable(text="too many connections waiting to "
                                             "authenticate\n", headers={"Retry-After": "10"})
        ws = web.WebSocketResponse(compress=False, heartbeat=30, max_msg_size=1024 * 1024)
        self.unauthenticated += 1
        self._unauthenticated_by[client] += 1
        try:
            await ws.prepare(request)
            conn = Connection(request, ws, self.bus, self.methods, self.queue_size,
                              fleet_bus=self.fleet_bus)
            authenticated = await conn.authenticate(self, __version__)
        finally:
            self.unauthenticated -= 1
            self._unauthenticated_by[client] -= 1
            if self._unauthenticated_by[client] <= 0:
                del self._unauthenticated_by[client]
        if not authenticated:
            await ws.close(code=4001, message=b"auth invalid")
            return ws
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
        return ws

    async def close_sessions(self, keys: set[str], why: str) -> None:
        """Close the websockets of these sessions (logout, expiry, revocation)."""
        doomed = [c for c in self.connections
                  if c.caller is not None and c.caller.session in keys]
        await self._close_all(doomed, why)

    async def _close_all(self, conns: list[Connection], why: str) -> None:
        for conn in conns:
            logger.info("closing the websocket of %s: %s", conn.caller and conn.caller.name,
                        why)
            await conn.end(why)

    def sweep_interval(self) -> float:
        s = self.auth.sessions
        # Revocation is seen here too (tokens.json changed): every 2 s at most.
        return max(0.2, min(2.0, s.idle / 4, s.absolute / 4))

    async def sweep(self) -> None:
        """End expired sessions and those of revoked credentials, and close their
        websockets; close token websockets whose credential was revoked."""
        keys = set(self.auth.sessions.expire()) | set(self.auth.revoked_sessions())
        doomed = []
        for c in self.connections:
            if c.caller is None or c.caller.via == "peer":
                continue  # the kernel vouched for the peer's uid; no credential to revoke
            if c.caller.via == "session":
                if c.caller.session in keys or not self.auth.sessions.is_live(
                        c.caller.session or ""):
                    doomed.append(c)
            elif self.auth.credentials.current(c.caller.name) is None:
                doomed.append(c)
        await self._close_all(doomed, "session ended or credential revoked")

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_interval())
            try:
                await self.sweep()
            except Exception:
                logger.exception("session sweep failed")

    async def _on_startup(self, _app: web.Application) -> None:
        self._tasks.create(self._sweep_forever(), "sessions")

    async def _on_response_prepare(self, _request: web.Request,
                                   response: web.StreamResponse) -> None:
        if self.tls:
            response.headers["Strict-Transport-Security"] = HSTS

    async def _on_shutdown(self, _app: web.Application) -> None:
        await self._tasks.close()
        for conn in list(self.connections):
            await conn.close()
