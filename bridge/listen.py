"""Where the bridge listens: a TCP address or a unix socket, and what to say when the port
is taken.

``--listen HOST:PORT`` binds TCP (the default port is 9180, beside Cockpit's 9090);
``--listen unix:/PATH`` binds a unix socket (mode 0600, or 0660 with ``socket_group``),
removed again on exit. When the port is taken the bridge names who holds it: a systemd
socket unit (``cockpit.socket`` on a host with Cockpit), else the process, found through
/proc, and says how to pick another address.
"""

from __future__ import annotations

import contextlib
import errno
import grp
import logging
import os
import socket
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bridge.holders import Holder, find_holders
from bridge.paths import DEFAULT_PORT, parse_listen

logger = logging.getLogger(__name__)

UNIX_PREFIX = "unix:"
SYSTEM_SOCKET = Path("/run/podbridge/podbridge.sock")


class ListenError(Exception):
    """The bridge cannot listen where it was asked to; the message says why and what to do."""


@dataclass(frozen=True)
class Endpoint:
    """Parsed ``--listen``: ``path`` for a unix socket, else ``host`` and ``port``."""

    host: str = ""
    port: int = 0
    path: Path | None = None

    @classmethod
    def parse(cls, value: str) -> Endpoint:
        if value.startswith(UNIX_PREFIX):
            path = value[len(UNIX_PREFIX):]
            if not path.startswith("/"):
                raise ValueError(f"--listen {value}: the socket's path must be absolute "
                                 f"(unix:/run/podbridge/podbridge.sock)")
            return cls(path=Path(path))
        host, port = parse_listen(value)
        return cls(host=host, port=port)

    def __str__(self) -> str:
        if self.path is not None:
            return f"{UNIX_PREFIX}{self.path}"
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class Listener:
    """The bridge's one site, TCP or unix; ``close()`` removes a unix socket it made."""

    def __init__(self, endpoint: Endpoint, *, socket_group: str | None = None,
                 systemd_address: str | None = None) -> None:
        self.endpoint = endpoint
        self.socket_group = socket_group
        self.systemd_address = systemd_address
        self.port = endpoint.port
        self.scheme = "http"
        self._made_socket = False

    async def check(self) -> None:
        """Fail early, before the bridge starts anything, when the address is taken."""
        if self.endpoint.path is not None:
            _prepare_socket_path(self.endpoint.path, remove_stale=False)
            return
        if self.endpoint.port == 0:
            return
        try:
            infos = socket.getaddrinfo(self.endpoint.host, self.endpoint.port,
                                       type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        except OSError as exc:
            raise ListenError(f"cannot listen on {self.endpoint}: {exc}") from None
        for family, kind, proto, _name, addr in infos:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(addr)
                except OSError as exc:
                    await self._refuse(exc)

    async def _refuse(self, exc: OSError) -> None:
        if exc.errno != errno.EADDRINUSE:
            raise ListenError(f"cannot listen on {self.endpoint}: {exc.strerror}") from None
        holders = await find_holders(self.endpoint.port, self.systemd_address)
        raise ListenError(port_taken_message(self.endpoint, holders)) from None

    async def start(self, runner: web.AppRunner,
                    ssl_context: ssl.SSLContext | None = None) -> None:
        if self.endpoint.path is not None:
            await self._start_unix(runner, self.endpoint.path)
            return
        self.scheme = "https" if ssl_context is not None else "http"
        site = web.TCPSite(runner, self.endpoint.host, self.endpoint.port,
                           ssl_context=ssl_context)
        try:
            await site.start()
        except OSError as exc:
            await self._refuse(exc)
        if self.port == 0:
            self.port = int(runner.addresses[0][1])

    async def _start_unix(self, runner: web.AppRunner, path: Path) -> None:
        _prepare_socket_path(path)
        mode = 0o660 if self.socket_group else 0o600
        # The socket is made under a umask that leaves no window with wider rights (the
        # umask is the process's: for the moment of the bind only, before any client).
        old = os.umask(0o777 & ~mode)
        try:
            site = web.UnixSite(runner, str(path))
            await site.start()
        except OSError as exc:
            raise ListenError(f"cannot listen on unix:{path}: {exc.strerror}") from None
        finally:
            os.umask(old)
        self._made_socket = True
        if self.socket_group:
            try:
                gid = grp.getgrnam(self.socket_group).gr_gid
            except KeyError:
                await self.close()
                raise ListenError(f"socket_group {self.socket_group!r}: no such group") from None
            os.chown(path, -1, gid)
        os.chmod(path, mode)
        logger.info("listening on unix:%s (mode %o%s)", path, mode,
                    f", group {self.socket_group}" if self.socket_group else "")

    async def close(self) -> None:
        path = self.endpoint.path
        if self._made_socket and path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._made_socket = False

    def url(self, token: str) -> str:
        if self.endpoint.path is not None:
            return str(self.endpoint)
        return f"{self.scheme}://{Endpoint(self.endpoint.host, self.port)}/?token={token}"


def _prepare_socket_path(path: Path, remove_stale: bool = True) -> None:
    """Make the folder; remove a stale socket; refuse a live one or a file that is not one."""
    if remove_stale:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    if not (path.exists() or path.is_symlink()):
        return
    if not stat.S_ISSOCK(path.lstat().st_mode):
        raise ListenError(f"cannot listen on unix:{path}: it exists and is not a socket; "
                          f"remove it or choose another path")
    if _answers(path):
        raise ListenError(f"cannot listen on unix:{path}: another process serves it (a "
                          f"podbridge already running?); stop it or choose another path "
                          f"with --listen unix:/OTHER/PATH")
    if remove_stale:
        path.unlink()  # a stale socket, left by a bridge that was killed


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect(str(path))
        except OSError:
            return False
        return True


def free_port_near(host: str, port: int, tries: int = 20) -> int | None:
    """The first port after ``port`` on ``host`` that can be bound right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for candidate in range(port + 1, min(port + 1 + tries, 65536)):
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, candidate))
            except OSError:
                continue
            return candidate
    return None


def port_taken_message(endpoint: Endpoint, holders: list[Holder]) -> str:
    """What `podbridge serve` prints when its port is taken: who holds it, and what to do."""
    lines = [f"podbridge: cannot listen on {endpoint}: the port is already in use"]
    cockpit = any(h.is_cockpit for h in holders)
    if holders:
        lines[0] += " by " + "; ".join(h.describe() for h in holders) + "."
    else:
        lines[0] += " (by a process this user cannot see)."
    if cockpit:
        lines.append("  That is Cockpit's web console. podbridge runs beside it, or inside it "
                     "as one of its pages:")
    else:
        lines.append("  Choose another address:")
    near = free_port_near(endpoint.host, endpoint.port)
    port_hint = near if near is not None else DEFAULT_PORT + 1
    lines.append(f"    podbridge serve --listen {Endpoint(endpoint.host, port_hint)}"
                 + ("        (free right now)" if near is not None else ""))
    lines.append(f"    podbridge serve --listen unix:{SYSTEM_SOCKET}"
                 + ("   (then `make install` puts podbridge's page in Cockpit's menu)"
                    if cockpit else ""))
    lines.append("  or set `listen = \"...\"` in the settings file (or PODBRIDGE_LISTEN).")
    return "\n".join(lines)
