"""The Podman event reader leaves nothing open: not when Podman refuses, not when the
bridge stops while it waits for Podman's answer (the descriptor check of tests/conftest.py
fails a test that leaves a socket behind)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path

import pytest

from bridge.podman_stream import EventReader, StreamError


def sockets() -> set[str]:
    """This process's open sockets."""
    found = set()
    for fd in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):
            if (target := str(fd.readlink())).startswith("socket:"):
                found.add(target)
    return found


async def test_a_refused_connect_leaves_no_socket(tmp_path: Path) -> None:
    bound = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bound.bind(str(tmp_path / "podman.sock"))        # bound, not listening: refused
    try:
        before = sockets()
        for path in (tmp_path / "podman.sock", tmp_path / "absent.sock"):
            reader = EventReader(str(path))
            with pytest.raises(StreamError) as failed:
                await reader.open()
            # Closed by the reader itself, not by the garbage collector once the error
            # (a caller may keep it, a log record does) is dropped.
            assert sockets() == before, failed.value
            await reader.close()
    finally:
        bound.close()


async def test_stopping_while_podman_has_not_answered_leaves_no_socket(
        tmp_path: Path) -> None:
    path = str(tmp_path / "podman.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    server.setblocking(False)
    loop = asyncio.get_running_loop()
    before = sockets()
    reader = EventReader(path)
    opening = asyncio.create_task(reader.open())
    peer, _ = await loop.sock_accept(server)     # connected; Podman "never answers"
    try:
        await loop.sock_recv(peer, 4096)          # the request arrived
        assert not opening.done()
        opening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await opening
        assert opening.cancelled()
        await reader.close()
        # What is left beside the sockets open before is the server's end of the
        # connection (this test's own).
        assert sockets() - before == {f"socket:[{os.fstat(peer.fileno()).st_ino}]"}
    finally:
        peer.close()
        server.close()
