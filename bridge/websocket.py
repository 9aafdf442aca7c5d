"""One websocket client: auth, then id-matched calls and subscriptions.

A connection owns its tasks (one pump per subscription, one task per call in flight) and
cancels them when it closes. ``do_*`` handle what arrives, ``send_*`` what leaves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from bridge.bus import ReplayGap, Subscription, SubscriptionDropped
from bridge.errors import BridgeError, NotFound, ProtocolError, to_bridge_error
from bridge.protocol import (
    CallMsg,
    PingMsg,
    StreamCloseMsg,
    StreamInputMsg,
    StreamMsg,
    StreamResizeMsg,
    SubscribeMsg,
    UnsubscribeMsg,
    parse,
    parse_auth,
)
from bridge.roles import Caller
from bridge.streams import MAX_STREAMS, WRITE_HIGH_WATER, StreamRunner, StreamSource
from bridge.tasks import TaskOwner, within

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.events import Event
    from bridge.methods import MethodRegistry
    from bridge.server import Server

logger = logging.getLogger(__name__)

AUTH_TIMEOUT = 10.0
MAX_CALLS_IN_FLIGHT = 64
SEND_TIMEOUT = 5.0


@lru_cache(maxsize=4096)
def frame_header(n: int) -> bytes:
    """The header of an unmasked, unfragmented websocket text frame of n payload bytes."""
    if n < 126:
        return b"\x81" + bytes((n,))
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big")
    return b"\x81\x7f" + n.to_bytes(8, "big")


def text_frame(payload: bytes) -> bytes:
    """An unmasked, unfragmented websocket text frame (RFC 6455 5.2), as a server sends."""
    return frame_header(len(payload)) + payload


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=str, option=orjson.OPT_NON_STR_KEYS)


def loads(data: str | bytes) -> Any:
    """JSON from a client. orjson refuses nesting deeper than 1024 (a ValueError) where the
    standard library would hit Python's recursion limit."""
    return orjson.loads(data)


class Connection:
    def __init__(self, request: web.Request, ws: web.WebSocketResponse, bus: Bus,
                 methods: MethodRegistry, queue_size: int, fleet_bus: Bus | None = None
                 ) -> None:
        self.request = request
        self.ws = ws
        self.bus = bus
        self.fleet_bus = fleet_bus
        self.methods = methods
        self.queue_size = queue_size
        self._subs: dict[int, tuple[Subscription, asyncio.Task[None]]] = {}
        # Calls and subscription pumps: cancelled and awaited when the connection closes.
        self._calls = TaskOwner("ws/call")
        self._pumps = TaskOwner("ws/sub")
        self._streams: dict[int, StreamRunner] = {}
        self._opening = 0   # streams being opened (counted against MAX_STREAMS)
        self._closing: asyncio.Task[None] | None = None
        self.caller: Caller | None = None
        self._server: Server | None = None

    # -- auth phase
    async def authenticate(self, server: Server, version: str) -> bool:
        """The auth phase: a token, or (with ``"token": null``) the session cookie the
        websocket was opened with. Sets ``caller``."""
        try:
            msg = await self.ws.receive(timeout=AUTH_TIMEOUT)
        except TimeoutError:
            return await self._auth_invalid("no auth message in time")
        if msg.type != WSMsgType.TEXT:
            return False
        try:
            auth_msg = parse_auth(msg.data)
        except ProtocolError as exc:
            return await self._auth_invalid(exc.message)
        client = server.client(self.request)
        wait = server.auth.limiter.blocked(client)
        if wait:
            return await self._auth_invalid(f"too many failed attempts: try again in "
                                            f"{wait:.0f} s")
        if auth_msg.token is None:
            self.caller = (server.session_caller(self.request)
                           or server.peer_caller(self.request))
            if self.caller is None:
                return await self._auth_invalid("no session: log in again")
        else:
            cred = server.auth.check_token(auth_msg.token)
            if cred is None:
                server.auth.limiter.failed(client)
                return await self._auth_invalid("invalid token")
            self.caller = Caller(cred.name, cred.role, "token", client)
        server.auth.limiter.succeeded(client)
        self._server = server
        await self._send({"type": "auth_ok", "version": version, "name": self.caller.name,
                          "role": self.caller.role})
        return True

    async def _auth_invalid(self, message: str) -> bool:
        """Refuse the auth phase with ``message``; False, for ``authenticate``."""
        await self._send({"type": "auth_invalid", "message": message})
        return False

    def _session_live(self) -> bool:
        """A session's websocket lives as long as the session; each message keeps it from
        going idle."""
        if self.caller is None or self.caller.via != "session" or self._server is None:
            return True
        key = self.caller.session or ""
        if self._server.auth.check_session_key(key) is None:
            return False
        self._server.auth.sessions.touch(key)
        return True

    # -- the message loop
    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await self.do_message(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await self.send_error(None, ProtocolError("binary frames are not accepted"))
                elif msg.type == WSMsgType.ERROR:
                    logger.info("websocket error: %s", self.ws.exception())
                    break
        finally:
            await self.close()

    async def do_message(self, text: str) -> None:
        if not self._session_live():
            await self.end("session ended")
            return
        try:
            msg = parse(text)
        except ProtocolError as exc:
            await self.send_error(exc.msg_id, exc)
            return
        if isinstance(msg, SubscribeMsg):
            await self.do_subscribe(msg)
        elif isinstance(msg, UnsubscribeMsg):
            await self.do_unsubscribe(msg)
        elif isinstance(msg, CallMsg):
            self.do_call(msg)
        elif isinstance(msg, PingMsg):
            await self.send_result(msg.id, "pong")
        elif isinstance(msg, StreamCloseMsg | StreamInputMsg | StreamResizeMsg):
            self.do_stream_msg(msg)

    async def do_subscribe(self, msg: SubscribeMsg) -> None:
        if msg.id in self._subs:
            await self.send_error(msg.id, ProtocolError(f"id {msg.id} is already in use"))
            return
        bus = self.bus
        if msg.fleet:
            if self.fleet_bus is None:
                await self.send_error(msg.id, BridgeError(
                    "this bridge follows no fleet ([fleet] servers and watch = true)",
                    "not-supported"))
                return
            bus = self.fleet_bus
        elif msg.hosts is not None:
            await self.send_error(msg.id, ProtocolError(
                "hosts filters a fleet subscription: give \"fleet\": true too"))
            return
        gap = False
        try:
            sub = bus.subscribe(msg.topics, since=msg.since, maxsize=self.queue_size,
                                hosts=msg.hosts)
        except ReplayGap:
            gap = True
            sub = bus.subscribe(msg.topics, maxsize=self.queue_size, hosts=msg.hosts)
        sub.on_drop = lambda exc, sub_id=msg.id: self._dropped(sub_id, exc)
        # Ordering matters: the result (with the seq the subscription starts after) must
        # reach the client before any event of the subscription, and a `reset` before the
        # first event too. Both are sent here, before the pump that sends events exists.
        await self.send_result(msg.id, {"seq": sub.last_seq, "reset": gap})
        if gap:
            await self._send({"type": "reset", "sub": msg.id, "seq": sub.last_seq})
        pump = self._pumps.create(self._pump(msg.id, sub), str(msg.id))
        self._subs[msg.id] = (sub, pump)

    async def do_unsubscribe(self, msg: UnsubscribeMsg) -> None:
        entry = self._subs.pop(msg.sub, None)
        if entry is None:
            await self.send_error(msg.id, NotFound(f"no subscription {msg.sub}"))
            return
        sub, pump = entry
        sub.close()
        await self._pumps.cancel(pump)
        await self.send_result(msg.id, None)

    def do_call(self, msg: CallMsg) -> None:
        self._in_flight(msg.id, self._call(msg), msg.method)

    def _in_flight(self, msg_id: int, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` as a task of the connection, or refuse it past the bound."""
        if len(self._calls) >= MAX_CALLS_IN_FLIGHT:
            work.close()
            self._calls.create(self.send_error(msg_id, BridgeError(
                f"more than {MAX_CALLS_IN_FLIGHT} calls in flight", "failed")), "refused")
        else:
            self._calls.create(work, name)

    async def _call(self, msg: CallMsg) -> None:
        try:
            data = await self.methods.call(msg.method, msg.params, self.caller)
        except Exception as exc:
            await self.send_error(msg.id, to_bridge_error(exc, f"method {msg.method}"))
        else:
            if isinstance(data, StreamSource):
                await self._open_stream(msg.id, data)
            else:
                await self.send_result(msg.id, data)

    # -- streams (bridge/streams.py; docs/protocol.md, section 9)
    async def _open_stream(self, stream_id: int, source: StreamSource) -> None:
        if len(self._streams) + self._opening >= MAX_STREAMS or stream_id in self._streams:
            await source.aclose()
            await self.send_error(stream_id, BridgeError(
                f"too many open streams (at most {MAX_STREAMS}): close one first", "failed")
                if stream_id not in self._streams else
                ProtocolError(f"id {stream_id} is already an open stream"))
            return
        self._opening += 1
        try:
            await source.open()
        except BridgeError as exc:
            await source.aclose()
            await self.send_error(stream_id, exc)
            return
        except BaseException:
            await source.aclose()
            raise
        finally:
            self._opening -= 1
        runner = StreamRunner(stream_id, source, self._send, self._write_buffer)
        unwatch = self._watch_container(runner)

        def done() -> None:
            unwatch()
            if self._streams.get(stream_id) is runner:
                del self._streams[stream_id]

        runner.on_done = done
        self._streams[stream_id] = runner
        # The result goes out before the first frame: the sender starts after it.
        await self.send_result(stream_id, {"stream": stream_id, **source.head()})
        runner.start()

    def _watch_container(self, runner: StreamRunner) -> Callable[[], None]:
        """End the stream ``gone`` when the container it follows is removed."""
        if runner.source.container is None:
            return lambda: None
        cid, uid = runner.source.container

        def listener(event: Event, _raw: bytes) -> None:
            if event.data.get("id") == cid and event.data.get("uid") == uid:
                runner.stop("gone")

        return self.bus.listen(["container.remove"], listener)

    def _write_buffer(self) -> int:
        transport = self.request.transport
        return 0 if transport is None else transport.get_write_buffer_size()

    def do_stream_msg(self, msg: StreamMsg) -> None:
        # As a call: in a task of its own, so that a slow write to an exec's stdin never
        # holds up the connection's other messages.
        self._in_flight(msg.id, self._stream_msg(msg), msg.type)

    async def _stream_msg(self, msg: StreamMsg) -> None:
        runner = self._streams.get(msg.stream)
        if runner is None:
            await self.send_error(msg.id, BridgeError(f"no open stream {msg.stream}",
                                                      "not-found"))
            return
        try:
            if isinstance(msg, StreamCloseMsg):
                runner.stop("closed")
                await runner.wait()
            elif isinstance(msg, StreamInputMsg):
                await runner.source.write(msg.data.encode())
            else:
                await runner.source.resize(msg.rows, msg.cols)
        except BridgeError as exc:
            await self.send_error(msg.id, exc)
        else:
            await self.send_result(msg.id, None)

    async def _pump(self, sub_id: int, sub: Subscription) -> None:
        head = b'{"type":"event","sub":%d,"event":' % sub_id
        extra = len(head) + 1
        transport = self.request.transport
        try:
            while True:
                first = await sub.next()
                if first is None:
                    return
                batch = [first, *sub.drain()]
                if transport is None or transport.is_closing():
                    return
                # Event frames are the hot path: a burst goes out as one write of ready-made
                # text frames, instead of one send_frame() call (and its bookkeeping) per
                # event. This is safe beside aiohttp's own writer: compression is off, and
                # both write whole frames synchronously, so frames never interleave.
                # The parts of all frames are joined once: no bytes are copied per frame.
                parts: list[bytes] = []
                for _event, raw in batch:
                    parts += (frame_header(extra + len(raw)), head, raw, b"}")
                transport.write(b"".join(parts))
                # Backpressure: a peer that reads slowly fills the buffer; wait for it to
                # drain (the bus drops the subscription if its queue overflows meanwhile).
                while transport.get_write_buffer_size() > WRITE_HIGH_WATER:
                    await asyncio.sleep(0.005)
                    if transport.is_closing():
                        return
        except SubscriptionDropped:
            pass  # _dropped() handles it
        except (ConnectionError, RuntimeError):
            pass  # the peer went away; run() closes up

    def _dropped(self, sub_id: int, exc: SubscriptionDropped) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(
                self._close_dropped(sub_id, exc.resume_since), name="ws/drop")

    async def _close_dropped(self, sub_id: int, resume_since: int) -> None:
        entry = self._subs.pop(sub_id, None)
        if entry is not None:
            entry[1].cancel()
        await self._say_and_close({"type": "dropped", "sub": sub_id,
                                   "resume_since": resume_since}, 1013, b"too slow")

    async def _say_and_close(self, last: dict[str, Any], code: int, why: bytes) -> None:
        """Send ``last``, then close with ``code``; each step bounded by SEND_TIMEOUT."""
        try:
            await within(self._send(last), SEND_TIMEOUT)
            await within(self.ws.close(code=code, message=why), SEND_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            # A peer that does not read at all: let go of the connection without a handshake.
            if self.request.transport is not None:
                self.request.transport.abort()

    # -- outbound
    async def _send(self, obj: Any) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_frame(dumps(obj), WSMsgType.TEXT)
        except ConnectionResetError:
            # The peer went away while a call was running: nobody is left to answer, and
            # run() closes up. (Raised in a call's task, it would otherwise be lost.)
            logger.debug("websocket peer gone before an answer")

    async def send_result(self, msg_id: int, data: Any) -> None:
        await self._send({"id": msg_id, "type": "result", "ok": True, "data": data})

    async def send_error(self, msg_id: int | None, exc: BridgeError) -> None:
        if msg_id is None:
            await self._send({"type": "error", "error": exc.to_json()})
        else:
            await self._send({"id": msg_id, "type": "result", "ok": False,
                              "error": exc.to_json()})

    async def end(self, why: str) -> None:
        """Tell the client its session ended (logout, expiry, revocation), then close."""
        await self._say_and_close({"type": "auth_expired", "message": why}, 4001,
                                  why.encode()[:120])

    async def close(self) -> None:
        for sub, _pump in self._subs.values():
            sub.close()
        self._subs.clear()
        await self._pumps.close()
        await self._calls.close()
        # Every stream's reader and sender are cancelled and awaited, and its source
        # (Podman's response, an exec's socket, journalctl) let go of: nothing outlives
        # the connection.
        streams = list(self._streams.values())
        self._streams.clear()
        await asyncio.gather(*(s.cancel() for s in streams), return_exceptions=True)
        if not self.ws.closed:
            await self.ws.close()
        if self._closing is not None and self._closing is not asyncio.current_task():
            await asyncio.gather(self._closing, return_exceptions=True)
