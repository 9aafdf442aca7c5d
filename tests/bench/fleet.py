"""Events/s from 100 simulated hosts through JetStream to one websocket client, beside the
raw nats-py publish rate of the same events into JetStream.

A simulated host is the real fleet side of a bridge (its Bus, and a FleetLink with its
outbox, acknowledged JetStream publishes, heartbeats and call subscription) driven by a
script that publishes Podman-shaped events on its bus as the sources would; the 100 hosts
run in one child process. The viewer is a bridge's FleetLink following the stream into its
fleet bus, served by the real Server to one websocket client (a frame counter, in its own
process) subscribed with ``"fleet": true``. The figure is events delivered to the client
per second, from the first publish to the last frame.

The reference, in the same placement (one child process), publishes the same number of
events of the same size with plain nats-py: ``js.publish`` awaited in batches of the
size the link uses, acknowledged by JetStream, on one connection, into a stream of the same
configuration. A 3-node NATS cluster (replicas 3) on loopback carries both.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from bridge.auth import Auth
from bridge.bus import Bus
from bridge.fleet.link import BATCH, FleetLink
from bridge.fleet.settings import FleetSettings
from bridge.methods import MethodRegistry
from bridge.sandbox.nats import NatsCluster
from bridge.server import Server
from tests.bench.fanout import TOKEN, RawClient
from tests.bench.stats import summary

HOSTS = 100
PER_HOST = 200
BURST = 20
DATA = {"id": "x" * 64, "image": "localhost/podbridge/httpd:v1", "exit_code": 0,
        "name": "web"}


def settings(urls: list[str], fleet: str, host: str, watch: bool) -> FleetSettings:
    return FleetSettings(servers=urls, host=host, name=fleet, watch=watch,
                         heartbeat_interval=5.0, replicas=3, stream_max_bytes=256 << 20)


async def _hosts(urls: list[str], fleet: str, n: int, per_host: int, ready: Any, go: Any,
                 done: Any) -> None:
    links = []
    buses = []
    for i in range(n):
        bus = Bus(first_seq=time.time_ns() // 1000)
        bus.host = f"sim{i:03d}"
        link = FleetLink(settings(urls, fleet, bus.host, False), bus=bus,
                         methods=MethodRegistry(), state=None)
        await link.start()
        links.append(link)
        buses.append(bus)
    for link in links:
        assert await link.wait_connected(120), "a simulated host did not join"
    ready.set()
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, go.wait)

    async def drive(bus: Bus) -> None:
        # The scripted driver: what a Podman source publishes for a container's life.
        for j in range(per_host):
            bus.publish("container.died" if j % 2 else "container.start", "podman",
                        f"web-{j % 10}", DATA)
            if j % BURST == BURST - 1:
                await asyncio.sleep(0)

    await asyncio.gather(*(drive(b) for b in buses))
    while any(link.outbox for link in links):  # noqa: ASYNC110 (polls the outboxes)
        await asyncio.sleep(0.01)
    done.put(time.perf_counter())
    for link in links:
        await link.close()


def _hosts_process(urls: list[str], fleet: str, n: int, per_host: int, ready: Any, go: Any,
                   done: Any) -> None:
    asyncio.run(_hosts(urls, fleet, n, per_host, ready, go, done))


async def _client(port: int, events: int, ready: Any, done: Any) -> None:
    c = await RawClient.connect("127.0.0.1", port)
    c.send({"type": "auth", "token": TOKEN})
    await c.frame()
    c.send({"id": 1, "type": "subscribe", "topics": ["container.*"], "fleet": True})
    await c.frame()
    ready.set()
    got, last = await c.count(events)
    ev = orjson.loads(last)["event"] if got else {}
    done.put((got, time.perf_counter(), ev.get("host")))
    c.close()


def _client_process(port: int, events: int, ready: Any, done: Any) -> None:
    asyncio.run(_client(port, events, ready, done))


async def bench_fleet(urls: list[str], fleet: str, n: int, per_host: int) -> dict[str, Any]:
    events = n * per_host
    fleet_bus = Bus(ring_size=10_000, queue_size=events + 1000)
    viewer = FleetLink(settings(urls, fleet, "viewer", True), bus=Bus(),
                       methods=MethodRegistry(), state=None, fleet_bus=fleet_bus)
    await viewer.start()
    assert await viewer.wait_connected(120)
    while not any(t.get_name() == "fleet/watch" for t in viewer._tasks):  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the watch's consumer in place
    server = Server(bus=Bus(), methods=MethodRegistry(), auth=Auth(TOKEN), panel_dir=None,
                    allowed_origins=[], queue_size=events + 1000, fleet_bus=fleet_bus)
    runner = web.AppRunner(server.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    ctx = multiprocessing.get_context("spawn")
    c_ready, c_done = ctx.Event(), ctx.Queue()
    h_ready, h_go, h_done = ctx.Event(), ctx.Event(), ctx.Queue()
    client = ctx.Process(target=_client_process, args=(port, events, c_ready, c_done))
    hosts = ctx.Process(target=_hosts_process,
                        args=(urls, fleet, n, per_host, h_ready, h_go, h_done))
    client.start()
    hosts.start()
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, c_ready.wait)
        await loop.run_in_executor(None, h_ready.wait)
        t0 = time.perf_counter()
        h_go.set()
        published_at = await loop.run_in_executor(None, h_done.get)
        got, t1, host = await loop.run_in_executor(None, c_done.get)
    finally:
        await loop.run_in_executor(None, hosts.join)
        await loop.run_in_executor(None, client.join)
        await runner.cleanup()
        for stream in (f"podbridge-{fleet}-events", f"KV_podbridge-{fleet}-heartbeat",
                       f"KV_podbridge-{fleet}-summary"):
            await viewer.js.delete_stream(stream)
        await viewer.close()
    assert got == events, f"the client got {got} of {events} events"
    assert host is not None and host.startswith("sim")
    return {"delivered_per_s": events / (t1 - t0),
            "published_per_s": events / (published_at - t0)}


async def _raw(urls: list[str], stream: str, events: int, size: int, done: Any) -> None:
    import nats
    from nats.js import api

    nc = await nats.connect(urls)
    js = nc.jetstream(timeout=5.0)
    await js.add_stream(api.StreamConfig(
        name=stream, subjects=[f"{stream}.>"], max_age=3600.0, num_replicas=3,
        max_bytes=256 << 20,
        storage=api.StorageType.FILE, duplicate_window=120.0))
    payload = b"x" * size
    t0 = time.perf_counter()
    for start in range(0, events, BATCH):
        await asyncio.gather(*(js.publish(f"{stream}.h{i % 100}.container.died", payload,
                                          headers={"Nats-Msg-Id": f"{i}"})
                               for i in range(start, min(events, start + BATCH))))
    done.put(events / (time.perf_counter() - t0))
    await js.delete_stream(stream)
    await nc.close()


def _raw_process(urls: list[str], stream: str, events: int, size: int, done: Any) -> None:
    asyncio.run(_raw(urls, stream, events, size, done))


async def bench_raw(urls: list[str], stream: str, events: int, size: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    done = ctx.Queue()
    proc = ctx.Process(target=_raw_process, args=(urls, stream, events, size, done))
    proc.start()
    loop = asyncio.get_running_loop()
    rate: float = await loop.run_in_executor(None, done.get)
    await loop.run_in_executor(None, proc.join)
    return rate


def event_size() -> int:
    bus = Bus(first_seq=time.time_ns() // 1000)
    bus.host = "sim000"
    sub = bus.subscribe(["**"])
    bus.publish("container.died", "podman", "web-1", DATA)
    item = sub.get_nowait()
    assert item is not None
    return len(item[1])


OUTBOX_EVENTS = 50_000
OUTBOX_TURN = 100     # events made in one loop turn (one file transaction)


def bench_outbox(path: Path | None, raw: bytes, n: int = OUTBOX_EVENTS) -> float:
    """Events/s through a host's outbox as the link uses it: appended, written at the end
    of each loop turn (with a file), acknowledged by batches of BATCH."""
    from bridge.fleet.outbox import Outbox

    box = Outbox(n + 1, path)
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        box.append(i, "podbridge.bench.evt.h.container.died", raw)
        if i % OUTBOX_TURN == 0:
            box.flush()
        if i % BATCH == 0:
            box.acknowledged(i)
    box.acknowledged(n)
    box.flush()
    elapsed = time.perf_counter() - t0
    box.close()
    return n / elapsed


def outbox_rates(size: int, repeats: int = 3) -> dict[str, Any]:
    raw = b"x" * size
    memory: list[float] = []
    disk: list[float] = []
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-outbox-") as tmp:
        for rep in range(repeats):
            memory.append(bench_outbox(None, raw))
            disk.append(bench_outbox(Path(tmp) / f"outbox{rep}.db", raw))
    return {"memory": summary(memory, 0), "file": summary(disk, 0)}


async def run(hosts: int = HOSTS, per_host: int = PER_HOST, repeats: int = 3
              ) -> dict[str, Any]:
    size = event_size()
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-fleet-") as tmp:
        cluster = NatsCluster.start(Path(tmp) / "nats")
        try:
            fleet_runs: list[dict[str, Any]] = []
            raw_runs: list[float] = []
            for rep in range(repeats):
                order = ("fleet", "raw") if rep % 2 == 0 else ("raw", "fleet")
                for which in order:
                    if which == "fleet":
                        fleet_runs.append(await bench_fleet(cluster.urls, f"bench{rep}",
                                                            hosts, per_host))
                    else:
                        raw_runs.append(await bench_raw(cluster.urls, f"benchraw{rep}",
                                                        hosts * per_host, size))
        finally:
            cluster.stop()
    return {"hosts": hosts, "events": hosts * per_host, "event_bytes": size,
            "delivered": summary([r["delivered_per_s"] for r in fleet_runs], 0),
            "published": summary([r["published_per_s"] for r in fleet_runs], 0),
            "raw": summary(raw_runs, 0), "outbox": outbox_rates(size)}


def report(r: dict[str, Any]) -> None:
    def s(x: dict[str, Any]) -> str:
        return f"{x['median']:,.0f} ({x['min']:,.0f}..{x['max']:,.0f})"

    print(f"fleet: {r['events']:,} events ({r['event_bytes']} bytes each) from {r['hosts']} "
          "simulated hosts (the real Bus + FleetLink, a scripted driver, one process) "
          "through JetStream (3 nodes, replicas 3) to one websocket client, events/s, "
          f"median of {len(r['raw']['runs'])} runs:")
    print(f"  delivered to the websocket client {s(r['delivered'])}   until every host had "
          f"every ack (its outbox empty) {s(r['published'])}   raw nats-py js.publish, same "
          "events, one "
          f"connection {s(r['raw'])}   ratio delivered/raw "
          f"{r['delivered']['median'] / r['raw']['median']:.2f}")
    if "outbox" in r:
        o = r["outbox"]
        print(f"  a host's outbox alone, events/s (append, end-of-turn write every "
              f"{OUTBOX_TURN}, acks by {BATCH}): on disk (STATE_DIR/fleet-outbox.db, what a "
              f"bridge uses) {s(o['file'])}   in memory only {s(o['memory'])}")


if __name__ == "__main__":
    result = asyncio.run(run())
    report(result)
