"""What the fuzzer sends: random and malformed websocket messages and frames, REST
requests, each from a seeded ``random.Random`` so that a run can be repeated."""

from __future__ import annotations

import json
import os
import random
import struct
from typing import Any

TYPES = ["auth", "call", "subscribe", "unsubscribe", "ping", "pong", "", "CALL", None, 1]
KEYS = ["id", "type", "method", "params", "topics", "since", "sub", "token", "name",
        "timeout", "limit", "rule", "dry_run", "owner", "__proto__", "", "\u0000"]


def scalar(r: random.Random) -> Any:
    return r.choice([
        None, True, False, 0, -1, 1, 2**31, 2**53 + 1, -(2**63), 2**64, 1e308, -0.0, 0.5,
        "", "x", "*", "**", "container.*", "a" * r.randint(0, 300), "\u202e\ud7ff",
        "../../etc/passwd", "web; rm -rf /", "{{data}}", "\\x00", "😀" * 10,
        r.randint(-(10**6), 10**6), r.random() * 10**r.randint(-5, 20),
    ])


def value(r: random.Random, depth: int = 0) -> Any:
    roll = r.random()
    if depth > 4 or roll < 0.5:
        return scalar(r)
    if roll < 0.75:
        return [value(r, depth + 1) for _ in range(r.randint(0, 5))]
    return {r.choice(KEYS) if r.random() < 0.7 else f"k{r.randint(0, 99)}":
            value(r, depth + 1) for _ in range(r.randint(0, 5))}


def message(r: random.Random, methods: list[str]) -> Any:
    """A protocol message: mostly well-formed, with a random part."""
    kind = r.choice(["call", "call", "call", "subscribe", "unsubscribe", "ping", "junk"])
    msg: dict[str, Any] = {"id": r.choice([r.randint(1, 10**6), r.randint(1, 10**6),
                                           scalar(r)]), "type": kind}
    if kind == "call":
        msg["method"] = r.choice(methods) if methods and r.random() < 0.85 else scalar(r)
        msg["params"] = value(r) if r.random() < 0.3 else {
            r.choice(KEYS): value(r) for _ in range(r.randint(0, 4))}
    elif kind == "subscribe":
        msg["topics"] = [r.choice(["*", "container.*", "**", "", "a" * 300, "x.[", "?"])
                         for _ in range(r.randint(0, 70 if r.random() < 0.1 else 3))]
        if r.random() < 0.5:
            msg["since"] = scalar(r)
    elif kind == "unsubscribe":
        msg["sub"] = scalar(r)
    elif kind == "junk":
        msg = value(r)
    for _ in range(r.randint(0, 2)):
        if isinstance(msg, dict):
            msg[r.choice(KEYS)] = value(r)
    return msg


def deep(r: random.Random) -> str:
    n = r.choice([500, 1023, 1025, 5000, 50_000])
    if r.random() < 0.5:
        return "[" * n + "]" * n
    return '{"id":1,"type":"call","method":"state.get","params":' + '{"a":' * n + "1" \
        + "}" * n + "}"


def huge(r: random.Random) -> str:
    size = r.choice([100_000, 900_000, 1_100_000])
    return json.dumps({"id": 1, "type": "call", "method": "state.get",
                       "params": {"blob": "x" * size}})


def text(r: random.Random, methods: list[str]) -> str | bytes:
    """The payload of one text frame (bytes: possibly invalid UTF-8)."""
    roll = r.random()
    if roll < 0.6:
        return json.dumps(message(r, methods))
    if roll < 0.7:
        good = json.dumps(message(r, methods))
        cut = r.randint(0, len(good))
        return good[:cut] + r.choice(["", "}", "\"", "\\", ",", "\u0000", "]]"])
    if roll < 0.78:
        return deep(r)
    if roll < 0.8:
        return huge(r)
    if roll < 0.9:
        return bytes(r.getrandbits(8) for _ in range(r.randint(1, 64)))  # invalid UTF-8
    return "".join(chr(r.randint(1, 0xD7FF)) for _ in range(r.randint(0, 200)))


# -- raw websocket frames (RFC 6455), for what a well-behaved client library refuses to send

def frame(payload: bytes, opcode: int = 1, fin: bool = True, rsv: int = 0,
          masked: bool = True, claimed_len: int | None = None) -> bytes:
    n = len(payload) if claimed_len is None else claimed_len
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def bad_frame(r: random.Random, methods: list[str]) -> tuple[str, bytes]:
    """A frame that breaks the framing rules one way or another, and how."""
    kind = r.choice(["opcode", "rsv", "unmasked", "fragments", "ctl-long", "close-bad",
                     "garbage", "lie-len"])
    return kind, _bad_frame(kind, r, methods)


def _bad_frame(kind: str, r: random.Random, methods: list[str]) -> bytes:
    payload = text(r, methods)
    data = payload.encode() if isinstance(payload, str) else payload
    data = data[:4096]
    if kind == "opcode":
        return frame(data, opcode=r.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]))
    if kind == "rsv":
        return frame(data, rsv=r.randint(1, 7))
    if kind == "unmasked":
        return frame(data, masked=False)
    if kind == "fragments":
        half = len(data) // 2
        return frame(data[:half], fin=False) + frame(data[half:], opcode=r.choice([0, 1]))
    if kind == "ctl-long":
        return frame(b"p" * 200, opcode=9)
    if kind == "close-bad":
        return frame(struct.pack("!H", r.choice([0, 999, 1004, 5000])) + b"\xff", opcode=8)
    if kind == "lie-len":
        return frame(data[:10], claimed_len=r.choice([2**40, 2**63 - 1, 2_000_000]))
    return bytes(r.getrandbits(8) for _ in range(r.randint(1, 256)))


def rest_request(r: random.Random, methods: list[str]) -> tuple[str, str, dict[str, str],
                                                                  bytes | None]:
    """(HTTP method, path with query, headers, body) of a REST call, often malformed."""
    name = r.choice(methods) if methods and r.random() < 0.9 else str(scalar(r))
    verb = r.choice(["GET", "POST", "POST", "PUT", "DELETE"])
    headers: dict[str, str] = {}
    if r.random() < 0.8:
        headers["Content-Type"] = r.choice(["application/json", "text/plain",
                                            "application/x-www-form-urlencoded",
                                            "application/json; charset=latin1"])
    if r.random() < 0.3:
        headers["Origin"] = r.choice(["http://evil.example", "null", "http://127.0.0.1"])
    if r.random() < 0.2:
        headers["Cookie"] = "podbridge_session=" + r.choice(["x", "a.b", "", "🍪" * 3])
    body: bytes | None = None
    if verb != "GET":
        payload = text(r, methods) if r.random() < 0.3 else json.dumps(value(r))
        body = payload.encode() if isinstance(payload, str) else payload
    query = "" if r.random() < 0.5 else "?" + "&".join(
        f"{r.choice(KEYS)}={r.choice(['1', 'x', '%ff', '%00', ''])}" for _ in range(3))
    path = "/api/" + "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:200]
    return verb, path + query, headers, body
