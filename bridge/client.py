"""An async Python client of the bridge's websocket protocol, for automation.

    async with BridgeClient("http://127.0.0.1:9180", token) as client:
        print(await client.call("state.get"))
        async for event in client.events(["container.*"]):
            print(event["type"], event["subject"])

``events()`` survives the bridge going away: it reconnects with backoff and resumes from
the last seq it delivered, so nothing is missed or doubled (a ``reset`` is surfaced as an
event of type ``client.reset`` when the bridge no longer has the missed events).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import ssl as ssl_module
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from bridge.backoff import Backoff
from bridge.client_stream import ClientStream
from bridge.errors import BridgeError
from bridge.tasks import TaskOwner, within

logger = logging.getLogger(__name__)


class AuthFailed(BridgeError):
    code = "access-denied"


def data_of(result: dict[str, Any], failed: str = "call failed") -> Any:
    """The data of a ``result`` frame; its error raised as a BridgeError."""
    if not result.get("ok"):
        err = result.get("error") or {}
        raise BridgeError(err.get("message", failed), err.get("code", "failed"))
    return result.get("data")


class BridgeClient:
    def __init__(self, url: str, token: str, *, timeout: float = 30.0,
                 ssl: ssl_module.SSLContext | None = None) -> None:
        """``url``: ``http(s)://HOST:PORT`` or ``unix:/PATH`` (a bridge listening on a
        unix socket). ``ssl``: how to check an ``https://`` bridge's certificate (default:
        the system's CAs)."""
        self.unix_path = url[len("unix:"):] if url.startswith("unix:") else None
        self.url = "http://localhost" if self.unix_path else url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ssl = ssl
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subs: dict[int, asyncio.Queue[dict[str, Any] | None]] = {}
        self._streams: dict[int, asyncio.Queue[dict[str, Any] | None]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks = TaskOwner("client")

    async def __aenter__(self) -> BridgeClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> None:
        if self._session is None:
            connector = aiohttp.UnixConnector(self.unix_path) if self.unix_path else None
            self._session = aiohttp.ClientSession(connector=connector)
        ws_url = self.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        self._ws = await self._session.ws_connect(ws_url + "/ws", timeout=aiohttp.ClientWSTimeout(
            ws_close=5), heartbeat=30, max_msg_size=0, ssl=self.ssl if self.ssl else True)
        await self._ws.send_json({"type": "auth", "token": self.token})
        reply = await self._ws.receive_json(timeout=self.timeout)
        if reply.get("type") != "auth_ok":
            await self._ws.close()
            raise AuthFailed(reply.get("message") or "authentication failed")
        self._reader = self._tasks.create(self._read(self._ws), "reader")

    async def close(self) -> None:
        await self._tasks.close()
        self._reader = None
        if self._ws is not None:
            await self._ws.close()
            self._ws = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                kind = frame.get("type")
                if kind == "result":
                    fut = self._pending.pop(frame.get("id"), None)
                    if fut is not None and not fut.done():
                        fut.set_result(frame)
                elif kind in ("event", "reset", "dropped"):
                    queue = self._subs.get(frame.get("sub"))
                    if queue is not None:
                        queue.put_nowait(frame)
                elif kind in ("data", "gap", "end"):
                    frames = self._streams.get(frame.get("stream"))
                    if frames is not None:
                        frames.put_nowait(frame)
                        if kind == "end":
                            del self._streams[frame["stream"]]
                elif kind == "error":
                    logger.warning("bridge reported: %s", frame.get("error"))
        finally:
            for fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("connection to the bridge lost"))
            self._pending.clear()
            for queue in self._subs.values():
                queue.put_nowait(None)
            for frames in self._streams.values():
                frames.put_nowait(None)
            self._streams.clear()

    async def request(self, msg: dict[str, Any], timeout: float | None = None,
                      msg_id: int | None = None) -> dict[str, Any]:
        """Send ``msg`` with an id (``msg_id``, else a new one) and wait for its result."""
        if self._ws is None or self._ws.closed:
            raise ConnectionError("not connected to the bridge")
        msg_id = next(self._ids) if msg_id is None else msg_id
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        await self._ws.send_json({**msg, "id": msg_id})
        frame: dict[str, Any] = await within(fut, timeout or self.timeout)
        return frame

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        return data_of(await self.request({"type": "call", "method": method,
                                           "params": params or {}}, timeout))

    async def stream(self, method: str, params: dict[str, Any] | None = None,
                     timeout: float | None = None) -> ClientStream:
        """Call a follow-style method and return its open stream (docs/protocol.md, 9)."""
        msg_id = next(self._ids)
        # The queue exists before the call goes out: frames may follow the result at once.
        frames: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._streams[msg_id] = frames
        try:
            data = data_of(await self.request({"type": "call", "method": method,
                                               "params": params or {}}, timeout, msg_id))
        except BaseException:
            self._streams.pop(msg_id, None)
            raise
        return ClientStream(msg_id, data or {}, frames, self.request)

    async def events(self, topics: list[str], since: int | None = None,
                     reconnect: bool = True) -> AsyncIterator[dict[str, Any]]:
        """Events matching ``topics``, resumed across reconnects from the last seq seen."""
        last = since
        backoff = Backoff(0.2, 5.0)
        while True:
            queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
            try:
                if self._ws is None or self._ws.closed:
                    await self.close()
                    await self.connect()
                msg_id = next(self._ids)
                self._subs[msg_id] = queue
                msg: dict[str, Any] = {"type": "subscribe", "topics": topics}
                if last is not None:
                    msg["since"] = last
                data = data_of(await self.request(msg, self.timeout, msg_id),
                               "subscribe failed")
                if last is None:
                    last = data["seq"]
                backoff.reset()
                while True:
                    frame = await queue.get()
                    if frame is None or frame["type"] == "dropped":
                        if frame is not None:
                            last = frame["resume_since"]
                        break
                    if frame["type"] == "reset":
                        last = frame.get("seq", last)
                        yield {"type": "client.reset", "seq": last, "subject": "",
                               "data": {}}
                        continue
                    event = frame["event"]
                    last = event["seq"]
                    yield event
            except (ConnectionError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                if not reconnect:
                    raise
                logger.info("bridge connection lost (%s); reconnecting", exc)
            finally:
                self._subs = {k: v for k, v in self._subs.items() if v is not queue}
            if not reconnect:
                return
            await self.close()
            await backoff.sleep()
