"""Backoff restarts and health restarts, by the manager, in the real world."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bridge.events import Event
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_BROKEN, SLEEP
from tests.integration.bridgefix import wait_for
from tests.integration.test_restart_support import (
    events,
    manager_bridge,
    unique,
    wait_event,
)

logger = logging.getLogger(__name__)

BASE = 0.4


def at(event: Event) -> float:
    return datetime.fromisoformat(event.time.replace("Z", "+00:00")[:26]).timestamp()


async def test_labelled_container_backs_off_then_gives_up(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique("backoff")
    async with manager_bridge(world, tmp_path / "state", monkeypatch, name,
                              base_delay=BASE) as bridge:
        await asyncio.to_thread(world.podman, "run", "-d", "--name", name,
                                "--label", "io.podbridge.restart=on-failure:3", HTTPD_BROKEN)
        gave_up = await wait_event(bridge, "restart.gave_up", name, timeout=60)
        mine = [e for e in bridge.bus.replay(0) if e.subject == name and (
            e.type.startswith("restart.") or e.type in ("container.died",
                                                        "container.start"))]
        trail = [(e.type, e.data.get("attempt")) for e in mine]
        logger.info("trail: %s", trail)
        assert in_order(trail) == EXPECTED_TRAIL, trail
        delays = [e.data["delay"] for e in mine if e.type == "restart.scheduled"]
        assert delays == [BASE, 2 * BASE, 4 * BASE]
        # The delays really were waited: each start follows its died by at least them.
        died = [at(e) for e in mine if e.type == "container.died"]
        starts = [at(e) for e in mine if e.type == "container.start"][1:]
        gaps = [s - d for d, s in zip(died, starts, strict=False)]
        logger.info("died -> start gaps: %s", [f"{g:.2f}" for g in gaps])
        # What backoff promises is a lower bound per attempt (a busy machine may add any
        # amount on top), not an ordering of the measured gaps.
        assert all(g >= d - 0.05 for g, d in zip(gaps, delays, strict=True)), gaps
        assert gave_up.data == {"reason": "exit", "exit_code": 1, "policy": "on-failure:3",
                                "attempts": 3}
        row = await bridge.methods.call("restart.status", {"name": name})
        assert (row["managed_policy"], row["policy"]) == ("on-failure:3", "no")
        assert row["restart_count"] == 3 and row["gave_up"] and row["next_attempt"] is None
        assert row["last_exit_code"] == 1 and row["state"] == "exited"
        # Given up means given up.
        await asyncio.sleep(4 * BASE)
        assert len(events(bridge, "container.start", name)) == 4
        # A user start is a fresh run: the manager backs off from the first delay again.
        await asyncio.to_thread(world.podman, "start", name)
        await wait_for(lambda: len(events(bridge, "restart.scheduled", name)) == 4,
                       what="a new first attempt")
        again = events(bridge, "restart.scheduled", name)[-1]
        assert (again.data["attempt"], again.data["delay"]) == (1, BASE)


EXPECTED_TRAIL: list[tuple[str, object]] = [
    ("container.start", None), ("container.died", None),
    ("restart.scheduled", 1), ("container.start", None), ("restart.performed", 1),
    ("container.died", None),
    ("restart.scheduled", 2), ("container.start", None), ("restart.performed", 2),
    ("container.died", None),
    ("restart.scheduled", 3), ("container.start", None), ("restart.performed", 3),
    ("container.died", None), ("restart.gave_up", None)]


def in_order(trail: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The manager's ``performed`` (published when Podman's start call returns) and
    Podman's start event (read from its event stream) race: put the start first."""
    fixed = list(trail)
    for i in range(len(fixed) - 1):
        if fixed[i][0] == "restart.performed" and fixed[i + 1][0] == "container.start":
            fixed[i], fixed[i + 1] = fixed[i + 1], fixed[i]
    return fixed


async def test_user_stop_is_not_restarted(world: World, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Stops through the CLI and the REST API, a few times each (Podman 4.3 writes its stop
    event only when it wins a race), and a kill: none is restarted by the manager."""
    name = unique("userstop")
    async with manager_bridge(world, tmp_path / "state", monkeypatch, name,
                              base_delay=BASE) as bridge:
        await asyncio.to_thread(world.podman, "run", "-d", "--name", name,
                                "--label", "io.podbridge.restart=always", SLEEP)
        await wait_event(bridge, "container.start", name)
        assert bridge.plugins is not None
        manager = bridge.plugins.instance("restart_manager")
        how = ["cli", "api", "cli", "api", "kill"]
        for round_, way in enumerate(how, 1):
            if way == "cli":
                await asyncio.to_thread(world.podman, "stop", "-t", "2", name)
            elif way == "api":
                await bridge.podman.stop_container(name, timeout=2)
            else:
                await asyncio.to_thread(world.podman, "kill", name)
            await wait_for(lambda n=round_: len(events(bridge, "container.died", name)) == n,
                           what=f"died #{round_}")
            # The manager's verdict on this death, not a pause: it has taken the death for
            # a user's stop with no restart pending or under way, or it restarted it.
            await wait_for(lambda: settled(manager, name) or bool(
                events(bridge, "restart.performed", name)),
                what=f"the manager's verdict on the {way}", timeout=60)
            assert not events(bridge, "restart.performed", name), way
            row = await bridge.methods.call("restart.status", {"name": name})
            assert row["user_stopped"] is True and row["next_attempt"] is None, (way, row)
            if round_ < len(how):
                await asyncio.to_thread(world.podman, "start", name)
                await wait_for(lambda n=round_: len(events(
                    bridge, "container.start", name)) == n + 1, what="the user's start")
                # On the bus is not yet handled: a marker published after the start has
                # reached the manager only once it has handled the start (it reads in order).
                marker = bridge.bus.publish("container.test_marker", "test", name, {"id": ""})
                await wait_for(lambda m=marker.seq: manager._sub.last_seq >= m,
                               what="the restart manager to handle the user's start")
                row = await bridge.methods.call("restart.status", {"name": name})
                assert row["user_stopped"] is False
        stops = [e.data.get("reason") for e in events(bridge, "restart.cancelled", name)]
        logger.info("stop events seen: %d of %d stops; restarts cancelled: %s",
                    len(events(bridge, "container.stop", name)), 4, stops)


def settled(manager: Any, name: str) -> bool:
    """The manager holds ``name`` as stopped by its user, with no restart pending, under
    way, or left on a timer."""
    rec = manager.engine.records.get(name)
    return bool(rec is not None and rec.user_stopped and rec.pending is None
                and rec.in_flight is None and not any(k[0] == name for k in manager._timers))


async def test_unhealthy_container_is_restarted(world: World, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    name = unique("unhealthy")
    async with manager_bridge(world, tmp_path / "state", monkeypatch, name,
                              base_delay=BASE) as bridge:
        await asyncio.to_thread(
            world.podman, "run", "-d", "--name", name,
            "--label", "io.podbridge.restart-on=unhealthy",
            "--health-cmd", "exit 1", "--health-interval", "1s", "--health-retries", "1",
            SLEEP)
        performed = await wait_event(bridge, "restart.performed", name, timeout=30)
        assert performed.data["reason"] == "unhealthy"
        assert performed.data["action"] == "restart"
        await wait_event(bridge, "container.restart", name)
        unhealthy = [e for e in events(bridge, "container.health_status", name)
                     if e.data["health"] == "unhealthy"]
        assert unhealthy and unhealthy[0].seq < performed.seq
        # Podman's restart (restart, died, init, start) is neither a crash nor a user stop.
        await wait_for(lambda: len(events(bridge, "container.start", name)) == 2)
        # A positive marker instead of a pause: an event published after the restart's
        # events has been handed to the manager, so it has handled all of them.
        marker = bridge.bus.publish("container.test_marker", "test", name, {"id": ""})
        assert bridge.plugins is not None
        manager = bridge.plugins.instance("restart_manager")
        await wait_for(lambda: manager._sub.last_seq >= marker.seq,
                       what="the restart manager to reach the marker")
        trail = [e.type for e in bridge.bus.replay(0) if e.subject == name and
                 e.type not in ("container.exec_died", "container.health_status")]
        logger.info("health restart trail: %s", trail)
        row = await bridge.methods.call("restart.status", {"name": name})
        assert row["recent_deaths"] == 0 and row["user_stopped"] is False, trail
        assert row["restart_on_unhealthy"] is True
