"""Added latency: the same Podman event seen by a websocket client of the bridge vs by a raw
reader of Podman's own ``/events`` stream, in the same run (p50, p99).

Podman feeds each of its event streams on its own (with the file events logger, each tails
the log by itself), so the two readers see one event at different, jittered moments, and a
per-event difference says more about that jitter than about the bridge. Each reader's delay
is therefore measured from the event's own time (``timeNano``), and the added latency is
the difference of the two distributions at p50 and p99.

The same world serves the other comparisons of this file: ``state.get`` (the bridge's
whole live model, over its REST API) against Podman's ``GET /containers/json?all`` and
against the best a client of Podman alone can do (``OwnList``: list once, follow the
events stream, re-read each container an event names, answer from its own memory); and
the bridge's memory beside ``podman system service`` and Cockpit's bridge serving the
same 1,000 containers."""

from __future__ import annotations

import asyncio
import calendar
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bridge.client import BridgeClient
from bridge.tasks import within
from tests.bench.podman_service import PodmanService
from tests.bench.world_service import WorldPodmanService
from tests.helpers import free_port


def start_bridge(url: str, state: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"}
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--url", url, "--state-dir", str(state),
         "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_token(state: Path, port: int) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            token = (state / "token").read_text().strip()
            async with aiohttp.ClientSession() as s, s.get(
                    f"http://127.0.0.1:{port}/api/bridge.status",
                    headers={"Authorization": f"Bearer {token}"}) as r:
                if r.status == 200 and (await r.json())["data"]["podman"]["connected"]:
                    return token
        except (OSError, aiohttp.ClientError):
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("bridge did not come up")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


async def measure_latency(svc: PodmanService | WorldPodmanService, port: int, token: str, count: int
                          ) -> dict[str, Any]:
    raw_seen: dict[str, float] = {}
    ws_seen: dict[str, float] = {}
    connector = aiohttp.UnixConnector(path=str(svc.sock))
    async with aiohttp.ClientSession(connector=connector) as podman, \
            BridgeClient(f"http://127.0.0.1:{port}", token) as client:
        done = asyncio.Event()

        async def raw_reader() -> None:
            async with podman.get("http://d/v4.0.0/libpod/events",
                                  params={"stream": "true", "filters": json.dumps(
                                      {"type": ["image"]})},
                                  timeout=aiohttp.ClientTimeout(total=None)) as resp:
                async for line in resp.content:
                    t = time.time()
                    ev = json.loads(line)
                    if ev.get("Action") == "tag":
                        raw_seen.setdefault(ev["Actor"]["Attributes"]["name"],
                                            t - ev["timeNano"] / 1e9)

        async def ws_reader() -> None:
            async for ev in client.events(["image.tag"]):
                ws_seen.setdefault(ev["subject"], time.time() - iso_seconds(ev["time"]))
                if len(ws_seen) >= count:
                    done.set()
                    return

        tasks = [asyncio.create_task(raw_reader()), asyncio.create_task(ws_reader())]
        await asyncio.sleep(1.0)
        img = "localhost/bench/busybox:1"
        for i in range(count):
            async with podman.post(f"http://d/v4.0.0/libpod/images/{img}/tag",
                                   params={"repo": "localhost/bench/lat", "tag": f"t{i}"}):
                pass
            async with podman.post(f"http://d/v4.0.0/libpod/images/{img}/untag",
                                   params={"repo": "localhost/bench/lat", "tag": f"t{i}"}):
                pass
            await asyncio.sleep(0.02)
        await within(done.wait(), 60)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    keys = [k for k in ws_seen if k in raw_seen]
    raw = [raw_seen[k] * 1000 for k in keys]
    ws = [ws_seen[k] * 1000 for k in keys]
    return {"events": len(keys),
            "raw_p50_ms": round(statistics.median(raw), 2), "raw_p99_ms": round(pct(raw, 99), 2),
            "ws_p50_ms": round(statistics.median(ws), 2), "ws_p99_ms": round(pct(ws, 99), 2),
            "added_p50_ms": round(statistics.median(ws) - statistics.median(raw), 2),
            "added_p99_ms": round(pct(ws, 99) - pct(raw, 99), 2)}


def iso_seconds(stamp: str) -> float:
    """Seconds since the epoch of an RFC 3339 UTC time with up to nanoseconds."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    base = calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))
    return base + (int(frac) / 10 ** len(frac) if frac else 0.0)


async def create_containers(svc: PodmanService | WorldPodmanService, n: int) -> float:
    connector = aiohttp.UnixConnector(path=str(svc.sock), limit=8)
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector) as podman:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with sem, podman.post("http://d/v4.0.0/libpod/containers/create", json={
                    "image": "localhost/bench/busybox:1", "name": f"bench-{i}",
                    "command": ["sleep", "1"], "labels": {"bench": str(i)}}) as r:
                assert r.status == 201, await r.text()

        await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - t0


class OwnList:
    """A client of Podman that keeps its own list of containers, as well as one can: one
    list at start, then Podman's events stream; the containers that events name are
    re-read (Podman's events carry a few attributes, not the container's record) in
    batches, one filtered list call for all that changed since the last, and a removal
    drops its container."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.containers: dict[str, dict[str, Any]] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.dirty: set[str] = set()
        self.changed = asyncio.Event()

    async def start(self) -> float:
        t0 = time.perf_counter()
        ready = asyncio.Event()
        self.tasks = [asyncio.create_task(self._follow(ready)),
                      asyncio.create_task(self._refresh())]
        await ready.wait()
        for c in await self._list({}):
            self.containers[c["Id"]] = c
        return time.perf_counter() - t0

    async def _list(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        params = {"all": "true"}
        if filters:
            params["filters"] = json.dumps(filters)
        async with self.session.get("http://d/v4.0.0/libpod/containers/json",
                                    params=params) as r:
            return list(await r.json())

    async def _follow(self, ready: asyncio.Event) -> None:
        async with self.session.get(
                "http://d/v4.0.0/libpod/events", params={
                    "stream": "true", "filters": json.dumps({"type": ["container"]})},
                timeout=aiohttp.ClientTimeout(total=None)) as resp:
            ready.set()
            async for line in resp.content:
                ev = json.loads(line)
                cid = ev["Actor"]["ID"]
                if ev.get("Action") == "remove":
                    self.containers.pop(cid, None)
                    self.dirty.discard(cid)
                else:
                    self.dirty.add(cid)
                    self.changed.set()

    async def _refresh(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            batch, self.dirty = list(self.dirty)[:500], set(list(self.dirty)[500:])
            if self.dirty:
                self.changed.set()
            for c in await self._list({"id": batch}):
                self.containers[c["Id"]] = c

    def answer(self) -> list[dict[str, Any]]:
        return list(self.containers.values())

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    result = fn()
    if asyncio.iscoroutine(result):
        await result
    return (time.perf_counter() - t0) * 1000


async def timed_calls(fn: Any, n: int = 15) -> float:
    """The median of ``n`` calls of ``fn``, in ms (for a figure given as one median)."""
    return round(statistics.median([await timed(fn) for _ in range(n)]), 2)


async def run(latency_events: int = 300, containers: int = 1000, repeats: int = 15,
              flavour: str | None = None) -> dict[str, Any]:
    """``flavour``: against the Podman of a test world of that flavour (debian12, debian13)
    instead of a private Podman service of the machine's (then without the memory of a
    Podman service, which runs inside the world)."""
    from tests.bench import cockpit
    from tests.bench.stats import alternate, summary

    out: dict[str, Any] = {}
    service: PodmanService | WorldPodmanService = \
        PodmanService() if flavour is None else WorldPodmanService(flavour)
    with service as svc, tempfile.TemporaryDirectory() as tmp:
        if isinstance(svc, WorldPodmanService):
            out["flavour"], out["podman"] = svc.flavour, svc.version
        service_pid = svc.proc.pid if isinstance(svc, PodmanService) and svc.proc else None
        port = free_port()
        proc = start_bridge(svc.url, Path(tmp), port)
        connector = aiohttp.UnixConnector(path=str(svc.sock))
        podman = aiohttp.ClientSession(connector=connector)
        own = OwnList(podman)
        ck = cockpit.CockpitBridge() if cockpit.available() else None
        try:
            token = await wait_token(Path(tmp), port)
            await own.start()
            await asyncio.sleep(1)
            out["rss_idle_kib"] = rss_kib(proc.pid)
            out["podman_service_rss_idle_kib"] = rss_kib(service_pid) if service_pid else None
            if ck is not None:
                out["cockpit_rss_idle_kib"] = ck.rss_kib()
            out["latency"] = await measure_latency(svc, port, token, latency_events)
            out["create_s"] = round(await create_containers(svc, containers), 1)
            created = time.perf_counter()
            caught_up: dict[str, float] = {}
            async with BridgeClient(f"http://127.0.0.1:{port}", token) as client:
                while len(caught_up) < 2:
                    if time.perf_counter() - created > 120:
                        raise RuntimeError(f"not caught up: {caught_up}")
                    snap = await client.call("state.get")
                    if "podbridge" not in caught_up and len(snap["containers"]) >= containers:
                        caught_up["podbridge"] = time.perf_counter() - created
                    if "own_list" not in caught_up and len(own.answer()) >= containers:
                        caught_up["own_list"] = time.perf_counter() - created
                    await asyncio.sleep(0.05)
                out["caught_up_s"] = {k: round(v, 2) for k, v in caught_up.items()}
                await asyncio.sleep(2)
                out["containers"] = len(snap["containers"])

                async def list_all() -> None:
                    async with podman.get("http://d/v4.0.0/libpod/containers/json",
                                          params={"all": "true"}) as r:
                        assert len(await r.json()) == containers

                async def state_get() -> None:
                    assert len((await client.call("state.get"))["containers"]) == containers

                def own_answer() -> None:
                    assert len(own.answer()) == containers

                contenders = {"state_get": state_get, "podman_list": list_all,
                              "own_list": own_answer}
                runs: dict[str, list[float]] = {k: [] for k in contenders}
                for rep in range(repeats):
                    for name in alternate(list(contenders), rep):
                        runs[name].append(await timed(contenders[name]))
                out.update({f"{k}_ms": summary(v, 2) for k, v in runs.items()})
                out["rss_1000_kib"] = rss_kib(proc.pid)
                out["podman_service_rss_1000_kib"] = rss_kib(service_pid) if service_pid else None
            if ck is not None:
                body = ck.http_get("1", svc.sock, "/v4.0.0/libpod/containers/json?all=true")
                assert len(json.loads(body)) == containers
                ck.http_stream("2", svc.sock, "/v4.0.0/libpod/events?stream=true")
                out["cockpit_rss_1000_kib"] = ck.rss_kib()
        finally:
            if ck is not None:
                ck.close()
            await own.stop()
            await podman.close()
            proc.terminate()
            proc.wait(20)
    return out
