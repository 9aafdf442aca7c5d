"""The sources against a real Podman and a real systemd: what reaches the bus, in order,
without loss or doubles, across restarts of Podman's service and of D-Bus."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.tasks import within
from tests.helpers import unique
from tests.integration.bridgefix import start_bridge, until_stopped, wait_for

IMAGE = "localhost/podbridge/httpd:v1"


async def test_container_lifecycle_in_order_with_exit_code(world: Any, bridge: Bridge,
                                                           client: BridgeClient) -> None:
    name = unique("life")
    events: list[dict[str, Any]] = []

    async def watch() -> None:
        async for ev in client.events(["container.*"]):
            if ev["subject"] == name:
                events.append(ev)
                if ev["type"] == "container.remove":
                    return

    subscribers = bridge.bus.subscriber_count
    task = asyncio.create_task(watch())
    # The subscription exists before the container is made (a wait for it, not a pause).
    await wait_for(lambda: bridge.bus.subscriber_count > subscribers,
                   what="the client to subscribe")
    await asyncio.to_thread(world.podman, "run", "--name", name, IMAGE, "sh", "-c", "exit 3",
                            check=False)
    await asyncio.to_thread(world.podman, "rm", name)
    await within(task, 30)
    types = [e["type"] for e in events]
    for earlier, later in (("container.create", "container.start"),
                           ("container.start", "container.died"),
                           ("container.died", "container.remove")):
        assert types.index(earlier) < types.index(later), types
    died = next(e for e in events if e["type"] == "container.died")
    assert died["data"]["exit_code"] == 3
    assert died["source"] == "podman" and died["data"]["image"] == IMAGE
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # The live model followed.
    assert bridge.state.find_container(name) is None


async def test_state_snapshot_follows_events(world: Any, bridge: Bridge,
                                             client: BridgeClient) -> None:
    name = unique("snap")
    await asyncio.to_thread(world.podman, "run", "-d", "--name", name,
                            "--restart", "on-failure:2", IMAGE, "sleep", "600")
    try:
        await wait_for(lambda: (c := bridge.state.find_container(name)) is not None
                       and c["state"] == "running" and c["restart_policy"] is not None,
                       what="the container in the model")
        snap = await client.call("state.get")
        row = next(c for c in snap["containers"] if c["name"] == name)
        assert row["state"] == "running" and row["restart_policy"] == "on-failure:2"
        assert snap["seq"] >= 1
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", "-t", "0", name)


def write_unit(world: Any, name: str, body: str) -> Path:
    path = Path(world.unit_dir) / name
    path.write_text(body)
    return path


async def test_unit_and_job_events(world: Any, bridge: Bridge, client: BridgeClient) -> None:
    unit = unique("oneshot") + ".service"
    path = write_unit(world, unit, "[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                      "ExecStart=/bin/true\n")
    try:
        await bridge.systemd.reload()
        got: list[dict[str, Any]] = []

        async def watch() -> None:
            async for ev in client.events(["job.*", "unit.*"]):
                if ev["subject"] == unit:
                    got.append(ev)
                    if any(e["type"] == "job.done" for e in got) and any(
                            e["type"] == "unit.state" and e["data"]["active_state"] == "active"
                            for e in got):
                        return

        subscribers = bridge.bus.subscriber_count
        task = asyncio.create_task(watch())
        await wait_for(lambda: bridge.bus.subscriber_count > subscribers,
                       what="the client to subscribe")
        job = await bridge.systemd.start_unit(unit)
        await within(task, 20)
        done = next(e for e in got if e["type"] == "job.done")
        assert done["data"] == {"unit": unit, "job": job, "id": done["data"]["id"],
                                "result": "done"}
        assert bridge.state.units[unit]["active_state"] == "active"
    finally:
        await bridge.systemd.run_job("stop", unit)
        path.unlink()
        await bridge.systemd.reload()


async def test_resume_with_since_misses_nothing_doubles_nothing(
        world: Any, bridge: Bridge, client: BridgeClient) -> None:
    names = [unique("res") for _ in range(6)]
    seq0 = (await client.call("bridge.status"))["seq"]
    for n in names[:3]:
        await asyncio.to_thread(world.podman, "create", "--name", n, IMAGE)
    await wait_for(lambda: all(bridge.state.find_container(n) for n in names[:3]))
    # A client that saw up to seq0 comes back: it gets the three creates, exactly once.
    for n in names[3:]:
        await asyncio.to_thread(world.podman, "create", "--name", n, IMAGE)
    await wait_for(lambda: all(bridge.state.find_container(n) for n in names))
    got: list[dict[str, Any]] = []

    async def run() -> None:
        async for ev in client.events(["container.create"], since=seq0):
            got.append(ev)
            if sum(1 for e in got if e["subject"] in names) == len(names):
                return

    try:
        await within(run(), 20)
        mine = [e["subject"] for e in got if e["subject"] in names]
        assert sorted(mine) == sorted(names)
        assert all(e["seq"] > seq0 for e in got)
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", *names)


async def test_podman_service_restart_loses_no_event(world: Any, bridge: Bridge) -> None:
    names = [unique("svc") for _ in range(4)]
    marker = unique("svc-marker")
    seen: Counter[str] = Counter()
    unlisten = bridge.bus.listen(["container.create"], lambda e, _r: seen.update([e.subject]))
    try:
        await asyncio.to_thread(world.podman, "create", "--name", names[0], IMAGE)
        await wait_for(lambda: seen[names[0]] == 1, what="the first create")
        # Stop the API service: the stream ends. Containers made meanwhile (by the CLI,
        # which does not need the service) must still reach the bus, once, when the
        # socket-activated service is back.
        await asyncio.to_thread(world.systemctl, "stop", "podman.service")
        for n in names[1:]:
            await asyncio.to_thread(world.podman, "create", "--name", n, IMAGE)
        await wait_for(lambda: all(seen[n] >= 1 for n in names), timeout=40,
                       what="every create after the restart")
        # A marker made after them: a repeat of one of them would reach the bus before it.
        await asyncio.to_thread(world.podman, "create", "--name", marker, IMAGE)
        await wait_for(lambda: seen[marker] == 1, timeout=40, what="the marker's create")
        assert all(seen[n] == 1 for n in names), seen
    finally:
        unlisten()
        await asyncio.to_thread(world.podman, "rm", "-f", "--ignore", *names, marker)


async def test_dbus_restart_resubscribes(world: Any, bridge: Bridge) -> None:
    results: list[str] = []
    unit = unique("after-dbus") + ".service"
    path = write_unit(world, unit, "[Service]\nType=oneshot\nExecStart=/bin/true\n")
    unlisten = bridge.bus.listen(["job.done"], lambda e, _r: results.append(e.subject))
    try:
        assert bridge.systemd_source is not None
        await asyncio.to_thread(world.systemctl, "restart", "dbus.service")
        await wait_for(lambda: not bridge.systemd_source.connected, timeout=10,
                       what="the bridge to notice D-Bus went away")
        await wait_for(lambda: bridge.systemd_source.connected, timeout=30,
                       what="the bridge to reconnect to D-Bus")
        await bridge.systemd.reload()
        await bridge.systemd.start_unit(unit)
        await wait_for(lambda: unit in results, what="job.done after the reconnect")
    finally:
        unlisten()
        path.unlink()


async def test_a_reboot_before_any_event_loses_no_event(
        fresh_world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge's stream opens, the world reboots before Podman sent it one event: the
    refresh Podman writes at the new boot still reaches the bus. (Resumed without a
    ``since``, the stream would start at the tail of the events log, after the refresh
    that the first Podman command of the new boot already wrote.)"""
    w = fresh_world
    async with until_stopped(start_bridge(w, tmp_path / "state", monkeypatch)) as bridge:
        source = bridge.podman_source
        assert source is not None and source.last_ns == 0
        await asyncio.to_thread(w.reboot)
        await wait_for(lambda: any(e.type == "system.refresh" for e in bridge.bus.replay(0)),
                       60, what="Podman's refresh after the reboot")
        refreshes = [e for e in bridge.bus.replay(0) if e.type == "system.refresh"]
        assert len(refreshes) == 1
