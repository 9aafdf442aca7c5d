"""The fleet link against a real 3-node NATS cluster, without worlds: a bridge's bus and
FleetLink (the code `podbridge serve` runs), started while NATS is away."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.bus import Bus
from bridge.fleet.api import Fleet, FleetUnavailable
from bridge.fleet.link import FleetLink
from bridge.fleet.settings import FleetSettings
from bridge.methods import MethodRegistry, NoParams
from bridge.sandbox.nats import NatsCluster

pytestmark = [pytest.mark.skipif(shutil.which("nats-server") is None,
                                 reason="nats-server is not installed"),
              pytest.mark.allow_children]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    c = NatsCluster.start(tmp_path / "nats")
    try:
        yield c
    finally:
        c.stop()
    assert not any(n.proc for n in c.nodes)


async def test_a_bridge_started_while_nats_is_away_publishes_everything_later(
        cluster: NatsCluster) -> None:
    cluster.stop()
    bus = Bus(first_seq=1000)
    bus.host = "early"
    methods = MethodRegistry()

    async def hello(_: NoParams) -> str:
        return "hi"

    methods.register("hello", hello, NoParams, role="viewer", readonly=True)
    link = FleetLink(FleetSettings(servers=cluster.urls, host="early", name="t",
                                   heartbeat_interval=1.0), bus=bus, methods=methods,
                     state=None)
    await link.start()
    fleet = Fleet("t", "early", link)
    try:
        for i in range(300):
            bus.publish("container.start", "podman", f"c{i}", {"i": i})
        assert not link.connected and len(link.outbox) == 300
        with pytest.raises(FleetUnavailable):
            await fleet.hosts()
        # The host goes on: a local call through the fleet API needs no NATS.
        assert await fleet.call("early", "hello") == "hi"
        for i in range(len(cluster.nodes)):
            cluster.start_node(i, wait=False)
        assert await link.wait_connected(120)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while link.outbox:
            assert loop.time() < deadline, f"{len(link.outbox)} events still waiting"
            await asyncio.sleep(0.1)
        page = await link.read_events(["container.*"], ["early"], 0, 10_000)
        assert [e["host_seq"] for e in page["events"]] == list(range(1001, 1301))
        assert [e["data"]["i"] for e in page["events"]] == list(range(300))
        assert all(e["host"] == "early" for e in page["events"])
        # Its heartbeat is there too, and a call through NATS reaches it.
        deadline = loop.time() + 60
        while not any(r["host"] == "early" and r["online"] for r in await fleet.hosts()):
            assert loop.time() < deadline, "no heartbeat"
            await asyncio.sleep(0.2)
        other = Fleet("t", "other", link)
        assert await other.call("early", "hello") == "hi"
    finally:
        await link.close()


async def test_kv_compare_and_swap(cluster: NatsCluster) -> None:
    from bridge.fleet.api import KVConflict

    link = FleetLink(FleetSettings(servers=cluster.urls, host="kv", name="t"), bus=None,
                     methods=None, state=None, client=True)
    await link.start()
    try:
        assert await link.wait_connected(120)
        kv = await Fleet("t", "kv", link).kv("rollout")
        rev = await kv.create("lease", {"holder": "a"})
        with pytest.raises(KVConflict):
            await kv.create("lease", {"holder": "b"})
        rev2 = await kv.update("lease", {"holder": "a", "n": 2}, rev)
        with pytest.raises(KVConflict):
            await kv.update("lease", {"holder": "b"}, rev)
        entry = await kv.get("lease")
        assert entry is not None and entry.value == {"holder": "a", "n": 2}
        assert entry.revision == rev2
        assert await kv.keys() == ["lease"]
        with pytest.raises(KVConflict):
            await kv.delete("lease", revision=rev)
        await kv.delete("lease", revision=rev2)
        assert await kv.get("lease") is None
        with pytest.raises(ValueError):
            await Fleet("t", "kv", link).kv("bad.name")
    finally:
        await link.close()
