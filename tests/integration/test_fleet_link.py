"""The fleet link against a real 3-node NATS cluster, without worlds: a bridge's bus and
FleetLink (the code `podbridge serve` runs), started while NATS is away."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.bus import Bus
from bridge.fleet.api import Fleet, FleetError, FleetUnavailable
from bridge.fleet.link import FleetLink
from bridge.fleet.settings import FleetSettings
from bridge.methods import MethodRegistry, NoParams
from bridge.sandbox.nats import NatsCluster
from tests.integration.bridgefix import wait_for

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


async def _read_all(link: FleetLink, patterns: list[str], host: str,
                    want: int) -> list[dict[str, Any]]:
    """The events of ``host`` in the stream, page after page, as a client of
    ``fleet.events`` reads them, until ``want`` have come and the stream has no more: right
    after the cluster comes back NATS may still be electing the stream's leader (the read
    answers ``timeout``, to be asked again), and on a busy machine a page can end early."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    events: list[dict[str, Any]] = []
    since = 0
    while True:
        try:
            page = await link.read_events(patterns, [host], since, 10_000)
        except FleetError as exc:
            assert exc.code == "timeout" and loop.time() < deadline, exc
            await asyncio.sleep(0.5)
            continue
        events += page["events"]
        if page["last"] == since and len(events) >= want:
            return events
        assert loop.time() < deadline, f"{len(events)} of {want} events read"
        if page["last"] == since:
            await asyncio.sleep(0.2)
        since = page["last"]


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
        await _drain(link)
        events = await _read_all(link, ["container.*"], "early", 300)
        assert [e["host_seq"] for e in events] == list(range(1001, 1301))
        assert [e["data"]["i"] for e in events] == list(range(300))
        assert all(e["host"] == "early" for e in events)
        # Its heartbeat is there too, and a call through NATS reaches it.
        loop = asyncio.get_running_loop()
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


async def _drain(link: FleetLink, timeout: float = 120) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while link.outbox:
        assert loop.time() < deadline, f"{len(link.outbox)} events still waiting"
        await asyncio.sleep(0.1)


def _link(cluster: NatsCluster, bus: Bus, outbox: Path, **kw: object) -> FleetLink:
    settings = FleetSettings(servers=cluster.urls, host="durable", name="t",
                             heartbeat_interval=1.0, **kw)  # type: ignore[arg-type]
    return FleetLink(settings, bus=bus, methods=MethodRegistry(), state=None,
                     outbox_path=outbox)


def _bus(first_seq: int) -> Bus:
    bus = Bus(first_seq=first_seq)
    bus.host = "durable"
    return bus


async def test_events_made_while_nats_is_away_survive_a_restart_of_the_bridge(
        cluster: NatsCluster, tmp_path: Path) -> None:
    """NATS stops; the bridge makes events, stops, starts again (a new run, its outbox
    read back from its file), makes more; NATS returns: the stream gets every event of
    both runs exactly once, in order."""
    outbox = tmp_path / "state" / "fleet-outbox.db"
    first = _link(cluster, _bus(1000), outbox)
    await first.start()
    assert await first.wait_connected(120)
    assert first.bus is not None
    first.bus.publish("container.start", "podman", "before", {"i": -1})
    await _drain(first)
    cluster.stop()
    try:
        for i in range(150):
            first.bus.publish("container.start", "podman", f"c{i}", {"i": i})
        await asyncio.sleep(0)  # the turn ends: the outbox's file has them
        assert len(first.outbox) >= 150
    finally:
        await first.close()
    second = _link(cluster, _bus(5000), outbox)
    assert len(second.outbox) >= 150, "the outbox was not read back"
    await second.start()
    try:
        assert second.bus is not None
        for i in range(150, 300):
            second.bus.publish("container.start", "podman", f"c{i}", {"i": i})
        assert not second.connected
        for i in range(len(cluster.nodes)):
            cluster.start_node(i, wait=False)
        assert await second.wait_connected(120)
        await _drain(second)
        events = await _read_all(second, ["container.*"], "durable", 301)
        got = [e["data"]["i"] for e in events]
        assert got == [-1, *range(300)], f"{len(got)} events: {got[:5]}…{got[-5:]}"
        seqs = [e["host_seq"] for e in events]
        assert seqs == sorted(set(seqs))
        assert second.status()["dropped"] == 0
    finally:
        await second.close()
    # Acknowledged events leave the file too.
    third = _link(cluster, _bus(9000), outbox)
    assert len(third.outbox) == 0
    third.outbox.close()


async def test_an_outage_longer_than_the_outbox_is_reported(cluster: NatsCluster,
                                                            tmp_path: Path) -> None:
    """The outbox keeps the newest outbox_max events; the fleet is told what was lost, by an
    event of the host's own, once NATS is back (also after a restart)."""
    outbox = tmp_path / "state" / "fleet-outbox.db"
    cluster.stop()
    first = _link(cluster, _bus(1000), outbox, outbox_max=100)
    await first.start()
    try:
        assert first.bus is not None
        for i in range(250):
            first.bus.publish("container.start", "podman", f"c{i}", {"i": i})
        await asyncio.sleep(0)
        assert len(first.outbox) == 100 and first.status()["dropped"] == 150
    finally:
        await first.close()
    second = _link(cluster, _bus(5000), outbox, outbox_max=100)
    await second.start()
    try:
        for i in range(len(cluster.nodes)):
            cluster.start_node(i, wait=False)
        assert await second.wait_connected(120)
        await wait_for(lambda: not second.outbox and second.outbox.lost is None, 120,
                       "the outbox to drain", 0.1)
        events = await _read_all(second, ["**"], "durable", 101)
        kept = [e["data"]["i"] for e in events if e["type"] == "container.start"]
        assert kept == list(range(150, 250))
        reports = [e for e in events if e["type"] == "fleet.outbox_overflow"]
        assert len(reports) == 1, reports
        assert reports[0]["data"]["lost"] == 150
        assert reports[0]["data"]["first_seq"] == 1001
        assert reports[0]["data"]["last_seq"] == 1150
        assert second.status()["dropped"] == 150
    finally:
        await second.close()
