"""Who is on the other end of a unix-socket connection (SO_PEERCRED), and how far to trust it.

Cockpit's page reaches the bridge through a Cockpit channel: the cockpit-bridge process of
the logged-in user (or, with administrative access switched on, its root "superuser"
bridge) connects to the bridge's unix socket. The kernel tells us that process's uid; it
cannot be forged. A peer that is root, or the bridge's own user, could read the token file
anyway, so it is let in as the token's holder without one. Anyone else who can open the
socket (a member of ``socket_group``) is asked for a token like any TCP client.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from aiohttp import web

_UCRED = struct.Struct("3i")


@dataclass(frozen=True)
class PeerCred:
    pid: int
    uid: int
    gid: int


def peer_cred(request: web.Request) -> PeerCred | None:
    """The credentials of a unix-socket peer; None on TCP."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is None or sock.family != socket.AF_UNIX:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    return PeerCred(pid, uid, gid)


def is_unix(request: web.Request) -> bool:
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock is not None and sock.family == socket.AF_UNIX


def trusted_peer(request: web.Request) -> bool:
    """True for a unix-socket peer running as root or as the bridge's own user."""
    cred = peer_cred(request)
    return cred is not None and cred.uid in (0, os.geteuid())
