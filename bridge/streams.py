"""Streams on the websocket: one mechanism for every method that follows something.

A method that follows (logs, stats, exec, pull progress, a journal) returns a
:class:`StreamSource` instead of a value. The websocket opens it (errors then still reach
the client as an ordinary error result), answers ``{"stream": id}`` and runs a
:class:`StreamRunner`: a producer task that reads the source into a bounded queue and a
sender task that turns the queue into ``data`` / ``gap`` / ``end`` frames
(docs/protocol.md, section 9). REST and the CLI cannot carry a stream: they get
``not-supported``.

Memory is bounded per stream: the queue holds :data:`QUEUE_ITEMS` items of at most
:data:`MAX_ITEM_BYTES` each. When it is full a ``pause`` source's producer waits (it stops
reading, so Podman's socket or journalctl's pipe fills and the writer there waits); a
``drop`` source's new item is dropped and counted, and the client is told with a ``gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.errors import BridgeError

logger = logging.getLogger(__name__)

QUEUE_ITEMS = 64
MAX_ITEM_BYTES = 64 * 1024
MAX_STREAMS = 16
WRITE_HIGH_WATER = 1 << 20

Policy = Literal["pause", "drop"]
Put = Callable[[dict[str, Any]], Awaitable[None]]


class NotStreamable(BridgeError):
    code = "not-supported"


@dataclass
class End:
    """How a source ended: ``reason`` and any extra fields of the ``end`` frame."""

    reason: str = "eof"
    extra: dict[str, Any] = field(default_factory=dict)


class StreamSource:
    """What a follow-style method returns. Subclasses implement :meth:`produce` and may
    take input and resizes (exec). Nothing runs before :meth:`open`."""

    policy: Policy = "pause"
    #: the container this stream follows (its ID, and the owner's uid or None): the stream
    #: ends ``gone`` when it is removed
    container: tuple[str, int | None] | None = None

    def __str__(self) -> str:
        # What the audit trail records as the result of a call that opened a stream.
        return f"a stream ({type(self).__name__})"

    def head(self) -> dict[str, Any]:
        """Extra fields of the result that opens the stream."""
        return {}

    async def open(self) -> None:
        """Reach the source (an error here is the call's error result)."""

    async def produce(self, put: Put) -> End:
        """Read the source, ``await put(item)`` for each item; return how it ended."""
        raise NotImplementedError

    async def write(self, data: bytes) -> None:
        raise NotStreamable("this stream takes no input")

    async def resize(self, rows: int, cols: int) -> None:
        raise NotStreamable("this stream has no terminal to resize")

    async def aclose(self) -> None:
        """Let go of whatever :meth:`open` took (idempotent)."""

    async def drain(self, put: Put) -> End:
        """Open, read to the end into ``put`` and close: for a one-shot answer from a
        source that can follow."""
        await self.open()
        try:
            return await self.produce(put)
        finally:
            await self.aclose()

    async def read_last(self) -> tuple[dict[str, Any] | None, End]:
        """:meth:`drain`, keeping the last item only (None when there was none)."""
        last: dict[str, Any] | None = None

        async def put(item: dict[str, Any]) -> None:
            nonlocal last
            last = item

        end = await self.drain(put)
        return last, end


Send = Callable[[dict[str, Any]], Awaitable[None]]
WriteBuffer = Callable[[], int]


class StreamRunner:
    """One open stream of one connection: its queue, producer and sender tasks."""

    def __init__(self, stream_id: int, source: StreamSource, send: Send,
                 write_buffer: WriteBuffer, queue_items: int = QUEUE_ITEMS) -> None:
        self.id = stream_id
        self.source = source
        self._send = send
        self._write_buffer = write_buffer
        # (items dropped before this one, item or None for the end)
        self._queue: asyncio.Queue[tuple[int, dict[str, Any] | None]] = asyncio.Queue(
            queue_items)
        self.dropped = 0
        self.sent = 0
        self.max_queued = 0
        self._end: End | None = None
        self._stop_reason: str | None = None
        self._producer: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        # Called once the stream is over (its end frame sent, or the connection closing).
        self.on_done: Callable[[], None] | None = None

    def start(self) -> None:
        self._producer = asyncio.create_task(self._produce(), name=f"stream/{self.id}/read")
        self._sender = asyncio.create_task(self._send_frames(), name=f"stream/{self.id}/send")

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    async def _put(self, item: dict[str, Any]) -> None:
        if self.source.policy == "drop" and self._queue.full():
            self.dropped += 1
            return
        await self._queue.put((self.dropped, item))
        self.max_queued = max(self.max_queued, self._queue.qsize())

    async def _produce(self) -> None:
        try:
            end = await self.source.produce(self._put)
        except asyncio.CancelledError:
            if self._stop_reason is None:
                raise   # the connection closes: no frame goes out
            end = End(self._stop_reason)
        except BridgeError as exc:
            end = End("error", {"error": exc.to_json()})
        except Exception as exc:
            logger.exception("stream %d failed", self.id)
            end = End("error", {"error": {"code": "internal-error",
                                          "message": f"{type(exc).__name__}: {exc}"}})
        finally:
            with contextlib.suppress(Exception):
                await self.source.aclose()
        if end.reason == "closed":
            # The client asked to stop: what it has not been sent yet is not wanted.
            while not self._queue.empty():
                self._queue.get_nowait()
        await self._queue.put((self.dropped, None))
        self._end = end

    async def _send_frames(self) -> None:
        told = 0
        try:
            while True:
                dropped, item = await self._queue.get()
                if dropped > told:
                    await self._send({"type": "gap", "stream": self.id,
                                      "dropped": dropped - told})
                    told = dropped
                if item is None:
                    end = self._end or End()
                    await self._send({"type": "end", "stream": self.id,
                                      "reason": end.reason, **end.extra})
                    return
                await self._send({"type": "data", "stream": self.id, "data": item})
                self.sent += 1
                # A slow reader fills the socket's buffer: wait for it before the next
                # frame, so the queue (bounded) is where a backlog waits.
                while self._write_buffer() > WRITE_HIGH_WATER:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            self._finished()

    def _finished(self) -> None:
        if not self.done.is_set():
            self.done.set()
            if self.on_done is not None:
                self.on_done()

    def stop(self, reason: str) -> None:
        """End the stream with ``reason`` (``closed``, ``gone``): the producer stops, the
        ``end`` frame follows what is queued."""
        if self._stop_reason is not None or self._producer is None:
            return
        self._stop_reason = reason
        self._producer.cancel()

    async def cancel(self) -> None:
        """The connection closes: stop both tasks and wait for them, sending nothing."""
        tasks = [t for t in (self._producer, self._sender) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.source.aclose()
        self._finished()

    async def wait(self) -> None:
        """Until the end frame is out and both tasks are over."""
        await self.done.wait()
        tasks = [t for t in (self._producer, self._sender) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)


def chunk_text_items(lines: list[dict[str, Any]], key: str = "lines",
                     limit: int = MAX_ITEM_BYTES) -> list[dict[str, Any]]:
    """Cut a list of line records into items of at most ``limit`` bytes of text (a single
    longer line is an item of its own)."""
    items: list[dict[str, Any]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for line in lines:
        n = len(str(line.get("text") or line.get("message") or "")) + 64
        if current and size + n > limit:
            items.append({key: current})
            current, size = [], 0
        current.append(line)
        size += n
    if current:
        items.append({key: current})
    return items
