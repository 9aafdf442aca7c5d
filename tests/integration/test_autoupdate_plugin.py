"""The plugin inside a real bridge: autoupdate.run / status / history, its events, and
dependent units restarted in order while independent ones go concurrently."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.errors import BridgeError
from bridge.events import Event
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from plugins.auto_update.plugin import AutoUpdatePlugin
from tests.bench.autoupdate import (
    Unit,
    container_image,
    image_id,
    registries_conf,
    remove_units,
    serving,
    start_units,
)
from tests.integration.bridgefix import start_bridge


async def bridge_with_plugin(world: World, state: Path, monkeypatch: pytest.MonkeyPatch,
                             **config: Any) -> Bridge:
    conf = {"registries_conf": registries_conf(world), "timer": False, **config}
    return await start_bridge(world, state, monkeypatch, {"auto_update": AutoUpdatePlugin},
                              {"auto_update": conf})


async def test_methods_events_and_history(fresh_world: World, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    world = fresh_world
    uid = uuid.uuid4().hex[:6]
    # Two units of a chain (b Requires+After a) and one on its own.
    images = {n: f"{world.registry}/podbridge/pl-{uid}-{n}:latest" for n in "abc"}
    for ref in images.values():
        world.podman("push", "--quiet", HTTPD_V1, ref)
    units = [Unit(f"pl-{uid}-{n}", ref, "registry") for n, ref in images.items()]
    start_units(world, units[:1] + units[2:])
    start_units(world, units[1:2], extra_unit=f"Requires={units[0].unit}\n"
                f"After={units[0].unit}\n")
    bridge = await bridge_with_plugin(world, tmp_path / "state", monkeypatch)
    events: list[Event] = []
    stop = bridge.bus.listen(["autoupdate.*"], lambda event, *_: events.append(event))
    try:
        for ref in images.values():
            world.podman("push", "--quiet", HTTPD_V2, ref)
        dry = await bridge.methods.call("autoupdate.run", {"dry_run": True})
        mine = [r for r in dry["rows"] if r["ContainerName"].startswith(f"pl-{uid}")]
        assert {r["Updated"] for r in mine} == {"pending"} and len(mine) == 3
        status = await bridge.methods.call("autoupdate.status", {})
        assert status["schedule"] == "daily" and not status["running"]
        assert len([p for p in status["pending"] if p["ContainerName"].startswith(
            f"pl-{uid}")]) == 3

        done = await bridge.methods.call("autoupdate.run", {})
        mine = {r["ContainerName"]: r for r in done["rows"]
                if r["ContainerName"].startswith(f"pl-{uid}")}
        assert {r["Updated"] for r in mine.values()} == {"true"}
        for u in units:
            assert "v2" in serving(world, u.name)
            assert container_image(world, u.name) == image_id(world, HTTPD_V2)

        updated = [e for e in events if e.type == "autoupdate.updated"
                   and e.data["container"].startswith(f"pl-{uid}")]
        assert len(updated) == 3
        for e in updated:
            assert e.subject == e.data["unit"]
            assert e.data["old_image_id"] == image_id(world, HTTPD_V1)
            assert e.data["new_image_id"] == image_id(world, HTTPD_V2)
            assert e.data["old_digest"] != e.data["new_digest"]
            assert e.data["new_digest"].startswith("sha256:")
        types = [e.type for e in events if e.subject == units[1].unit]
        assert types.index("autoupdate.updating") < types.index("autoupdate.updated")
        # The chain: a's restart is over (updated) before b's starts (updating).
        order = [(e.type, e.subject) for e in events
                 if e.type in ("autoupdate.updating", "autoupdate.updated")]
        assert order.index(("autoupdate.updated", units[0].unit)) < order.index(
            ("autoupdate.updating", units[1].unit))

        history = await bridge.methods.call("autoupdate.history",
                                            {"limit": 50, "unit": units[2].unit})
        assert [h["result"] for h in history] == ["true", "pending"]
        assert history[0]["kind"] == "update" and history[1]["kind"] == "check"
        assert history[0]["old_digest"] and history[0]["image"] == images["c"]
        bad = await _call_error(bridge, "autoupdate.history", {"limit": 0})
        assert "limit" in bad
    finally:
        stop()
        await bridge.stop()
        remove_units(world, units)


async def _call_error(bridge: Bridge, method: str, params: dict[str, Any]) -> str:
    try:
        await bridge.methods.call(method, params)
    except BridgeError as exc:
        return exc.message
    raise AssertionError(f"{method} {params} did not fail")
