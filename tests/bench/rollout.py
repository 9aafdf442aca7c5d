"""`make bench` section "rollout": the rollout controller at fleet scale.

The rollout's record and the controller's lease live in a real 3-node JetStream cluster
(nats-server, replicated KV); the 1,000 hosts are simulated (tests/rollout_sim.py: the
host side of autoupdate.apply/applied/revert as a script, called in-process, with its
verdict one probation after the update). Figures:

- a 1,000-host rollout's wall time beside its floor, ceil(hosts / max_unavailable) waves
  (plus the canary's) times the probation;
- the time from a canary's failure (the moment its verdict exists on the host) to the
  fleet halted and rolled back, and the same for a failure in a later wave, where every
  host that took the digest is reverted;
- how often nats-server accepted both of two concurrent compare-and-swap writes naming
  the same revision (the reason the lease is confirmed by a read-back: kvstate.py).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import nats
from nats.js.api import KeyValueConfig

from bridge.sandbox.nats import NatsCluster
from plugins.rollout.controller import Controller
from plugins.rollout.engine import Rollout, Spec, expected_time
from plugins.rollout.kvstate import Conflict, Lease, NatsKV, Rollouts
from tests.rollout_sim import SimFleet

HOSTS = 1000
MAX_UNAVAILABLE = 50
PROBATION = 1.0
TICK = 0.1


async def _rollout(kv: NatsKV, rid: str, *, bad: set[int], probation: float
                   ) -> dict[str, Any]:
    names = [f"h{i:04d}" for i in range(HOSTS)]
    fleet = SimFleet(names, probation, time.time)
    for i in bad:
        fleet.hosts[names[i]].bad = True
    rollouts = Rollouts(kv)
    r = Rollout(id=rid, spec=Spec(image="reg/app:latest", selector="app=demo", canary=1,
                                  max_unavailable=MAX_UNAVAILABLE, probation=probation,
                                  progress_deadline=60.0),
                digest="sha256:" + "0" * 64)
    r.plan(names, time.time())
    fleet.canary = set(r.waves[0])
    c = Controller(rollouts, Lease(kv, f"bench-{rid}", ttl=10.0), fleet, tick=TICK,
                   call_timeout=5.0)
    started = time.monotonic()
    await rollouts.create(r)
    task = asyncio.create_task(c.run())
    ticks = 0
    try:
        while True:
            await asyncio.sleep(0.05)
            ticks += 1
            r, _ = await rollouts.load(rid)
            if r.phase in ("done", "rolled-back"):
                ended_wall = time.time()
                break
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await c.lease.release()
    ended = time.monotonic()
    bad_done = [h.done_at for n, h in r.hosts.items() if n in {names[i] for i in bad}
                and h.done_at is not None]
    # The bad host's verdict exists on the host one probation after it was asked.
    first_bad = min((r.hosts[names[i]].asked_at or 0) + probation for i in bad) if bad \
        else None
    return {"phase": r.phase, "seconds": ended - started,
            "failure_to_rolled_back": ended_wall - first_bad if first_bad else None,
            "reverted": sum(1 for h in r.hosts.values() if h.state == "reverted"),
            "updates": sum(h.updates for h in fleet.hosts.values()),
            "max_updating": fleet.max_updating, "calls": fleet.calls,
            "record_bytes": len(str(r.to_json())), "bad_verdict_seen": bool(bad_done)}


async def _cas_race(nc_a: Any, nc_b: Any) -> int:
    kva = NatsKV(await nc_a.jetstream().create_key_value(KeyValueConfig(
        bucket="cas_race", history=1, replicas=3)))
    kvb = NatsKV(await nc_b.jetstream().key_value("cas_race"))
    rev = await kva.create("k", b"0")
    both = 0
    for _ in range(100):
        res = await asyncio.gather(kva.update("k", b"a", rev), kvb.update("k", b"b", rev),
                                   return_exceptions=True)
        won = [x for x in res if isinstance(x, int)]
        assert all(isinstance(x, int | Conflict) for x in res), res
        both += len(won) == 2
        rev = max(won)
    return both


async def _run(root: Path) -> dict[str, Any]:
    cluster = await asyncio.to_thread(NatsCluster.start, root)
    try:
        await cluster.jetstream_up()
        nc = await nats.connect(servers=cluster.urls, max_reconnect_attempts=-1)
        nc2 = await nats.connect(servers=cluster.urls[1:] + cluster.urls[:1],
                                 dont_randomize=True)
        try:
            kv = NatsKV(await nc.jetstream(timeout=10).create_key_value(KeyValueConfig(
                bucket="rollout_bench", history=1, replicas=3, max_value_size=-1)))
            good = await _rollout(kv, "good", bad=set(), probation=PROBATION)
            canary = [await _rollout(kv, f"canary{i}", bad={0}, probation=PROBATION)
                      for i in range(3)]
            # A host of wave 5 fails: every other host that took the digest is reverted.
            wave5 = await _rollout(kv, "wave5", bad={1 + 4 * MAX_UNAVAILABLE},
                                   probation=PROBATION)
            both = await _cas_race(nc, nc2)
        finally:
            await nc.close()
            await nc2.close()
    finally:
        cluster.stop()
    return {"hosts": HOSTS, "max_unavailable": MAX_UNAVAILABLE, "probation": PROBATION,
            "tick": TICK, "floor": expected_time(HOSTS, 1, MAX_UNAVAILABLE, PROBATION),
            "good": good, "canary": canary, "wave5": wave5, "cas_both_accepted": both}


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-rollout-") as d:
        return asyncio.run(_run(Path(d)))


def report(r: dict[str, Any]) -> None:
    g = r["good"]
    print(f"a simulated {r['hosts']}-host rollout (record and lease in a 3-node JetStream "
          f"KV, hosts scripted in-process), canary 1, max_unavailable "
          f"{r['max_unavailable']}, probation {r['probation']:g} s, controller tick "
          f"{r['tick']:g} s:")
    print(f"  {g['phase']} in {g['seconds']:.1f} s; floor ceil(({r['hosts']} - 1) / "
          f"{r['max_unavailable']}) + 1 waves x probation = {r['floor']:.1f} s; ratio "
          f"{g['seconds'] / r['floor']:.2f}; {g['updates']} updates, at most "
          f"{g['max_updating']} at once, {g['calls']} host calls, record "
          f"{g['record_bytes'] / 1024:.0f} KiB")
    c = [x["failure_to_rolled_back"] for x in r["canary"]]
    print(f"  a failing canary to the fleet halted and rolled back: median "
          f"{statistics.median(c):.2f} s ({min(c):.2f}..{max(c):.2f}, "
          f"{len(c)} runs); phases {sorted({x['phase'] for x in r['canary']})}")
    w = r["wave5"]
    print(f"  a host failing in wave 5 to the fleet rolled back ({w['reverted']} hosts "
          f"reverted): {w['failure_to_rolled_back']:.2f} s; phase {w['phase']}")
    print(f"  nats-server accepted both of two concurrent compare-and-swap writes naming "
          f"the same revision in {r['cas_both_accepted']} of 100 tries (R3 bucket; the "
          f"lease is therefore confirmed by a read-back)")


if __name__ == "__main__":
    report(run())
