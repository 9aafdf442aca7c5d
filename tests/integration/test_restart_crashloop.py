"""Crash loops in the real world: Podman's own --restart=always loop, and a unit's."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.demo import install_unit, notify_unit
from bridge.sandbox.images import HTTPD_BROKEN
from tests.integration.bridgefix import base_url, wait_for
from tests.integration.test_restart_support import (
    events,
    manager_bridge,
    remove,
    start_manager,
    unique,
    wait_event,
)

logger = logging.getLogger(__name__)


async def test_always_container_exiting_at_once_is_a_crashloop(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique("loop")
    async with manager_bridge(world, tmp_path / "state", monkeypatch, name) as bridge:
        started = time.monotonic()
        await asyncio.to_thread(world.podman, "run", "-d", "--name", name,
                                "--restart=always", HTTPD_BROKEN)
        ev = await wait_event(bridge, "restart.crashloop", name, timeout=30)
        took = time.monotonic() - started
        deaths = events(bridge, "container.died", name)
        logger.info("crash loop of %s raised after %.2fs and %d deaths", name, took,
                    len(deaths))
        assert ev.source == "plugin/restart_manager"
        assert ev.data["reason"] == "deaths" and ev.data["unit"] is None
        assert ev.data["count"] >= 5 and ev.data["threshold"] == 5
        assert all(d.data["exit_code"] == 1 for d in deaths)
        # Podman restarts it itself (no backoff); the manager only reports.
        assert not events(bridge, "restart.scheduled", name)
        async with BridgeClient(base_url(bridge), bridge.token) as client:
            row = await client.call("restart.status", {"name": name})
            assert row["crashloop"] is True and row["policy"] == "always"
            assert row["last_exit_code"] == 1
            # Raised once per episode, however long Podman keeps looping: five more deaths
            # after the alarm, and a marker behind them that the manager has reached (it
            # reads in order), so it has judged them all.
            await wait_for(lambda: sum(1 for d in events(bridge, "container.died", name)
                                       if d.seq > ev.seq) >= 5, timeout=60,
                           what="five more deaths in Podman's loop")
            marker = bridge.bus.publish("container.test_marker", "test", name, {"id": ""})
            assert bridge.plugins is not None
            manager = bridge.plugins.instance("restart_manager")
            await wait_for(lambda: manager._sub.last_seq >= marker.seq,
                           what="the restart manager to reach the marker")
            assert len(events(bridge, "restart.crashloop", name)) == 1
            row = await client.call("restart.reset", {"name": name})
            assert row["crashloop"] is False
        journal = bridge.store.journal("restart_manager", "restart.crashloop",  # type: ignore[union-attr]
                                       subject=name)
        assert len(journal) == 1


async def test_unit_crashloop_from_nrestarts(world: World, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique("unitloop")
    unit = f"{name}.service"
    bridge = await start_manager(world, tmp_path / "state", monkeypatch, crashloop_count=3)
    try:
        text = notify_unit(name, HTTPD_BROKEN).replace(
            "Restart=on-failure", "Restart=on-failure\nRestartSec=200ms")
        await asyncio.to_thread(install_unit, world, unit, text, False)
        await asyncio.to_thread(world.systemctl, "start", "--no-block", unit)
        ev = await wait_event(bridge, "restart.crashloop", name, timeout=60)
        logger.info("unit crash loop: %s", ev.data)
        assert ev.data["unit"] == unit
        assert ev.data["reason"] in ("n-restarts", "start-limit-hit")
        # systemd restarts it, not the manager; and its deaths are not counted twice.
        assert not events(bridge, "restart.scheduled", name)
        assert len(events(bridge, "restart.crashloop", name)) == 1
    finally:
        await asyncio.to_thread(world.systemctl, "stop", unit, check=False)
        await asyncio.to_thread(world.systemctl, "reset-failed", unit, check=False)
        (world.unit_dir / unit).unlink(missing_ok=True)
        await asyncio.to_thread(world.systemctl, "daemon-reload")
        await remove(world, name)
        await bridge.stop()
