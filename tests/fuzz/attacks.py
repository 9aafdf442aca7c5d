"""The fuzzer's attacks on a live bridge, each a loop until a deadline. Every input is
counted; whatever is not a clear answer (an error frame, a result, an HTTP error with a
JSON body, or a close with a code) is an anomaly."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bridge.tasks import within
from tests.fuzz.inputs import bad_frame, frame, rest_request, text

REPLY_TIMEOUT = 15.0
MAX_MSG = 1024 * 1024  # the bridge's largest message
ALLOWED_STATUS = {200, 400, 401, 403, 404, 405, 409, 413, 429, 501, 502, 503, 504}


@dataclass
class Stats:
    inputs: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)
    anomalies: list[str] = field(default_factory=list)

    def anomaly(self, what: str) -> None:
        if len(self.anomalies) < 200:
            self.anomalies.append(what)
        self.outcomes["anomaly"] += 1


@dataclass
class Target:
    host: str
    port: int
    tokens: dict[str, str]  # role -> token
    methods: list[str]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def token(self, r: random.Random) -> str:
        role = r.choices(["viewer", "operator", "admin"], [5, 3, 2])[0]
        return self.tokens[role]


# -- a raw websocket client --------------------------------------------------------------

class RawWS:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, t: Target, local: str | None = None) -> RawWS:
        """A websocket from ``local`` (a loopback address of 127/8), else 127.0.0.1."""
        reader, writer = await within(asyncio.open_connection(
            t.host, t.port, local_addr=(local, 0) if local else None), 10)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /ws HTTP/1.1\r\nHost: {t.host}:{t.port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await within(reader.readuntil(b"\r\n\r\n"), 10)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def send_json(self, obj: Any) -> None:
        await self.send(frame(json.dumps(obj).encode()))

    async def recv(self, timeout: float = REPLY_TIMEOUT) -> tuple[int, bytes]:
        """(opcode, payload) of the server's next frame; (-1, b"") at EOF."""
        async def read() -> tuple[int, bytes]:
            try:
                b0, b1 = await self.reader.readexactly(2)
            except asyncio.IncompleteReadError:
                return -1, b""
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            return b0 & 0x0F, await self.reader.readexactly(n)
        return await within(read(), timeout)

    def close(self) -> None:
        self.writer.close()


def clear_reply(msg: Any) -> bool:
    if not isinstance(msg, dict):
        return False
    if msg.get("type") == "error":
        return bool(msg["error"].get("code")) and bool(msg["error"].get("message"))
    if msg.get("type") == "result":
        return msg.get("ok") is True or bool(msg.get("error", {}).get("message"))
    return msg.get("type") in ("event", "reset", "dropped")


# -- the attacks ---------------------------------------------------------------------------

async def ws_messages(t: Target, r: random.Random, stats: Stats, deadline: float) -> None:
    """Random and malformed messages over an authenticated websocket, one reply each."""
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                ws = await session.ws_connect(t.base + "/ws", max_msg_size=0)
            except aiohttp.ClientError as exc:
                stats.anomaly(f"ws connect failed: {exc}")
                await asyncio.sleep(1)
                continue
            try:
                await ws.send_json({"type": "auth", "token": t.token(r)})
                hello = await ws.receive_json(timeout=REPLY_TIMEOUT)
                if hello.get("type") != "auth_ok":
                    stats.anomaly(f"auth with a good token: {hello}")
                    continue
                for _ in range(r.randint(1, 200)):
                    if time.monotonic() > deadline:
                        break
                    payload = text(r, t.methods)
                    if isinstance(payload, bytes):
                        stats.inputs["ws binary frame"] += 1
                        await ws.send_bytes(payload)
                    else:
                        stats.inputs["ws text message"] += 1
                        await ws.send_str(payload)
                    while True:
                        msg = await ws.receive(timeout=REPLY_TIMEOUT)
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        reply = json.loads(msg.data)
                        if reply.get("type") in ("event", "reset", "dropped"):
                            continue
                        break
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        if not clear_reply(reply):
                            stats.anomaly(f"unclear reply {reply!r:.300} to {payload!r:.200}")
                        elif reply.get("error", {}).get("code") == "internal-error":
                            stats.anomaly(f"internal-error {reply!r:.300} for {payload!r:.300}")
                        else:
                            stats.outcomes["ws answered"] += 1
                    else:
                        code = ws.close_code
                        if code in (1009, 1007, 1002):  # too big, bad UTF-8, protocol
                            stats.outcomes[f"ws closed {code}"] += 1
                        elif len(payload) > MAX_MSG:
                            # Refused as too big while the client was still sending it:
                            # the server's 1009 can be lost to the TCP reset.
                            stats.outcomes["ws closed: too big (1009 or reset)"] += 1
                        else:
                            stats.anomaly(f"ws closed ({msg.type}, {code}) after "
                                          f"{payload!r:.200}")
                        break
            except TimeoutError:
                stats.anomaly("no reply within the timeout on the websocket")
            except (aiohttp.ClientError, ConnectionError) as exc:
                stats.outcomes[f"ws connection error {type(exc).__name__}"] += 1
            finally:
                await ws.close()


async def raw_frames(t: Target, r: random.Random, stats: Stats, deadline: float) -> None:
    """Frames a client library would not send: bad opcodes, RSV bits, unmasked, invalid
    UTF-8 text, lying lengths, bad close codes. Then a ping: answered, or closed."""
    while time.monotonic() < deadline:
        try:
            ws = await RawWS.open(t)
        except (OSError, ConnectionError, TimeoutError) as exc:
            stats.anomaly(f"raw connect failed: {exc}")
            await asyncio.sleep(1)
            continue
        sent = "auth"
        try:
            await ws.send_json({"type": "auth", "token": t.token(r)})
            op, data = await ws.recv()
            if op != 1 or json.loads(data).get("type") != "auth_ok":
                stats.anomaly(f"raw auth: {op} {data!r:.200}")
                continue
            for _ in range(r.randint(1, 20)):
                if time.monotonic() > deadline:
                    break
                if r.random() < 0.5:
                    payload = text(r, t.methods)
                    data = payload if isinstance(payload, bytes) else payload.encode()
                    sent = f"text frame {data[:100]!r}"
                    stats.inputs["raw text frame"] += 1
                    await ws.send(frame(data[:200_000]))
                else:
                    kind, raw = bad_frame(r, t.methods)
                    sent = f"{kind} frame {raw[:100]!r}"
                    stats.inputs["raw malformed frame"] += 1
                    await ws.send(raw)
                    if kind == "garbage":
                        # Random bytes may announce a longer frame than they are: the
                        # server rightly waits for the rest. Half-close: it must let go.
                        ws.writer.write_eof()
                        op, _ = await ws.recv()
                        while op not in (8, -1):
                            op, _ = await ws.recv()
                        stats.outcomes["raw garbage then EOF: closed"] += 1
                        break
                await ws.send_json({"id": 999_999_999, "type": "ping"})
                closed = False
                while True:
                    op, data = await ws.recv()
                    if op in (8, -1):
                        closed = True
                        code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                        stats.outcomes[f"raw closed {code}"] += 1
                        break
                    if op == 1 and b'"pong"' in data:
                        stats.outcomes["raw answered"] += 1
                        break
                    if op == 1 and not clear_reply(json.loads(data)):
                        stats.anomaly(f"raw: unclear reply {data!r:.300}")
                if closed:
                    break
        except TimeoutError:
            stats.anomaly(f"raw: neither an answer nor a close within the timeout after {sent}")
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            stats.outcomes["raw reset by the server"] += 1
        finally:
            ws.close()


async def half_closed(t: Target, r: random.Random, stats: Stats, deadline: float) -> None:
    """Connections that stop half-way: a part of a request, a part of a frame, then EOF
    (or nothing at all). The server must let go of each by itself."""
    while time.monotonic() < deadline:
        kind = r.choice(["http-part", "ws-part-frame", "ws-no-auth-eof", "ws-part-eof"])
        stats.inputs[f"half-closed {kind}"] += 1
        try:
            if kind == "http-part":
                reader, writer = await asyncio.open_connection(t.host, t.port)
                writer.write(b"POST /api/state.get HTTP/1.1\r\nHost: x\r\nContent-Length: 100"
                             b"\r\n\r\n{\"a\":")
                writer.write_eof()
            else:
                ws = await RawWS.open(t)
                reader, writer = ws.reader, ws.writer
                if kind == "ws-part-frame":
                    writer.write(frame(b'{"type":"auth","token":"x"}')[:5])
                elif kind == "ws-part-eof":
                    writer.write(frame(b'{"type":"auth"')[:-3])
                    writer.write_eof()
                else:
                    writer.write_eof()
            try:
                # The server answers (an error) and/or closes: EOF within its auth timeout.
                await within(reader.read(), 30)
                stats.outcomes["half-closed let go by the server"] += 1
            except TimeoutError:
                stats.anomaly(f"half-closed {kind}: the server kept it open")
            writer.close()
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            stats.outcomes[f"half-closed {type(exc).__name__}"] += 1


FLOOD_ADDRESSES = [f"127.0.1.{i}" for i in range(1, 21)]


async def flood(t: Target, r: random.Random, stats: Stats, deadline: float,
                count: int) -> None:
    """``count`` websockets that never authenticate, held open together, from 20 loopback
    addresses (127.0.1.x: past the per-address cap some are refused with 503); meanwhile
    a real client (from 127.0.0.1) must still get in and be answered."""
    while time.monotonic() < deadline:
        socks: list[RawWS] = []
        refused = 0

        async def one(i: int, socks: list[RawWS] = socks) -> None:
            nonlocal refused
            try:
                socks.append(await RawWS.open(t, FLOOD_ADDRESSES[i % len(FLOOD_ADDRESSES)]))
            except ConnectionError as exc:
                if "503" in str(exc):
                    refused += 1
                else:
                    stats.anomaly(f"flood: {exc}")
            except (OSError, TimeoutError) as exc:
                stats.anomaly(f"flood: {type(exc).__name__} {exc}")

        for start in range(0, count, 200):
            await asyncio.gather(*(one(start + i) for i in range(min(200, count - start))))
        stats.inputs["unauthenticated connection"] += count
        stats.outcomes["flood refused (503)"] += refused
        try:
            async with aiohttp.ClientSession() as s, s.ws_connect(t.base + "/ws") as ws:
                await ws.send_json({"type": "auth", "token": t.tokens["viewer"]})
                assert (await ws.receive_json(timeout=REPLY_TIMEOUT))["type"] == "auth_ok"
                await ws.send_json({"id": 1, "type": "call", "method": "bridge.status"})
                reply = await ws.receive_json(timeout=REPLY_TIMEOUT)
                assert reply["ok"], reply
                stats.outcomes["served during a flood"] += 1
        except (AssertionError, aiohttp.ClientError, TimeoutError) as exc:
            stats.anomaly(f"a real client was not served during a flood: {exc!r}")
        # Each waiting socket is told off at the auth timeout and closed.
        results = await asyncio.gather(*(w.recv(30) for w in socks), return_exceptions=True)
        told = sum(1 for x in results if isinstance(x, tuple) and x[0] in (1, 8, -1))
        stats.outcomes["flood closed by the auth timeout"] += told
        if told < len(socks):
            stats.anomaly(f"flood: {len(socks) - told} of {len(socks)} sockets were not "
                          "closed at the auth timeout")
        for w in socks:
            w.close()
        await asyncio.sleep(r.uniform(1, 5))


async def rest(t: Target, r: random.Random, stats: Stats, deadline: float) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as s:
        while time.monotonic() < deadline:
            verb, path, headers, body = rest_request(r, t.methods)
            if r.random() < 0.85:
                headers["Authorization"] = f"Bearer {t.token(r)}"
            stats.inputs["rest request"] += 1
            try:
                async with s.request(verb, t.base + path, headers=headers, data=body,
                                     timeout=aiohttp.ClientTimeout(total=60)) as resp:
                    payload = await resp.read()
                    if resp.status not in ALLOWED_STATUS:
                        stats.anomaly(f"REST {verb} {path}: HTTP {resp.status} "
                                      f"{payload[:300]!r}")
                        continue
                    if resp.status >= 400 and resp.content_type == "application/json":
                        err = json.loads(payload).get("error", {})
                        if not err.get("message"):
                            stats.anomaly(f"REST {verb} {path}: no message: {payload[:300]!r}")
                            continue
                    stats.outcomes[f"rest {resp.status}"] += 1
            except (aiohttp.ClientError, TimeoutError) as exc:
                stats.anomaly(f"REST {verb} {path}: {type(exc).__name__} {exc}")


async def brute_force(t: Target, r: random.Random, stats: Stats, deadline: float) -> None:
    """Guessing tokens, from an address of its own (127.0.0.2), until rate limited."""
    conn = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    host = t.base.replace("127.0.0.1", "127.0.0.1")
    async with aiohttp.ClientSession(connector=conn) as s:
        while time.monotonic() < deadline:
            stats.inputs["login guess"] += 1
            guess = base64.urlsafe_b64encode(r.randbytes(32)).decode()
            with contextlib.suppress(aiohttp.ClientError):
                async with s.post(host + "/login", json={"token": guess}) as resp:
                    if resp.status not in (401, 429):
                        stats.anomaly(f"login guess: HTTP {resp.status}")
                    stats.outcomes[f"login guess {resp.status}"] += 1
                    if resp.status == 429:
                        await asyncio.sleep(min(5.0, float(resp.headers.get("Retry-After",
                                                                            "1"))))
