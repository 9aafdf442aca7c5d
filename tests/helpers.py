"""Small helpers shared by the integration, browser and bench tests."""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from bridge.sandbox import World
from bridge.sandbox.leftovers import HostSnapshot, leftovers
from bridge.sandbox.registry import free_port

__all__ = ["checked_world", "fetch", "free_port", "unique"]


@contextmanager
def checked_world(path: Path, whose: str, flavour: str | None = None, *,
                  users: Sequence[str] = ()) -> Iterator[World]:
    """A world (of ``flavour``, the default one if None; with ``users``, see
    bridge.sandbox.users) booted in ``path``, torn down after, and checked to leave
    nothing behind on the machine (processes, mounts, cgroups, network, files)."""
    before = HostSnapshot.take()
    w = World(path, flavour=flavour, users=users).up()
    try:
        yield w
    finally:
        w.down()
    left = leftovers(w, before)
    assert not left, f"{whose} world left behind: {left}"


def unique(prefix: str) -> str:
    """A name no other test (or earlier run) uses: ``prefix-<8 hex>``."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def fetch(url: str, timeout: float = 10.0) -> str:
    """GET ``url``, retrying while the container is still starting its server."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
