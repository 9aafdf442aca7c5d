"""A burst of 10,000 Podman events reaches a websocket client: none lost, none doubled.

Counted against Podman's own ``/events`` stream, read at the same time: the burst is 5,000
tag/untag pairs through the API, each pair on a tag name of its own, so every event has a
key (action, name) that no other event has. In every flavour: debian12's file events
logger (whose log rotation makes Podman send events again) and debian13's journald, the
default events backend of Podman 5 hosts.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_BROKEN, HTTPD_V1, HTTPD_V2, SLEEP
from tests.helpers import unique
from tests.integration.bridgefix import base_url, start_bridge, wait_for

logger = logging.getLogger(__name__)

PAIRS = 5_000
IMAGES = (HTTPD_V1, HTTPD_V2, HTTPD_BROKEN, SLEEP)
WORKERS = len(IMAGES)


async def _tag_untag(session: aiohttp.ClientSession, image: str, repo: str,
                     tags: range) -> None:
    for n in tags:
        for verb in ("tag", "untag"):
            async with session.post(f"http://podman/v4.0.0/libpod/images/{image}/{verb}",
                                    params={"repo": repo, "tag": str(n)}) as resp:
                assert resp.status < 300, await resp.text()


async def test_burst_of_10000_events_reaches_a_websocket_client_once(
        world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = f"localhost/{unique('burst')}/img"
    # The client resumes from the ring if it is ever dropped: a ring larger than the burst.
    bridge = await start_bridge(world, tmp_path / "state", monkeypatch, plugins={},
                                ring_size=40_000)
    # One image per worker: Podman 4.3.1 loses a concurrent change to one image's names
    # ("tag not known" on an untag racing another worker's tag).
    images = [(await asyncio.to_thread(
        world.podman, "image", "inspect", "--format", "{{.Id}}", ref)).stdout.strip()
        for ref in IMAGES]
    expected = {(action, f"{repo}:{n}") for n in range(PAIRS) for action in ("tag", "untag")}
    reference: Counter[tuple[str, str]] = Counter()
    seen: Counter[tuple[str, str]] = Counter()

    async def read_reference(resp: aiohttp.ClientResponse) -> None:
        async for line in resp.content:
            if not line.strip():
                continue
            ev = json.loads(line)
            key = (str(ev.get("Action")), str(ev["Actor"]["Attributes"].get("name")))
            if key in expected:
                reference[key] += 1
                if len(reference) == len(expected):
                    return

    async def read_client(client: BridgeClient, since: int) -> None:
        async for ev in client.events(["image.tag", "image.untag"], since=since):
            key = (ev["type"].split(".", 1)[1], ev["subject"])
            if key in expected:
                seen[key] += 1

    connector = aiohttp.UnixConnector(path=str(world.podman_socket), limit=WORKERS + 2)
    params = {"stream": "true", "filters": json.dumps({"type": ["image"]})}
    started = time.monotonic()
    try:
        async with aiohttp.ClientSession(connector=connector) as session, \
                BridgeClient(base_url(bridge), bridge.token) as client, \
                session.get("http://podman/v4.0.0/libpod/events", params=params,
                            timeout=aiohttp.ClientTimeout(total=None)) as resp:
            assert resp.status == 200
            ref_task = asyncio.create_task(read_reference(resp))
            # From the bus's position now: the subscription may come after the first
            # events of the burst, the ring gives it what came before.
            since = (await client.call("bridge.status"))["seq"]
            client_task = asyncio.create_task(read_client(client, since))
            try:
                step = PAIRS // WORKERS
                await asyncio.gather(*(_tag_untag(session, images[w], repo,
                                                  range(w * step, (w + 1) * step))
                                       for w in range(WORKERS)))
                made = time.monotonic() - started
                await asyncio.wait_for(ref_task, 120)
                await wait_for(lambda: len(seen) == len(expected), timeout=120,
                               what=f"all {len(expected)} events at the client")
                # Anything doubled would arrive right behind: give it the time to.
                last = sum(seen.values())
                await asyncio.sleep(1.0)
                assert sum(seen.values()) == last
            finally:
                client_task.cancel()
                ref_task.cancel()
                await asyncio.gather(client_task, ref_task, return_exceptions=True)
    finally:
        await bridge.stop()
    logger.info("%s: %d events made in %.1fs, all at the client after %.1fs; Podman's own "
                "stream sent %d lines for them, the bridge dropped %d repeats",
                world.flavour, len(expected), made, time.monotonic() - started,
                sum(reference.values()), bridge.podman_source.duplicates
                if bridge.podman_source else -1)
    assert set(reference) == expected, "Podman's own stream misses events of the burst"
    assert set(seen) == expected
    doubled = {k: c for k, c in seen.items() if c != 1}
    assert not doubled, f"{len(doubled)} events reached the client more than once"
