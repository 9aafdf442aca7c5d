"""A running bridge, found and called with the standard library only.

A client command (``podbridge auto-update``) that finds a bridge running for this user
hands its work to it: the bridge has Podman, D-Bus and its plugins loaded already, so the
command pays for Python and ``http.client`` only, not for aiohttp, pydantic and the
plugins. The bridge is found as ``podbridge serve`` would place it: ``PODBRIDGE_LISTEN``,
``PODBRIDGE_STATE_DIR``, ``PODBRIDGE_TOKEN_FILE``, then the same keys of the TOML settings
file (``$PODBRIDGE_CONFIG`` or the default path), then the defaults; the token may also
come from ``$PODBRIDGE_TOKEN``. No token readable, or nobody listening: no bridge.

HTTP is spoken over a plain socket (one request, ``Connection: close``): ``http.client``
pulls in the email package and would double this module's import time.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError
from bridge.paths import DEFAULT_LISTEN, default_config_file, default_state_dir, parse_listen


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    token: str


def _file_settings() -> dict[str, Any]:
    import tomllib

    path = os.environ.get("PODBRIDGE_CONFIG") or str(default_config_file())
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, ValueError):
        return {}


def find_bridge() -> Target | None:
    """Where this user's bridge would listen, and its token; None without a token."""
    env = os.environ
    keys = ("LISTEN", "STATE_DIR", "TOKEN_FILE")
    given = {k: env.get(f"PODBRIDGE_{k}") for k in keys}
    if not all(given.values()):
        conf = _file_settings()
        for k in keys:
            if not given[k] and isinstance(conf.get(k.lower()), str):
                given[k] = conf[k.lower()]
    try:
        host, port = parse_listen(given["LISTEN"] or DEFAULT_LISTEN)
    except ValueError:
        return None
    token = env.get("PODBRIDGE_TOKEN")
    if not token:
        path = (Path(given["TOKEN_FILE"]) if given["TOKEN_FILE"] else
                Path(given["STATE_DIR"] or default_state_dir()) / "token")
        try:
            token = path.read_text().strip()
        except OSError:
            return None
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return Target(host, port, token) if token else None


class BridgeUnreachable(Exception):
    """Nobody (or no bridge) answers at the address."""


def _post(target: Target, path: str, body: bytes, timeout: float | None
          ) -> tuple[int, bytes]:
    """One HTTP/1.1 POST; the status and the body of the answer."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            f"Authorization: Bearer {target.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection((target.host, target.port), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
    raw = b"".join(chunks)
    header, _, payload = raw.partition(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError):
        raise BridgeUnreachable(f"{target.host}:{target.port} does not speak HTTP") from None
    if any(line.lower().replace(b" ", b"") == b"transfer-encoding:chunked" for line in lines):
        payload = _unchunk(payload)
    return status, payload


def _unchunk(data: bytes) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        eol = data.index(b"\r\n", pos)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[eol + 2:eol + 2 + size])
        pos = eol + 2 + size + 2


def call(target: Target, method: str, params: dict[str, Any] | None = None,
         timeout: float | None = None) -> Any:
    """``method`` through the bridge's REST API; its data, or BridgeError with the bridge's
    code and message. BridgeUnreachable when nothing answers there."""
    try:
        status, raw = _post(target, f"/api/{method}", json.dumps(params or {}).encode(),
                            timeout)
    except (ConnectionRefusedError, FileNotFoundError, socket.gaierror) as exc:
        raise BridgeUnreachable(f"{target.host}:{target.port}: {exc}") from None
    try:
        answer = json.loads(raw)
        ok = answer["ok"]
    except (ValueError, TypeError, KeyError):
        raise BridgeUnreachable(f"{target.host}:{target.port} is not a bridge "
                                f"(HTTP {status})") from None
    if not ok:
        error = answer.get("error") or {}
        raise BridgeError(str(error.get("message", "")), error.get("code", "failed"))
    return answer.get("data")
