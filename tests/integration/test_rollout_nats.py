"""Rollout records and the controller's lease in a real 3-node JetStream cluster (replicated
KV, nats-server as Debian ships it): compare-and-swap, lease takeover, a node killed under
a running rollout, and a controller killed mid-wave. The hosts are simulated (their side is
tested against real hosts elsewhere); NATS is real."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import nats
import pytest

from bridge.sandbox.nats import NATS_BIN, NatsCluster
from plugins.rollout.controller import Controller
from plugins.rollout.engine import Rollout, Spec
from plugins.rollout.kvstate import Conflict, Lease, NatsKV, Rollouts
from tests.rollout_sim import SimFleet

pytestmark = pytest.mark.skipif(shutil.which(NATS_BIN) is None, reason="no nats-server")


async def connect(c: NatsCluster, first: int = 0) -> Any:
    # Each client starts at its own node; all of them are listed for reconnecting.
    urls = c.urls[first:] + c.urls[:first]
    return await nats.connect(servers=urls, dont_randomize=True, reconnect_time_wait=0.2,
                              max_reconnect_attempts=-1, connect_timeout=2)


async def bucket(nc: Any, create: bool = False) -> NatsKV:
    js = nc.jetstream(timeout=5)
    if create:
        from nats.js.api import KeyValueConfig
        return NatsKV(await js.create_key_value(KeyValueConfig(
            bucket="rollouts_test", history=1, replicas=3)))
    return NatsKV(await js.key_value("rollouts_test"))


async def test_a_write_over_a_stale_revision_is_refused(cluster: NatsCluster) -> None:
    a, b = await connect(cluster, 0), await connect(cluster, 1)
    try:
        kva = await bucket(a, create=True)
        kvb = await bucket(b)
        rev = await kva.create("r.x", b"1")
        with pytest.raises(Conflict):
            await kvb.create("r.x", b"other")
        newer = await kvb.update("r.x", b"b", rev)
        with pytest.raises(Conflict):
            await kva.update("r.x", b"a", rev)
        assert await kva.get("r.x") == (b"b", newer)
    finally:
        await a.close()
        await b.close()


async def test_contenders_for_the_lease_at_the_same_moment_confirm_one_holder(
        cluster: NatsCluster) -> None:
    """Five controllers on three nodes take a free lease at once, five times over: after
    the confirmation exactly one believes it holds it (on nats-server 2.9.10 more than one
    compare-and-swap can be accepted; the confirmation is what makes it one)."""
    conns = [await connect(cluster, i % 3) for i in range(5)]
    try:
        await bucket(conns[0], create=True)
        kvs = [await bucket(nc) for nc in conns]
        for round_ in range(5):
            leases = [Lease(kv, f"c{i}", ttl=60.0, settle=0.5) for i, kv in enumerate(kvs)]
            won = await asyncio.gather(*(lease.acquire() for lease in leases))
            assert sum(won) == 1, (round_, won)
            info, _ = await leases[0].current()
            assert info is not None and info.holder == f"c{won.index(True)}"
            holder = leases[won.index(True)]
            await holder.release()
    finally:
        for nc in conns:
            await nc.close()


async def test_the_lease_passes_to_another_controller_only_when_its_holder_goes_silent(
        cluster: NatsCluster) -> None:
    a, b = await connect(cluster, 0), await connect(cluster, 2)
    try:
        kva = await bucket(a, create=True)
        kvb = await bucket(b)
        first = Lease(kva, "bridge-a", ttl=2.0)
        second = Lease(kvb, "bridge-b", ttl=2.0)
        assert await first.acquire()
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:   # renewed: never taken
            assert await first.renew()
            assert not await second.acquire()
            await asyncio.sleep(0.3)
        # bridge-a stops renewing (killed): bridge-b takes over once the lease is stale.
        while not await second.acquire():  # noqa: ASYNC110 - polling the KV
            await asyncio.sleep(0.2)
        info, _ = await second.current()
        assert info is not None and info.holder == "bridge-b"
        assert not await first.renew()
    finally:
        await a.close()
        await b.close()


async def run_until(rollouts: Rollouts, rid: str, phases: set[str], timeout: float = 90.0
                    ) -> Rollout:
    async with asyncio.timeout(timeout):
        while True:
            try:
                r, _ = await rollouts.load(rid)
                if r.phase in phases:
                    return r
            except Exception:  # a moment without a leader
                pass
            await asyncio.sleep(0.2)


async def start_controller(kv: NatsKV, fleet: SimFleet, name: str, ttl: float = 2.0
                           ) -> tuple[Controller, asyncio.Task[None]]:
    c = Controller(Rollouts(kv), Lease(kv, name, ttl=ttl), fleet, tick=0.2,
                   call_timeout=2.0)
    return c, asyncio.create_task(c.run(), name=f"controller/{name}")


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def new_rollout(names: list[str], probation: float) -> Rollout:
    r = Rollout(id="r1", spec=Spec(image="reg/app:latest", selector="app=demo", canary=1,
                                   max_unavailable=2, probation=probation,
                                   progress_deadline=30.0),
                digest="reg/app@sha256:new")
    r.plan(names, time.time())
    return r


async def test_a_nats_node_killed_mid_rollout_changes_nothing(cluster: NatsCluster) -> None:
    names = [f"h{i}" for i in range(7)]
    fleet = SimFleet(names, probation=1.0, clock=time.time)
    nc = await connect(cluster, 0)   # connected to the node that is killed
    task = None
    try:
        kv = await bucket(nc, create=True)
        rollouts = Rollouts(kv)
        r = new_rollout(names, 1.0)
        fleet.canary = set(r.waves[0])
        await rollouts.create(r)
        _c, task = await start_controller(kv, fleet, "a")
        await run_until(rollouts, "r1", {"wave"})
        cluster.kill_node(0)
        r = await run_until(rollouts, "r1", {"done", "rolled-back"})
        assert r.phase == "done", r.summary()
        assert all(h.updates == 1 for h in fleet.hosts.values())
        assert fleet.max_updating_after_canary <= 2
        assert set(r.summary()["hosts"].values()) == {"passed"}
    finally:
        if task is not None:
            await stop(task)
        await nc.close()


async def test_a_controller_killed_mid_wave_is_replaced_and_updates_nobody_twice(
        cluster: NatsCluster) -> None:
    names = [f"h{i}" for i in range(9)]
    fleet = SimFleet(names, probation=1.5, clock=time.time)
    na, nb = await connect(cluster, 0), await connect(cluster, 1)
    ta = tb = None
    try:
        kva = await bucket(na, create=True)
        kvb = await bucket(nb)
        rollouts = Rollouts(kva)
        r = new_rollout(names, 1.5)
        fleet.canary = set(r.waves[0])
        await rollouts.create(r)
        _ca, ta = await start_controller(kva, fleet, "a")
        _cb, tb = await start_controller(kvb, fleet, "b")
        # Kill the lease holder while a wave is on probation.
        async with asyncio.timeout(60):
            while fleet.updating_now() == 0 or (await rollouts.load("r1"))[0].wave < 1:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        info, _ = await Lease(kva, "x", 2.0).current()
        assert info is not None and info.holder in ("a", "b")
        killed, other = info.holder, "b" if info.holder == "a" else "a"
        # Killed: its task (ticks, calls, lease renewals) ends where it is.
        if killed == "a":
            await stop(ta)
            ta = None
        else:
            await stop(tb)
            tb = None
        r = await run_until(Rollouts(kvb), "r1", {"done", "rolled-back"})
        info, _ = await Lease(kvb, "x", 2.0).current()
        assert info is not None and info.holder == other
        assert r.phase == "done", r.summary()
        assert [h.updates for h in fleet.hosts.values()] == [1] * len(names)
        assert fleet.max_updating_after_canary <= 2
    finally:
        for t in (ta, tb):
            if t is not None:
                await stop(t)
        await na.close()
        await nb.close()
