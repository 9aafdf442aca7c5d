"""Root on a user's bus: connect as the user, so the user's dbus-daemon lets root in.

A user's bus (``/run/user/UID/bus``) runs Debian's stock session.conf: it takes root's
EXTERNAL authentication and then drops the connection, since only its own user may talk on
it. The bus reads the peer's credentials once, when the socket is connected
(SO_PEERCRED holds the effective uid and gid of the ``connect()`` caller), and EXTERNAL
then claims that uid. So root connects with its effective uid and gid switched to the
user's for the length of one ``connect()`` (a unix socket connects at once), switches back,
and authenticates claiming the user's uid. The connection is the user's from then on:
systemd's user manager answers it as it answers ``systemctl --user``.

The switch is the calling thread's alone. Linux keeps credentials per thread, but glibc's
``seteuid``/``setegid`` (and so Python's) change them in every thread of the process, as
POSIX asks: while they were switched, the Podman event reader's thread connecting to the
user's ``podman.sock`` through a folder of root's got EACCES, and its socket leaked
(debian12's world, one run in four). So the connect runs on a short thread of its own that
switches only itself with the raw ``setresgid``/``setresuid`` system calls, and ends.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import socket
import threading
from pathlib import Path
from typing import Any

from dbus_fast import BusType
from dbus_fast.aio import MessageBus
from dbus_fast.auth import AuthExternal

logger = logging.getLogger(__name__)


# (setresuid, setresgid) system call numbers: x86_64's own table, and the generic table
# of the newer architectures.
_SETRES_CALLS = {"x86_64": (117, 119), "aarch64": (147, 149), "riscv64": (147, 149)}
_KEEP = -1  # setres*id: leave this id as it is


def _thread_setres(call: int, effective: int) -> None:
    """Set the calling thread's effective uid or gid (``call``), not the process's."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(ctypes.c_long(call), ctypes.c_long(_KEEP), ctypes.c_long(effective),
                    ctypes.c_long(_KEEP)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def connect_as(sock: socket.socket, address: Any, uid: int, gid: int) -> None:
    """``sock.connect(address)`` with effective uid/gid ``uid``/``gid`` (root only), on a
    thread of its own: no other thread of the process ever runs with the user's ids."""
    calls = _SETRES_CALLS.get(platform.machine())
    if calls is None:
        raise OSError(f"switching one thread's ids is not known on {platform.machine()}")
    setresuid, setresgid = calls
    old_uid, old_gid = os.geteuid(), os.getegid()
    failure: list[BaseException] = []

    def switch_and_connect() -> None:
        # A failure to switch back ends with this thread, whose ids die with it.
        try:
            _thread_setres(setresgid, gid)
            try:
                _thread_setres(setresuid, uid)
                try:
                    sock.connect(address)
                finally:
                    _thread_setres(setresuid, old_uid)
            finally:
                _thread_setres(setresgid, old_gid)
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=switch_and_connect, name=f"connect-as-{uid}",
                              daemon=True)
    worker.start()
    worker.join()
    if failure:
        raise failure[0]


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
                connect_as(sock, target, *self._as_ids)
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
    path = bus_path(address) if os.geteuid() == 0 else None
    try:
        return (os.stat(path).st_uid or None) if path is not None else None
    except OSError:
        return None


def bus_path(address: str) -> Path | None:
    """The socket of a D-Bus address's first ``unix:path=`` (None for another kind)."""
    paths = (Path(p.removeprefix("unix:path=")) for p in address.split(";")[0].split(",")
             if p.startswith("unix:path="))
    return next(paths, None)
