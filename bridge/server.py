"""The aiohttp application: the panel's files, login, REST ``/api/<method>`` and ``/ws``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from bridge import __version__
from bridge.auth import COOKIE, Auth
from bridge.errors import BridgeError
from bridge.peer import is_unix, trusted_peer
from bridge.websocket import Connection, dumps

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.methods import MethodRegistry

logger = logging.getLogger(__name__)

HTTP_STATUS = {
    "protocol-error": 400, "invalid-params": 400, "not-found": 404, "unknown-method": 404,
    "access-denied": 403, "not-supported": 501, "conflict": 409, "timeout": 504,
    "failed": 502, "internal-error": 500,
}

PLACEHOLDER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>podbridge</title></head>
<body><h1>podbridge</h1><p>The bridge is running. The panel is not built yet:
run <code>make run</code> (or <code>npm run build</code> in <code>frontend/</code>).</p>
</body></html>
"""


class Server:
    def __init__(self, *, bus: Bus, methods: MethodRegistry, auth: Auth,
                 panel_dir: Path | None, allowed_origins: list[str], queue_size: int) -> None:
        self.bus = bus
        self.methods = methods
        self.auth = auth
        self.panel_dir = panel_dir
        self.allowed_origins = set(allowed_origins)
        self.queue_size = queue_size
        self.connections: set[Connection] = set()
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
        self.app.on_shutdown.append(self._on_shutdown)

    # -- auth helpers
    def _session_ok(self, request: web.Request) -> bool:
        return self.auth.check_session(request.cookies.get(COOKIE))

    def _bearer_ok(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return scheme.lower() == "bearer" and self.auth.check_token(token.strip())

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

    def _set_session(self, response: web.StreamResponse) -> None:
        response.set_cookie(COOKIE, self.auth.new_session(), httponly=True,
                            samesite="Strict", path="/")

    # -- handlers
    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("token")
        if token is not None:
            if not self.auth.check_token(token):
                raise web.HTTPUnauthorized(text="invalid token\n")
            # Trade the token in the URL for a cookie, and take it out of the address bar.
            response = web.HTTPFound("/")
            self._set_session(response)
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
        token: Any = None
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise web.HTTPBadRequest(text="body is not JSON\n") from None
            token = body.get("token") if isinstance(body, dict) else None
        else:
            token = (await request.post()).get("token")
        if not isinstance(token, str) or not self.auth.check_token(token):
            return web.json_response({"ok": False, "error": {
                "code": "access-denied", "message": "invalid token"}}, status=401)
        response = web.json_response({"ok": True})
        self._set_session(response)
        return response

    async def handle_logout(self, request: web.Request) -> web.Response:
        self.auth.end_session(request.cookies.get(COOKIE))
        response = web.json_response({"ok": True})
        response.del_cookie(COOKIE, path="/")
        return response

    async def handle_api(self, request: web.Request) -> web.Response:
        if not self._origin_ok(request):
            raise web.HTTPForbidden(text="foreign origin\n")
        # A cookie is enough only for same-origin requests that carry JSON (a form post from
        # another site cannot set that content type without a CORS preflight we never grant).
        cookie_ok = self._session_ok(request) and (
            request.method == "GET" or request.content_type == "application/json")
        if not (self._bearer_ok(request) or cookie_ok or trusted_peer(request)):
            return web.json_response({"ok": False, "error": {
                "code": "access-denied", "message": "missing or invalid token"}}, status=401)
        method = request.match_info["method"]
        params: Any
        if request.method == "POST" and request.can_read_body:
            try:
                params = json.loads(await request.read() or b"{}")
            except ValueError as exc:
                return self._api_error(BridgeError(f"body is not JSON: {exc}",
                                                   "protocol-error"))
        else:
            params = dict(request.query)
        try:
            data = await self.methods.call(method, params)
        except BridgeError as exc:
            return self._api_error(exc)
        except Exception as exc:
            logger.exception("method %s failed", method)
            return self._api_error(BridgeError(f"{type(exc).__name__}: {exc}",
                                               "internal-error"))
        return web.Response(body=dumps({"ok": True, "data": data}),
                            content_type="application/json")

    @staticmethod
    def _api_error(exc: BridgeError) -> web.Response:
        return web.Response(body=dumps({"ok": False, "error": exc.to_json()}),
                            status=HTTP_STATUS.get(exc.code, 500),
                            content_type="application/json")

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        if not self._origin_ok(request):
            logger.warning("refused a websocket from origin %s",
                           request.headers.get("Origin"))
            raise web.HTTPForbidden(text="foreign origin\n")
        ws = web.WebSocketResponse(compress=False, heartbeat=30, max_msg_size=1024 * 1024)
        await ws.prepare(request)
        conn = Connection(request, ws, self.bus, self.methods, self.queue_size)
        trusted = self._session_ok(request) or trusted_peer(request)
        if not await conn.authenticate(self.auth, trusted, __version__):
            await ws.close(code=4001, message=b"auth invalid")
            return ws
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)
        return ws

    async def _on_shutdown(self, _app: web.Application) -> None:
        for conn in list(self.connections):
            await conn.close()
