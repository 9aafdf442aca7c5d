"""Root connecting to a user's socket as the user: only the connecting thread switches ids."""

from __future__ import annotations

import os
import socket
import struct
import threading
from pathlib import Path

import pytest

from bridge.userbus import connect_as

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="switching ids needs root")
NOBODY = 65534


def test_connect_as_switches_only_its_own_thread(tmp_path: Path) -> None:
    # The user's folder, entered through a descriptor (as UserMessageBus does): root's
    # tmp_path above it is closed to the user.
    folder = tmp_path / "user"
    folder.mkdir()
    os.chown(folder, NOBODY, NOBODY)
    folder.chmod(0o700)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / "bus"))
    os.chown(folder / "bus", NOBODY, NOBODY)
    server.listen(64)
    handle = os.open(folder, os.O_PATH | os.O_DIRECTORY)
    seen: set[int] = set()
    spins = 0
    stop = threading.Event()

    def watch() -> None:
        # With glibc's seteuid this thread would see the user's uid (0.5 s of spinning
        # beside 300 connects caught it every time).
        nonlocal spins
        while not stop.is_set():
            seen.add(os.geteuid())
            spins += 1

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(300):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                connect_as(client, f"/proc/self/fd/{handle}/bus", NOBODY, NOBODY)
                peer, _ = server.accept()
                with peer:
                    pid, uid, gid = struct.unpack(
                        "3i", peer.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                assert (pid, uid, gid) == (os.getpid(), NOBODY, NOBODY)
    finally:
        stop.set()
        watcher.join()
        os.close(handle)
        server.close()
    assert spins > 0          # the watcher ran while the connects did
    assert seen == {0}
    assert (os.geteuid(), os.getegid()) == (0, 0)


def test_connect_as_reports_the_users_refusal(tmp_path: Path) -> None:
    """The user may not reach root's socket: the error is the connect's, and this
    thread's ids are root's afterwards."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "root-only"))
    (tmp_path / "root-only").chmod(0o600)
    server.listen(1)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client, \
                pytest.raises(PermissionError):
            connect_as(client, str(tmp_path / "root-only"), NOBODY, NOBODY)
    finally:
        server.close()
    assert (os.geteuid(), os.getegid()) == (0, 0)
