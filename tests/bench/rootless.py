"""Rootless: a user's bridge (run as the user inside a test world) and a root bridge that
also serves that user, against the user's rootless Podman, with same-run references.

- ``state.get`` of the user's bridge with N rootless containers vs Podman's own
  ``GET /containers/json?all`` on the user's socket.
- The added latency of an event of the user's Podman seen over each bridge's websocket vs
  by a raw reader of the user's ``/events`` (as :mod:`tests.bench.latency` measures it).
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from bridge.sandbox.users import host_runtime_dir
from tests.bench.latency import measure_latency, timed_calls
from tests.integration.worldbridge import WorldBridge

USER = "bench"


@dataclass
class UserPodman:
    """What measure_latency needs of a Podman service: its socket."""

    sock: Path


async def _until_listed(client: BridgeClient, n: int, owner: str | None = None) -> int:
    listed: list[dict[str, Any]] = []
    for _ in range(1200):
        listed = [c for c in await client.call("containers.list")
                  if owner is None or c.get("user") == owner]
        if len(listed) >= n:
            break
        await asyncio.sleep(0.1)
    return len(listed)


async def _create(sock: Path, n: int) -> None:
    connector = aiohttp.UnixConnector(path=str(sock), limit=8)
    async with aiohttp.ClientSession(connector=connector) as podman:
        sem = asyncio.Semaphore(8)

        async def one(i: int) -> None:
            async with sem, podman.post("http://d/v4.0.0/libpod/containers/create", json={
                    "image": SLEEP, "name": f"bench-{i}", "labels": {"bench": str(i)}}) as r:
                assert r.status == 201, await r.text()

        await asyncio.gather(*(one(i) for i in range(n)))


async def run(latency_events: int = 200, containers: int = 200) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-rootless-") as tmp:
        world = World(Path(tmp) / "world", users=[USER]).up()
        try:
            user = world.user(USER)
            sock = host_runtime_dir(world, user) / "podman" / "podman.sock"
            world.run_as(USER, ["podman", "tag", SLEEP, "localhost/bench/busybox:1"])
            mine = WorldBridge(world, USER, Path(tmp) / "user-bridge.log").start()
            root = WorldBridge(world, None, Path(tmp) / "root-bridge.log").start()
            try:
                out["latency_user_bridge"] = await measure_latency(
                    UserPodman(sock), mine.port, mine.token, latency_events)  # type: ignore[arg-type]
                out["latency_root_bridge"] = await measure_latency(
                    UserPodman(sock), root.port, root.token, latency_events)  # type: ignore[arg-type]
                await _create(sock, containers)
                async with BridgeClient(mine.url, mine.token) as client:
                    out["containers"] = await _until_listed(client, containers)
                    out["state_get_ms"] = await timed_calls(lambda: client.call("state.get"))
                async with BridgeClient(root.url, root.token) as client:
                    out["root_containers"] = await _until_listed(client, containers, USER)
                    out["root_state_get_ms"] = await timed_calls(
                        lambda: client.call("state.get"))
                connector = aiohttp.UnixConnector(path=str(sock))
                async with aiohttp.ClientSession(connector=connector) as podman:
                    async def list_all() -> None:
                        async with podman.get("http://d/v4.0.0/libpod/containers/json",
                                              params={"all": "true"}) as r:
                            await r.read()
                    out["podman_list_ms"] = await timed_calls(list_all)
            finally:
                mine.stop()
                root.stop()
        finally:
            world.down()
    return out


def report(r: dict[str, Any]) -> None:
    print(f"rootless (a user's Podman, {r['containers']} containers):")
    print(f"  state.get: user's bridge {r['state_get_ms']:.1f} ms, root bridge serving the "
          f"user {r['root_state_get_ms']:.1f} ms vs Podman's GET /containers/json?all "
          f"{r['podman_list_ms']:.1f} ms   ratio {r['state_get_ms'] / r['podman_list_ms']:.2f}")
    for key, who in (("latency_user_bridge", "user's bridge"),
                     ("latency_root_bridge", "root bridge")):
        lat = r[key]
        print(f"  added latency, {who} vs a raw reader of the user's /events "
              f"({lat['events']} events): p50 {lat['added_p50_ms']:.2f} ms, "
              f"p99 {lat['added_p99_ms']:.2f} ms (raw p50 {lat['raw_p50_ms']:.2f} ms)")
