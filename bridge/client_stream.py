"""The client's side of a stream (docs/protocol.md, section 9): its frames, in order, and
the messages that close it, write to it and resize it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from bridge.tasks import within

Request = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ClientStream:
    """Iterate for the ``data`` payloads (a ``gap`` adds to :attr:`dropped`); the ``end``
    frame ends the iteration and is kept in :attr:`end`."""

    def __init__(self, stream_id: int, head: dict[str, Any],
                 frames: asyncio.Queue[dict[str, Any] | None], request: Request) -> None:
        self.id = stream_id
        self.head = head
        self.frames = frames
        self._request = request
        self.end: dict[str, Any] | None = None
        self.dropped = 0

    async def next_frame(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next raw frame (``data``, ``gap``, ``end``), None when the connection went."""
        frame = await within(self.frames.get(), timeout)
        if frame is not None and frame["type"] == "end":
            self.end = frame
        if frame is not None and frame["type"] == "gap":
            self.dropped += int(frame["dropped"])
        return frame

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        while self.end is None:
            frame = await self.next_frame()
            if frame is None:
                raise ConnectionError("connection to the bridge lost")
            if frame["type"] == "data":
                yield frame["data"]

    async def input(self, text: str) -> dict[str, Any]:
        return await self._request({"type": "stream_input", "stream": self.id, "data": text})

    async def resize(self, rows: int, cols: int) -> dict[str, Any]:
        return await self._request({"type": "stream_resize", "stream": self.id,
                                    "rows": rows, "cols": cols})

    async def close(self) -> dict[str, Any]:
        return await self._request({"type": "stream_close", "stream": self.id})
