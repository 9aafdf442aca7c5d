"""Helpers of the restart manager's integration tests (no tests here)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.events import Event
from bridge.sandbox import World
from plugins.restart_manager.plugin import RestartManagerPlugin
from tests.integration.bridgefix import start_bridge, wait_for


def unique(prefix: str) -> str:
    return f"rm-{prefix}-{uuid.uuid4().hex[:6]}"


async def start_manager(world: World, state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                        **config: Any) -> Bridge:
    """A bridge in this process with the restart manager only, configured by ``config``."""
    return await start_bridge(world, state_dir, monkeypatch,
                              {"restart_manager": RestartManagerPlugin},
                              {"restart_manager": config})


@asynccontextmanager
async def manager_bridge(world: World, state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                         *containers: str, **config: Any) -> AsyncIterator[Bridge]:
    """start_manager's bridge for the block; after it, ``containers`` are removed (while
    the manager still runs, as each test did) and the bridge is stopped."""
    bridge = await start_manager(world, state_dir, monkeypatch, **config)
    try:
        yield bridge
    finally:
        await remove(world, *containers)
        await bridge.stop()


def events(bridge: Bridge, type_: str, subject: str | None = None) -> list[Event]:
    """The events of ``type_`` (about ``subject``) still in the bus's ring."""
    return [e for e in bridge.bus.replay(0)
            if e.type == type_ and (subject is None or e.subject == subject)]


async def wait_event(bridge: Bridge, type_: str, subject: str | None = None,
                     timeout: float = 30.0) -> Event:
    await wait_for(lambda: bool(events(bridge, type_, subject)), timeout,
                   what=f"{type_} {subject or ''}")
    return events(bridge, type_, subject)[0]


def states(world: World, names: list[str]) -> dict[str, str]:
    """Podman's state of each container, as the CLI in the world shows it."""
    # .Status: "Up ...", "Exited (N) ..." in Podman 4 and 5 (5's .State says "exited").
    out = world.podman("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout
    found = dict(line.split(None, 1) for line in out.splitlines() if line.strip())
    return {n: found.get(n, "missing").strip() for n in names}


async def remove(world: World, *names: str) -> None:
    """Remove containers, retrying while Podman is busy restarting one of them."""
    for name in names:
        for _ in range(20):
            done = await asyncio.to_thread(world.podman, "rm", "-f", "-t", "0", name,
                                           check=False)
            if done.returncode == 0 or "no such container" in done.stderr.lower():
                break
            await asyncio.sleep(0.25)
