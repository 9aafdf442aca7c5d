"""Podman's event stream, read on a thread of its own.

Why a thread: with the file events logger Podman rotates its log at about 1 MB (keeping
the newer half) and a streaming reader that lags behind the cut loses what was cut --
Podman itself drops them. A reader on the event loop lags whenever the loop is busy
(a hundred websocket clients, a plugin's burst, a starved CPU): the socket fills, Podman's
writer waits, and the rotation overtakes it. Here a thread drains the socket into memory
as fast as Podman writes, whatever the loop is doing; the loop parses and publishes at its
own pace. ``pending`` (lines read, not yet handled) is the loop's lag.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import logging
import os
import socket
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlencode

from bridge.errors import BridgeError
from bridge.podman import API, _raise_for

logger = logging.getLogger(__name__)

# What is kept in memory when the loop cannot keep up, before lines are dropped (and a
# gap is reported): about 0.5 GB of events at Podman's ~250 bytes a line.
MAX_PENDING = 2_000_000
CHUNK = 1 << 16


class StreamError(BridgeError):
    pass


class UnixConnection(http.client.HTTPConnection):
    """An HTTP connection to a unix socket (blocking: for threads and the sandbox)."""

    def __init__(self, path: str | os.PathLike[str], timeout: float) -> None:
        super().__init__("d", timeout=timeout)
        self._path = os.fspath(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            # Not yet ours to close through ``close()``: closed here, or it would live on
            # in the traceback until the garbage collector found it.
            sock.close()
            raise
        self.sock = sock


class EventReader:
    """One ``/libpod/events?stream=true`` request. ``await open()`` returns once Podman
    has answered; iterate for the raw lines (bytes); ``close()`` ends it."""

    def __init__(self, socket_path: str, since: str | None = None,
                 connect_timeout: float = 5.0) -> None:
        self.socket_path = socket_path
        self.since = since
        self.connect_timeout = connect_timeout
        self.lines: deque[bytes] = deque()
        self.dropped = 0                  # lines lost because the loop was too far behind
        self._conn: UnixConnection | None = None
        self._resp: http.client.HTTPResponse | None = None
        self._thread: threading.Thread | None = None
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ended = False
        self._error: BaseException | None = None
        self._closing = False

    @property
    def pending(self) -> int:
        return len(self.lines)

    async def open(self) -> None:
        """Ask Podman for the stream; return once it answered. Cancelled meanwhile, the
        request ends on its thread and ``close()`` (which the caller owes) waits for it."""
        loop = self._loop = asyncio.get_running_loop()
        answered: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(target=self._run, args=(answered,),
                                        name="podman-events", daemon=True)
        self._thread.start()
        await answered

    def _run(self, answered: asyncio.Future[None]) -> None:
        """The thread: the request, then the pump."""
        error: BaseException | None = None
        try:
            self._request()
        except BaseException as exc:
            error = exc
        if error is None and self._closing:
            error = StreamError("podman events: closed")
        self._settle(answered, error)
        if error is None:
            self._pump()
        else:
            self._ended = True
            self._close_conn()

    def _settle(self, answered: asyncio.Future[None], error: BaseException | None) -> None:
        def settle() -> None:
            if answered.done():           # open() was cancelled
                return
            if error is None:
                answered.set_result(None)
            else:
                answered.set_exception(error)

        self._call_soon(settle)

    def _request(self) -> None:
        params = {"stream": "true"}
        if self.since is not None:
            params["since"] = self.since
        conn = self._conn = UnixConnection(self.socket_path, self.connect_timeout)
        try:
            conn.request("GET", f"{API}/events?{urlencode(params)}")
            resp = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise StreamError(f"podman events: {exc}") from None
        if resp.status >= 400:
            _raise_for(resp.status, resp.read().decode(errors="replace"), "podman events")
        # Podman answered: from here on a read waits for as long as the stream lives.
        if conn.sock is not None:
            conn.sock.settimeout(None)
        self._resp = resp

    def _close_conn(self) -> None:
        conn = self._conn
        if conn is not None:
            conn.close()

    def _pump(self) -> None:
        assert self._resp is not None
        rest = b""
        try:
            while True:
                chunk = self._resp.read1(CHUNK)
                if not chunk:
                    break
                *whole, rest = (rest + chunk).split(b"\n")
                batch = [line for line in whole if line.strip()]
                if not batch:
                    continue
                room = MAX_PENDING - len(self.lines)
                if room < len(batch):
                    self.dropped += len(batch) - max(room, 0)
                    batch = batch[:max(room, 0)]
                self.lines.extend(batch)
                self._call_soon(self._wake.set)
        except (OSError, ValueError, http.client.HTTPException) as exc:
            if not self._closing:
                self._error = exc
        finally:
            self._ended = True
            self._call_soon(self._wake.set)

    def _call_soon(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` on the loop (from the thread), unless the loop has closed."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):   # the loop closed meanwhile
                loop.call_soon_threadsafe(callback)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            while self.lines:
                yield self.lines.popleft()
            if self._ended and not self.lines:
                if self._error is not None:
                    raise StreamError(f"podman events: {self._error}")
                return
            self._wake.clear()
            if self.lines or self._ended:
                continue
            await self._wake.wait()

    async def close(self) -> None:
        """End the stream and its thread; nothing it opened stays open."""
        self._closing = True
        conn = self._conn
        sock = conn.sock if conn is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            # A request still under way ends within its connect timeout and sees _closing.
            await asyncio.to_thread(self._thread.join, self.connect_timeout + 10)
        self._close_conn()
