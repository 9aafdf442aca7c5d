"""Bus fan-out to N websocket clients on loopback, against a bare aiohttp reference.

The bridge side runs in this process (Bus + Server, the real code paths); the clients run
in a child process so that the two sides do not share one core's time slices unfairly.
The reference is the simplest aiohttp websocket server that sends the same pre-encoded
frames, measured in the same run with the same clients: the ratio says what the bus, the
subscriptions and the protocol cost on top of aiohttp itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import time
from typing import Any

from aiohttp import WSMsgType, web

from bridge.auth import Auth
from bridge.bus import Bus
from bridge.methods import MethodRegistry
from bridge.server import Server

TOKEN = "bench-token"


class RawClient:
    """A websocket client that only counts frames: it parses frame headers and skips
    payloads, so that the clients cost little next to the server being measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, host: str, port: int) -> RawClient:
        reader, writer = await asyncio.open_connection(host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"no websocket upgrade: {head[:80]!r}")
        return cls(reader, writer)

    def send(self, obj: Any) -> None:
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.writer.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    async def frame(self) -> bytes:
        _b0, b1 = await self.reader.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        return await self.reader.readexactly(n)

    async def count(self, frames: int) -> tuple[int, bytes]:
        """Read ``frames`` frames, parsing headers out of a buffer in big reads."""
        buf = b""
        pos = 0
        got = 0
        last_start = last_end = 0
        while got < frames:
            chunk = await self.reader.read(1 << 20)
            if not chunk:
                break
            buf = buf[pos:] + chunk
            pos = 0
            size = len(buf)
            while got < frames and pos + 2 <= size:
                n = buf[pos + 1] & 0x7F
                hdr = 2
                if n == 126:
                    if pos + 4 > size:
                        break
                    n = int.from_bytes(buf[pos + 2:pos + 4], "big")
                    hdr = 4
                elif n == 127:
                    if pos + 10 > size:
                        break
                    n = int.from_bytes(buf[pos + 2:pos + 10], "big")
                    hdr = 10
                if pos + hdr + n > size:
                    break
                last_start, last_end = pos + hdr, pos + hdr + n
                pos += hdr + n
                got += 1
            last = buf[last_start:last_end] if got else b""
        return got, last

    def close(self) -> None:
        self.writer.close()


async def _clients(host: str, port: int, n: int, events: int, ready: Any, done: Any
                   ) -> None:
    clients = []
    for _ in range(n):
        c = await RawClient.connect(host, port)
        c.send({"type": "auth", "token": TOKEN})
        await c.frame()
        c.send({"id": 1, "type": "subscribe", "topics": ["bench.*"]})
        await c.frame()  # the subscribe result
        clients.append(c)
    ready.set()
    results = await asyncio.gather(*(c.count(events) for c in clients))
    for _got, last in results:
        assert json.loads(last)["type"] == "event"  # the frames are real JSON events
    done.put(sum(got for got, _ in results))
    for c in clients:
        c.close()


def _client_process(port: int, n: int, events: int, ready: Any, done: Any) -> None:
    asyncio.run(_clients("127.0.0.1", port, n, events, ready, done))


async def _run_clients(port: int, n: int, events: int, publish: Any) -> tuple[int, float]:
    ctx = multiprocessing.get_context("spawn")
    ready, done = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_client_process, args=(port, n, events, ready, done))
    proc.start()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, ready.wait)
    t0 = time.perf_counter()
    await publish()
    delivered = await loop.run_in_executor(None, done.get)
    elapsed = time.perf_counter() - t0
    await loop.run_in_executor(None, proc.join)
    return delivered, elapsed


async def bench_bridge(n: int, events: int) -> float:
    bus = Bus(ring_size=10_000, queue_size=events + 10)
    server = Server(bus=bus, methods=MethodRegistry(), auth=Auth(TOKEN), panel_dir=None,
                    allowed_origins=[], queue_size=events + 10)
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    data = {"id": "x" * 64, "image": "localhost/podbridge/httpd:v1", "exit_code": 0}

    async def publish() -> None:
        for i in range(events):
            bus.publish("bench.tick", "bench", "c", data)
            if i % 200 == 199:
                await asyncio.sleep(0)

    try:
        delivered, elapsed = await _run_clients(port, n, events,
                                                publish)
    finally:
        await runner.cleanup()
    assert delivered == n * events, (delivered, n * events)
    return delivered / elapsed


async def bench_reference(n: int, events: int) -> float:
    """The same clients against a bare aiohttp server sending the same frames."""
    conns: list[web.WebSocketResponse] = []
    start = asyncio.Event()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str('{"type":"auth_ok"}')
        await ws.receive()
        await ws.send_str('{"id":1,"type":"result","ok":true,"data":{"seq":0}}')
        conns.append(ws)
        await start.wait()
        frame = json.dumps({"type": "event", "sub": 1, "event": {
            "seq": 1, "id": "0" * 32, "time": "2026-01-01T00:00:00.000000Z",
            "source": "bench", "type": "bench.tick", "subject": "c",
            "data": {"id": "x" * 64, "image": "localhost/podbridge/httpd:v1",
                     "exit_code": 0}}}, separators=(",", ":")).encode()
        for i in range(events):
            await ws.send_frame(frame, WSMsgType.TEXT)
            if i % 200 == 199:
                await asyncio.sleep(0)
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]

    async def publish() -> None:
        start.set()

    try:
        delivered, elapsed = await _run_clients(port, n, events,
                                                publish)
    finally:
        await runner.cleanup()
    return delivered / elapsed


async def run(sizes: tuple[int, ...] = (1, 10, 100), total: int = 200_000) -> list[dict[str, Any]]:
    rows = []
    for n in sizes:
        events = max(1000, total // n)
        ours = await bench_bridge(n, events)
        ref = await bench_reference(n, events)
        rows.append({"clients": n, "events_per_client": events,
                     "podbridge_events_per_s": round(ours),
                     "aiohttp_reference_events_per_s": round(ref),
                     "ratio": round(ours / ref, 2)})
    return rows
