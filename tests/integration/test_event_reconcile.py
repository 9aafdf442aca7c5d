"""What the bridge's own reader of Podman's events loses is read again from Podman's log
and still reaches clients and the live model, once, counted in ``bridge.status``.

A test's fault (``bridge.faults.DROPS``) makes the reader lose lines the way Podman's own
journal readers lose entries now and then: the lines are not handed to the bridge at all,
so nothing on the stream shows that they were ever written."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from bridge import faults
from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.sandbox.images import SLEEP
from tests.helpers import unique
from tests.integration.bridgefix import base_url, wait_for
from tests.integration.test_event_burst import tag

TAGS = 60


@pytest.fixture
def lose_every_third_tag() -> Iterator[Counter[str]]:
    """The bridge's reader loses every third ``tag`` event of a ``lost-`` repository; the
    counter says how many it lost."""
    lost: Counter[str] = Counter()

    def drop(line: bytes) -> bool:
        if b"lost-" not in line:
            return False
        ev = json.loads(line)
        name = str((ev.get("Actor") or {}).get("Attributes", {}).get("name") or "")
        if ev.get("Action") != "tag" or not name.startswith("localhost/lost-"):
            return False
        lost["seen"] += 1
        if lost["seen"] % 3:
            return False
        lost["dropped"] += 1
        return True

    faults.DROPS["podman-event"] = drop
    try:
        yield lost
    finally:
        del faults.DROPS["podman-event"]


async def test_events_the_reader_lost_reach_clients_late_and_once(
        world: Any, bridge: Bridge, lose_every_third_tag: Counter[str]) -> None:
    repo = f"localhost/{unique('lost')}"
    got: Counter[str] = Counter()
    async with BridgeClient(base_url(bridge), bridge.token) as client:
        async def reader() -> None:
            async for ev in client.events(["image.tag", "image.untag"]):
                if str(ev["subject"]).startswith(repo):
                    got[f"{ev['type']} {ev['subject']}"] += 1

        task = asyncio.create_task(reader())
        try:
            await wait_for(lambda: bridge.bus.subscriber_count >= 1,
                           what="the client's subscription")
            conn = aiohttp.UnixConnector(path=str(world.podman_socket), limit=1)
            async with aiohttp.ClientSession(connector=conn) as s:
                for i in range(TAGS):
                    await tag(s, SLEEP, repo, f"t{i}")
                # A marker after them: once it has come, the stream has passed them all.
                await tag(s, SLEEP, repo, "t0", "untag")
            want = {f"image.tag {repo}:t{i}" for i in range(TAGS)} | {
                f"image.untag {repo}:t0"}

            def status() -> str:
                return (f"got {len(got)} of {len(want)}, missing "
                        f"{sorted(want - got.keys())[:5]}, lost "
                        f"{dict(lose_every_third_tag)}, podman "
                        f"{bridge.podman_source.metrics() if bridge.podman_source else None}")

            await wait_for(lambda: want <= got.keys(), timeout=120, what=status, every=0.1)
            assert lose_every_third_tag["dropped"] == TAGS // 3, status()
            assert set(got.values()) == {1}, f"an event came twice: {got}"
            st = await client.call("bridge.status")
            assert st["podman"]["events_recovered"] >= TAGS // 3, st["podman"]
            # The model follows: the image carries every tag the lost events made.
            async def tagged() -> bool:
                snap = await client.call("state.get")
                names = {n for i in snap["images"] for n in i["names"]}
                return {f"{repo}:t{i}" for i in range(1, TAGS)} <= names
            await wait_for(tagged, timeout=60, what="the model's image names", every=0.2)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            conn = aiohttp.UnixConnector(path=str(world.podman_socket))
            async with aiohttp.ClientSession(connector=conn) as s:
                for i in range(1, TAGS):   # what is not there is refused: no matter
                    async with s.post(f"http://d/v4.0.0/libpod/images/{SLEEP}/untag",
                                      params={"repo": repo, "tag": f"t{i}"}):
                        pass
