"""End to end, through a real bridge against the test world: a container that exits non-zero
fires a webhook rule added over the websocket; one that exits 0 does not."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.sandbox.images import HTTPD_V1
from plugins.hooks.plugin import HooksPlugin
from tests.integration.bridgefix import base_url, start_bridge, wait_for
from tests.integration.test_hooks_webhook import Receiver, receiver

__all__ = ["receiver"]  # the fixture, used below

SECRET = "world-secret"


async def test_container_died_non_zero_fires_webhook(
        world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: Receiver
) -> None:
    bad, good, marker = (f"hook-{kind}-{uuid.uuid4().hex[:8]}"
                         for kind in ("bad", "good", "marker"))
    bridge = await start_bridge(world, tmp_path / "state", monkeypatch,
                                plugins={"hooks": HooksPlugin})
    try:
        await wait_for(lambda: "hooks.add" in {m.name for m in bridge.methods.list()},
                       what="the hooks plugin's methods")
        async with BridgeClient(base_url(bridge), bridge.token) as client:
            await client.call("hooks.add", {"rule": {
                "name": "crashed",
                "on": {"topic": "container.died", "subject": "hook-*",
                       "where": ["data.exit_code != 0"]},
                "actions": [{"type": "webhook", "url": receiver.url + "/died",
                             "secret": SECRET, "timeout": 5}]}})
            fired: list[dict[str, Any]] = []

            async def watch() -> None:
                async for ev in client.events(["hook.*"]):
                    fired.append(ev)

            subscribers = bridge.bus.subscriber_count
            watcher = asyncio.create_task(watch())
            try:
                await wait_for(lambda: bridge.bus.subscriber_count > subscribers,
                               what="the client to subscribe")
                for name, code in ((good, 0), (bad, 3), (marker, 4)):
                    await asyncio.to_thread(world.podman, "run", "--name", name, HTTPD_V1,
                                            "sh", "-c", f"exit {code}", check=False)
                # The marker died last: once it has fired, every death before it was
                # judged (the rules see events in order), a repeat of one included.
                await wait_for(lambda: {bad, marker} <= {e["data"]["event"]["subject"]
                                                         for e in fired},
                               30, "the bad container's and the marker's hook.fired")
                [rule] = await client.call("hooks.list")
            finally:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        assert rule["stats"]["matched"] == 2, rule
        assert sorted((e["type"], e["data"]["event"]["subject"]) for e in fired) == sorted(
            [("hook.fired", bad), ("hook.fired", marker)]), fired
        await wait_for(lambda: len(receiver.requests) == 2, what="both webhook requests")
        [req] = [r for r in receiver.requests if json.loads(r.body)["event"]["subject"] == bad]
        expected = "sha256=" + hmac.new(SECRET.encode(), req.body, hashlib.sha256).hexdigest()
        assert req.headers["X-Podbridge-Signature"] == expected
        body = json.loads(req.body)
        event = body["event"]
        assert body["rule"] == "crashed"
        assert event["type"] == "container.died" and event["subject"] == bad
        assert event["source"] == "podman" and event["data"]["exit_code"] == 3
        assert event["data"]["image"] == HTTPD_V1
        assert fired[0]["data"]["event"]["seq"] == event["seq"]
    finally:
        await bridge.stop()
        await asyncio.to_thread(world.podman, "rm", "-f", bad, good, marker, check=False)
