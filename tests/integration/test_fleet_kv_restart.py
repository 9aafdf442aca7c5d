"""A fleet KV snapshot right after a NATS node's restart, in a real 3-node JetStream (no
world). The restarted node's replica serves its old copy of the bucket until it catches
up; a snapshot (how `podbridge fleet hosts` and `fleet rollout` read heartbeats and
summaries) must never answer with it."""

from __future__ import annotations

import asyncio
import shutil
from typing import Any

import nats
import nats.errors
import pytest

from bridge.fleet.kv import JsonKV
from bridge.sandbox.nats import NATS_BIN, NatsCluster

pytestmark = [pytest.mark.skipif(shutil.which(NATS_BIN) is None, reason="no nats-server"),
              pytest.mark.allow_children]

BUCKET = "fleet_kvtest"


async def _quiet(_exc: Exception) -> None:
    """nats-py prints every refused reconnection by default."""


async def _kv(nc: Any, create: bool = False) -> JsonKV:
    js = nc.jetstream(timeout=5)
    if create:  # as FleetLink._bucket makes a fleet's buckets
        return JsonKV(BUCKET, await js.create_key_value(bucket=BUCKET, history=1, replicas=3))
    return JsonKV(BUCKET, await js.key_value(BUCKET))


async def _again(request: Any) -> Any:
    """A request, made again until NATS answers it: the stream may have no leader for a
    while (the killed node may have been it), a node that rejoins may not answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while True:
        try:
            return await request()
        except (nats.errors.Error, TimeoutError) as exc:
            assert loop.time() < deadline, f"no answer: {exc!r}"
            await asyncio.sleep(0.1)


async def test_a_snapshot_never_answers_with_a_restarted_nodes_old_copy(
        cluster: NatsCluster) -> None:
    writer = await nats.connect(servers=cluster.urls, error_cb=_quiet)
    readers: list[Any] = []
    try:
        kv = await _kv(writer, create=True)
        want = {f"h{i}": await kv.put(f"h{i}", {"n": 0}) for i in range(20)}
        await kv.put("gone", {"n": 0})
        cluster.kill_node(0)
        for n in range(1, 201):
            key = f"h{n % 20}"
            want[key] = await _again(lambda k=key, v=n: kv.put(k, {"n": v}))
        want["late"] = await _again(lambda: kv.put("late", {"n": 1}))
        # The stream's last message is a delete marker: a snapshot must still reach it.
        await _again(lambda: kv.delete("gone"))
        await asyncio.to_thread(cluster.start_node, 0)
        # At once, while node 0 catches up: one client on node 0 only (where a CLI may
        # land), one on every node. A watch's consumer may be placed on any replica.
        for servers in ([cluster.urls[0]], cluster.urls):
            readers.append(await nats.connect(servers=servers, error_cb=_quiet))
        kvs = [await _again(lambda nc=nc: _kv(nc)) for nc in readers]
        stale = []
        for i in range(60):
            for which, reader in enumerate(kvs):
                got = {k: e.revision for k, e in (await reader.snapshot()).items()}
                if got != want:
                    stale.append((i, which, len(got), sorted(set(want) ^ set(got))[:3]))
        assert not stale, f"{len(stale)} of 120 snapshots were not the bucket: {stale[:5]}"
        assert sorted(await kvs[0].keys()) == sorted(want)
    finally:
        for nc in [*readers, writer]:
            await nc.close()
