"""A re-list of Podman's containers runs beside the event stream (after a suspected gap):
what an event did while Podman was making the list is not undone by the list."""

from __future__ import annotations

import asyncio
from typing import Any

from bridge.bus import Bus
from bridge.state import State
from bridge.tasks import within

OLD, NEW, GONE = "a" * 64, "b" * 64, "c" * 64


class SlowPodman:
    """Pure logic: a Podman whose container list was made before ``release`` (the list
    holds what was there then) and is answered only after it."""

    def __init__(self, listed: list[dict[str, Any]]) -> None:
        self.listed = listed
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def containers(self, all: bool = False) -> list[dict[str, Any]]:
        self.asked.set()
        await self.release.wait()
        return self.listed

    async def pods(self) -> list[dict[str, Any]]:
        return []

    async def images(self) -> list[dict[str, Any]]:
        return []

    async def inspect_container(self, cid: str) -> dict[str, Any]:
        raise LookupError(cid)   # no inspect answers: the test reads the events' records


def entry(cid: str, name: str, state: str = "running") -> dict[str, Any]:
    return {"Id": cid, "Names": [name], "Image": "img", "State": state}


def container_event(bus: Bus, action: str, cid: str, name: str, state: str) -> None:
    bus.publish(f"container.{action}", "podman", name,
                {"id": cid, "image": "img", "state": state, "labels": {}, "pod_id": "",
                 "time": "2026-11-30T03:00:00Z"})


async def test_events_during_a_relist_win_over_the_older_list() -> None:
    bus = Bus()
    state = State(bus)
    podman = SlowPodman([entry(OLD, "old"), entry(GONE, "gone")])
    try:
        relist = asyncio.create_task(state.resync_podman(podman))  # type: ignore[arg-type]
        await within(podman.asked.wait(), 10)
        # While Podman answers: one container made and started, one removed.
        container_event(bus, "create", NEW, "new", "created")
        container_event(bus, "start", NEW, "new", "running")
        container_event(bus, "remove", GONE, "gone", "removed")
        podman.release.set()
        await within(relist, 10)
        assert {c["name"]: c["state"] for c in state.containers.values()} == {
            "old": "running", "new": "running"}
        # Once the re-list is over, events are taken as before.
        container_event(bus, "remove", OLD, "old", "removed")
        assert set(state.containers) == {NEW}
    finally:
        await state.aclose()


async def test_a_relist_without_events_meanwhile_is_the_list() -> None:
    bus = Bus()
    state = State(bus)
    container_event(bus, "create", GONE, "gone", "created")   # before: the list replaces it
    podman = SlowPodman([entry(OLD, "old", "exited")])
    podman.release.set()
    try:
        await within(state.resync_podman(podman), 10)  # type: ignore[arg-type]
        assert {c["name"]: c["state"] for c in state.containers.values()} == {
            "old": "exited"}
    finally:
        await state.aclose()


async def test_two_relists_at_once_each_keep_what_events_did() -> None:
    """A reconnect's re-list can begin while a gap's is still waiting for Podman."""
    bus = Bus()
    state = State(bus)
    first = SlowPodman([entry(OLD, "old")])
    second = SlowPodman([entry(OLD, "old")])
    try:
        one = asyncio.create_task(state.resync_podman(first))  # type: ignore[arg-type]
        await within(first.asked.wait(), 10)
        two = asyncio.create_task(state.resync_podman(second))  # type: ignore[arg-type]
        await within(second.asked.wait(), 10)
        first.release.set()
        await within(one, 10)
        container_event(bus, "create", NEW, "new", "created")   # the second still lists
        second.release.set()
        await within(two, 10)
        assert {c["name"] for c in state.containers.values()} == {"old", "new"}
    finally:
        await state.aclose()
