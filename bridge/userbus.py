"""Root on a user's bus: connect as the user, so the user's dbus-daemon lets root in.

A user's bus (``/run/user/UID/bus``) runs Debian's stock session.conf: it takes root's
EXTERNAL authentication and then drops the connection, since only its own user may talk on
it. The bus reads the peer's credentials once, when the socket is connected
(SO_PEERCRED holds the effective uid and gid of the ``connect()`` caller), and EXTERNAL
then claims that uid. So root connects with its effective uid and gid switched to the
user's for the length of one ``connect()`` (a unix socket connects at once), switches back,
and authenticates claiming the user's uid. The connection is the user's from then on:
systemd's user manager answers it as it answers ``systemctl --user``.

While the ids are switched, every thread of the process runs with them (glibc applies
setresuid to all threads); the window is one system call.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.auth import AuthExternal

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def effective_ids(uid: int, gid: int) -> Iterator[None]:
    """Run the block with effective uid/gid ``uid``/``gid`` (root only), then back."""
    old_uid, old_gid = os.geteuid(), os.getegid()
    os.setegid(gid)
    try:
        os.seteuid(uid)
    except BaseException:
        os.setegid(old_gid)
        raise
    try:
        yield
    finally:
        os.seteuid(old_uid)
        os.setegid(old_gid)


class _Connected(socket.socket):
    """A socket already connected: asyncio's ``sock_connect`` then has nothing to do."""

    __slots__ = ()

    def connect(self, address: Any) -> None:
        return None


class UserMessageBus(MessageBus):
    """A :class:`MessageBus` to the bus of user ``uid``, opened by root."""

    def __init__(self, bus_address: str, uid: int, gid: int) -> None:
        super().__init__(bus_address=bus_address, bus_type=BusType.SESSION,
                         auth=AuthExternal(uid=uid))
        self._as_ids = (uid, gid)

    def _create_socket_for_transport(  # type: ignore[override]
            self, transport: str, options: dict[str, str]) -> tuple[socket.socket, Any, Any]:
        sock, stream, address = super()._create_socket_for_transport(transport, options)
        if transport != "unix":
            return sock, stream, address
        try:
            target: Any = address
            folder = -1
            if isinstance(address, str):
                # Opened as root: the user need not be able to walk the path's parents
                # (a folder of root's holding a test world, say); the user's own folder
                # is then entered through the descriptor, with the user's rights.
                folder = os.open(os.path.dirname(address) or ".", os.O_PATH | os.O_DIRECTORY)
                target = f"/proc/self/fd/{folder}/{os.path.basename(address)}"
            try:
                with effective_ids(*self._as_ids):
                    sock.connect(target)
            finally:
                if folder >= 0:
                    os.close(folder)
        except BaseException:
            stream.close()
            sock.close()
            raise
        sock.__class__ = _Connected
        return sock, stream, address


def bus_for(address: str, bus_type: BusType, as_uid: int | None) -> MessageBus:
    """The MessageBus to ``address``; as user ``as_uid`` when root serves another user."""
    if as_uid is None or os.geteuid() != 0 or as_uid == 0:
        return MessageBus(bus_address=address, bus_type=bus_type)
    try:
        import pwd

        gid = pwd.getpwuid(as_uid).pw_gid
    except KeyError:
        gid = as_uid
    return UserMessageBus(address, as_uid, gid)


def bus_owner(address: str) -> int | None:
    """Root pointed at a user's bus (``unix:path=``): the uid owning the socket, whom root
    then connects as; None when not root, not a path, or root's own."""
    if os.geteuid() != 0:
        return None
    for part in address.split(";")[0].split(","):
        if part.startswith("unix:path="):
            try:
                uid = os.stat(part.removeprefix("unix:path=")).st_uid
            except OSError:
                return None
            return uid or None
    return None
