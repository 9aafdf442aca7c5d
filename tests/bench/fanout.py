"""Bus fan-out to N websocket clients on loopback, against a bare aiohttp reference that
does the same work the same way.

The bridge side runs in this process (Bus + Server, the real code paths, the queue sizes
of the default Settings); the clients run in a child process so that the two sides do not
share one core's time slices unfairly. The reference is a bare aiohttp websocket server
that batches as the bridge does, with nothing more per client and event than the bytes:
each event is encoded and framed once into a log shared by all connections, and each
connection writes what is new in it in one ``transport.write`` per burst (one event loop's
physical limit for this job, without a bus, topics, subscriptions or queues). Both
publishers publish in bursts of 200 and, like any source that must not lose events, wait
while a client is more than half its queue behind; both must deliver every event to every
client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import multiprocessing
import os
import statistics
import time
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from bridge.auth import Auth
from bridge.bus import Bus
from bridge.events import now_iso
from bridge.methods import MethodRegistry
from bridge.server import Server
from bridge.websocket import WRITE_HIGH_WATER, text_frame
from tests.helpers import serving

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


BURST = 200


async def bench_bridge(n: int, events: int) -> float:
    from bridge.config import Settings

    defaults = Settings(state_dir=Path("/nonexistent"))  # the queue sizes a bridge runs with
    bus = Bus(ring_size=defaults.ring_size, queue_size=defaults.client_queue)
    server = Server(bus=bus, methods=MethodRegistry(), auth=Auth(TOKEN), panel_dir=None,
                    allowed_origins=[], queue_size=defaults.client_queue)
    data = {"id": "x" * 64, "image": "localhost/podbridge/httpd:v1", "exit_code": 0}
    half = defaults.client_queue // 2

    async def publish() -> None:
        subs = bus._subs  # the bench's window on the queues, for the publisher's pacing
        for i in range(events):
            bus.publish("bench.tick", "bench", "c", data)
            if i % BURST == BURST - 1 or i == events - 1:
                await asyncio.sleep(0)
                while max(s.pending() for s in subs) > half:  # noqa: ASYNC110 (polls)
                    await asyncio.sleep(0.001)

    async with serving(server.app) as port:
        delivered, elapsed = await _run_clients(port, n, events, publish)
    assert delivered == n * events, (delivered, n * events)
    return delivered / elapsed


class _RefConn:
    """One client of the reference: how far it has written the shared log of frames."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.pos = 0
        self.wake = asyncio.Event()

    async def pump(self, log: list[bytes], events: int) -> None:
        while self.pos < events:
            await self.wake.wait()
            self.wake.clear()
            end = len(log)
            self.transport.write(b"".join(log[self.pos:end]))
            self.pos = end
            # The bridge's backpressure, as in bridge.websocket.
            while self.transport.get_write_buffer_size() > WRITE_HIGH_WATER:  # noqa: ASYNC110
                await asyncio.sleep(0.005)


async def bench_reference(n: int, events: int) -> float:
    """The same clients against a bare aiohttp server: each event is encoded and framed
    once into one log shared by all connections, and each connection writes what is new
    in it with one transport.write per burst. No per-client work per event is left: the
    limit of one event loop for this job."""
    from bridge.config import Settings

    half = Settings(state_dir=Path("/nonexistent")).client_queue // 2
    conns: list[_RefConn] = []
    log: list[bytes] = []
    data = {"id": "x" * 64, "image": "localhost/podbridge/httpd:v1", "exit_code": 0}

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        await ws.receive()
        await ws.send_str('{"type":"auth_ok"}')
        await ws.receive()
        await ws.send_str('{"id":1,"type":"result","ok":true,"data":{"seq":0}}')
        assert request.transport is not None
        conn = _RefConn(request.transport)
        conns.append(conn)
        await conn.pump(log, events)
        await ws.receive()
        return ws

    app = web.Application()
    app.router.add_get("/ws", handle)
    prefix = os.urandom(6).hex()

    async def publish() -> None:
        for i in range(events):
            # What the bus does per event: give it its seq, id and time, encode it once.
            event = {"seq": i + 1, "id": f"{prefix}-{i + 1:x}", "time": now_iso(),
                     "source": "bench", "type": "bench.tick", "subject": "c", "data": data}
            log.append(text_frame(b'{"type":"event","sub":1,"event":' + orjson.dumps(event)
                                  + b"}"))
            if i % BURST == BURST - 1 or i == events - 1:
                for c in conns:
                    c.wake.set()
                await asyncio.sleep(0)
                while len(log) - min(c.pos for c in conns) > half:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)

    async with serving(app) as port:
        delivered, elapsed = await _run_clients(port, n, events, publish)
    assert delivered == n * events, (delivered, n * events)
    return delivered / elapsed


async def run(sizes: tuple[int, ...] = (1, 10, 100), total: int = 200_000,
              repeats: int = 5) -> list[dict[str, Any]]:
    from tests.bench.stats import alternate, summary

    rows = []
    for n in sizes:
        events = max(1000, total // n)
        runs: dict[str, list[float]] = {"podbridge": [], "reference": []}
        for rep in range(repeats):
            for who in alternate(list(runs), rep):
                bench = bench_bridge if who == "podbridge" else bench_reference
                runs[who].append(await bench(n, events))
        ratios = [a / b for a, b in zip(runs["podbridge"], runs["reference"], strict=True)]
        rows.append({"clients": n, "events_per_client": events,
                     "podbridge": summary(runs["podbridge"], 0),
                     "reference": summary(runs["reference"], 0),
                     "ratio": round(statistics.median(runs["podbridge"])
                                    / statistics.median(runs["reference"]), 2),
                     "ratio_per_run": summary(ratios, 2)})
    return rows
