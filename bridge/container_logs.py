"""A container's logs from libpod (``/containers/NAME/logs``): parsed, and as a stream.

Podman sends each log line as a multiplexed frame (Docker's: a byte for the fd, three
zeros, a 4-byte big-endian length, then the payload), the payload starting with the
line's RFC 3339 time when ``timestamps`` is asked. A TTY's logs may come without frames:
then the body is plain lines.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any

from bridge.events import rfc3339
from bridge.podman import PodmanClient, object_path
from bridge.podman_http_stream import HttpSource, HttpStream
from bridge.streams import MAX_ITEM_BYTES, End, Put, chunk_text_items

logger = logging.getLogger(__name__)

HEADER = 8
# The most lines one answer without follow carries (the last ones).
MAX_LINES = 100_000


class LogParser:
    """Bytes in, line records (``{fd, time, text}``) out; keeps partial frames."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._framed: bool | None = None
        self._partial: dict[int, dict[str, Any]] = {}

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buf += data
        if self._framed is None and len(self._buf) >= 4:
            self._framed = self._buf[0] in (0, 1, 2) and self._buf[1:4] == b"\0\0\0"
        if self._framed is None:
            return []
        out: list[dict[str, Any]] = []
        if self._framed:
            while len(self._buf) >= HEADER:
                size = int.from_bytes(self._buf[4:8], "big")
                if len(self._buf) < HEADER + size:
                    break
                fd = self._buf[0] or 1
                payload = bytes(self._buf[HEADER:HEADER + size]).decode(errors="replace")
                del self._buf[:HEADER + size]
                out += self._framed_lines(fd, payload)
        else:
            *whole, rest = bytes(self._buf).split(b"\n")
            self._buf = bytearray(rest)
            out += [_record(1, line.decode(errors="replace").rstrip("\r")) for line in whole]
        return out

    def _framed_lines(self, fd: int, payload: str) -> list[dict[str, Any]]:
        # A frame is one log line, or part of one: the log driver cuts long lines (and
        # lines written in pieces) into partial ones, which come without their newline,
        # each with its own time. The parts are joined; the line has the first's time.
        out = []
        for piece in payload.splitlines(keepends=True):
            record = _record(fd, piece)
            head = self._partial.pop(fd, None)
            if head is not None:
                record = {**head, "text": head["text"] + record["text"]}
            if record["text"].endswith("\n"):
                record["text"] = record["text"].rstrip("\r\n")
                out.append(record)
            elif len(record["text"]) >= MAX_ITEM_BYTES:
                out.append(record)      # a line without end: sent in pieces, bounded
            else:
                self._partial[fd] = record
        return out

    def flush(self) -> list[dict[str, Any]]:
        """What is left at the end of the body (an unfinished plain line)."""
        rest = [{**r, "text": r["text"].rstrip("\r\n")} for r in self._partial.values()]
        self._partial.clear()
        if self._framed is False and self._buf:
            rest.append(_record(1, bytes(self._buf).decode(errors="replace")))
            self._buf.clear()
        return rest


def _record(fd: int, text: str) -> dict[str, Any]:
    stamp, sep, rest = text.partition(" ")
    if sep and len(stamp) >= 20 and stamp[:4].isdigit() and stamp[4] == "-" and "T" in stamp:
        return {"fd": fd, "time": rfc3339(stamp) or stamp, "text": rest}
    return {"fd": fd, "time": None, "text": text}


class LogsStream(HttpSource):
    """``containers.logs``: the tail, then (with ``follow``) every new line."""

    def __init__(self, podman: PodmanClient, name: str, owner_uid: int | None, *,
                 tail: int | None, since: str | None, follow: bool) -> None:
        self.podman = podman
        self.name = name
        self.owner_uid = owner_uid
        self.follow = follow
        params: dict[str, Any] = {"stdout": True, "stderr": True, "timestamps": True,
                                  "follow": follow, "since": since,
                                  "tail": "all" if tail is None else tail}
        self._http = HttpStream(podman, "GET", object_path("containers", name, "logs"),
                                f"logs of container {name!r}", params)

    async def open(self) -> None:
        info = await self.podman.inspect_container(self.name)
        self.container = (str(info.get("Id")), self.owner_uid)
        await self._http.open()

    async def produce(self, put: Put) -> End:
        parser = LogParser()
        while True:
            data = await self._http.read_any()
            lines = parser.feed(data) if data else parser.flush()
            for item in chunk_text_items(lines):
                await put(item)
            if not data:
                return End("eof")

    async def collect(self, limit: int = MAX_LINES) -> dict[str, Any]:
        """Without follow: the lines at once, at most the last ``limit`` of them (a log of
        a gigabyte read with ``tail: null`` must not become a gigabyte here)."""
        lines: deque[dict[str, Any]] = deque(maxlen=limit)
        seen = 0

        async def put(item: dict[str, Any]) -> None:
            nonlocal seen
            seen += len(item["lines"])
            lines.extend(item["lines"])

        await self.drain(put)
        return {"lines": list(lines), "truncated": seen > len(lines)}
