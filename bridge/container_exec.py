"""``containers.exec``: a process in a container, with a terminal both ways.

libpod's exec is two calls: ``POST /containers/NAME/exec`` makes the session, ``POST
/exec/ID/start`` runs it and *hijacks* the HTTP connection: after the response's headers
the socket carries the process's output one way and its stdin the other. aiohttp's client
cannot write on a response's connection, so the start request is written by hand on a
unix socket of its own. The terminal's size goes through ``POST /exec/ID/resize``; the exit
code through ``GET /exec/ID/json`` once the output ends.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
from typing import Any

from bridge.errors import BridgeError
from bridge.podman import API, PodmanClient, PodmanError, _raise_for, object_path
from bridge.streams import MAX_ITEM_BYTES, End, Put, StreamSource
from bridge.tasks import within

logger = logging.getLogger(__name__)

HEADERS_MAX = 64 * 1024
EXIT_WAIT = 10.0


class ExecStream(StreamSource):
    def __init__(self, podman: PodmanClient, name: str, owner_uid: int | None, *,
                 command: list[str], tty: bool, rows: int, cols: int,
                 env: dict[str, str], user: str | None, workdir: str | None) -> None:
        self.podman = podman
        self.name = name
        self.owner_uid = owner_uid
        self.command = command
        self.tty = tty
        self.rows, self.cols = rows, cols
        self.env = env
        self.user = user
        self.workdir = workdir
        self.exec_id = ""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        # The websocket runs each stream message as a task of its own, so two resizes can
        # be in flight at once; Podman would apply them in whatever order they land.
        self._resizing = asyncio.Lock()

    def head(self) -> dict[str, Any]:
        return {"exec_id": self.exec_id}

    async def open(self) -> None:
        info = await self.podman.inspect_container(self.name)
        self.container = (str(info.get("Id")), self.owner_uid)
        body: dict[str, Any] = {
            "AttachStdin": True, "AttachStdout": True, "AttachStderr": True,
            "Tty": self.tty, "Cmd": self.command,
            "Env": [f"{k}={v}" for k, v in self.env.items()],
        }
        if self.user:
            body["User"] = self.user
        if self.workdir:
            body["WorkingDir"] = self.workdir
        created = await self.podman.request(
            "POST", object_path("containers", self.name, "exec"), json_body=body,
            what=f"exec in container {self.name!r}")
        self.exec_id = str(created["Id"])
        await self._start()
        if self.tty:
            await self.resize(self.rows, self.cols)

    async def _start(self) -> None:
        what = f"exec in container {self.name!r}"
        payload = json.dumps({"Detach": False, "Tty": self.tty, "h": self.rows,
                              "w": self.cols}).encode()
        try:
            reader, writer = await within(
                asyncio.open_unix_connection(self.podman.path, limit=MAX_ITEM_BYTES), 10)
        except (OSError, TimeoutError) as exc:
            raise PodmanError(f"{what}: cannot reach Podman at {self.podman.url}: "
                              f"{exc}") from None
        self._reader, self._writer = reader, writer
        writer.write(
            f"POST {API}/exec/{self.exec_id}/start HTTP/1.1\r\nHost: d\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode() + payload)
        await writer.drain()
        try:
            head = await within(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                OSError) as exc:
            raise PodmanError(f"{what}: Podman's answer to start broke off: {exc}") from None
        status_line, *header_lines = head.decode(errors="replace").split("\r\n")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            raise PodmanError(f"{what}: not an HTTP answer: {status_line!r}") from None
        if status >= 400:
            headers = dict(h.split(":", 1) for h in header_lines if ":" in h)
            length = int(headers.get("Content-Length", headers.get("content-length",
                                                                   "0")).strip() or 0)
            body = b""
            with contextlib.suppress(Exception):
                body = await within(reader.read(length or HEADERS_MAX), 5)
            _raise_for(status, body.decode(errors="replace"), what)

    async def produce(self, put: Put) -> End:
        assert self._reader is not None
        decoders = {1: codecs.getincrementaldecoder("utf-8")("replace"),
                    2: codecs.getincrementaldecoder("utf-8")("replace")}
        buf = bytearray()
        while True:
            data = await self._reader.read(MAX_ITEM_BYTES)
            if not data:
                break
            if self.tty:
                text = decoders[1].decode(data)
                if text:
                    await put({"output": text})
                continue
            buf += data
            while len(buf) >= 8:
                size = int.from_bytes(buf[4:8], "big")
                if len(buf) < 8 + size:
                    break
                fd = 2 if buf[0] == 2 else 1
                text = decoders[fd].decode(bytes(buf[8:8 + size]))
                del buf[:8 + size]
                if text:
                    await put({"output": text, "fd": fd})
        return End("exit", {"exit_code": await self._exit_code()})

    async def _exit_code(self) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXIT_WAIT
        while True:
            try:
                info = await self.podman.request("GET", f"/exec/{self.exec_id}/json",
                                                 what="exec session")
            except BridgeError:
                return None
            if not info.get("Running") or loop.time() > deadline:
                code = info.get("ExitCode")
                return int(code) if isinstance(code, int) else None
            await asyncio.sleep(0.05)

    async def write(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise BridgeError("the process's input is closed", "failed")
        self._writer.write(data)
        try:
            await self._writer.drain()
        except (ConnectionError, OSError) as exc:
            raise BridgeError(f"the process's input is closed: {exc}", "failed") from None

    async def resize(self, rows: int, cols: int) -> None:
        if not self.tty:
            await super().resize(rows, cols)
        self.rows, self.cols = rows, cols
        async with self._resizing:        # a FIFO lock: the resizes reach Podman in order
            if (self.rows, self.cols) != (rows, cols):
                return                    # a newer size was asked for; its call sends it
            await self.podman.request("POST", f"/exec/{self.exec_id}/resize",
                                      params={"h": rows, "w": cols}, what="resize the terminal")

    async def aclose(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await within(writer.wait_closed(), 5)
