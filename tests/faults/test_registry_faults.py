"""A registry that answers 500, one that hangs, one that serves a corrupt manifest: the
auto-update of a unit whose image lives there fails with a clear reason, within the
configured timeout, and nothing is changed or left open (the unit keeps its container,
no watch, no intent); the bridge goes on serving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge.sandbox.images import HTTPD_V1
from bridge.tasks import within
from plugins.auto_update.history import History
from plugins.auto_update.plugin import AutoUpdatePlugin
from plugins.rollback_watcher.plugin import RollbackWatcherPlugin
from tests.bench.autoupdate import Unit, container_image, remove_units, start_units
from tests.helpers import serving
from tests.integration.bridgefix import start_bridge

MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
# mode -> what the failure's reason must say. The check reads the manifest itself through
# skopeo (not only its digest header), so a corrupt one fails there, before any pull.
MODES = {"500": "500", "hang": "timeout", "corrupt": "bad manifest"}


@pytest.fixture
async def bad_registry(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str]]:
    mode = request.param
    release = asyncio.Event()

    async def v2(req: web.Request) -> web.StreamResponse:
        if mode == "500":
            return web.Response(status=500, text='{"errors":[{"code":"UNKNOWN"}]}')
        if mode == "hang":
            await release.wait()        # until the test ends
            return web.Response(status=503)
        # A 200 whose body is not a manifest at all.
        return web.Response(status=200, body=b"{not a manifest", headers={
            "Content-Type": MANIFEST,
            "Docker-Content-Digest": "sha256:" + "0" * 64})

    app = web.Application()
    app.router.add_route("*", "/v2/{tail:.*}", v2)
    async with serving(app, shutdown_timeout=0.1) as port:
        try:
            yield mode, f"127.0.0.1:{port}"
        finally:
            release.set()


@pytest.mark.parametrize("bad_registry", list(MODES), indirect=True)
async def test_registry_fault_fails_clearly_and_changes_nothing(
        world: Any, bad_registry: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mode, host = bad_registry
    uid = uuid.uuid4().hex[:6]
    image = f"{host}/podbridge/flt-{uid}:latest"
    unit = Unit(f"flt-reg-{uid}", image, "registry")
    await asyncio.to_thread(world.podman, "tag", HTTPD_V1, image)
    await asyncio.to_thread(start_units, world, [unit])
    conf = {"auto_update": {"timer": False, "tls_verify": False, "registry_timeout": 3},
            "rollback_watcher": {"probation": 2}}
    # Its Podman source connected before the fault (start_bridge waits for it), so that
    # "still connected" after it says something.
    bridge = await start_bridge(
        world, tmp_path / "state", monkeypatch,
        {"auto_update": AutoUpdatePlugin, "rollback_watcher": RollbackWatcherPlugin}, conf)
    try:
        before = await asyncio.to_thread(container_image, world, unit.name)
        cid = (await asyncio.to_thread(world.podman, "inspect", "--format", "{{.Id}}",
                                       unit.name)).stdout.strip()
        report = await within(bridge.methods.call("autoupdate.run", {}), 120)
        [row] = [r for r in report["rows"] if r["Unit"] == unit.unit]
        assert row["Updated"] == "failed", row
        assert MODES[mode] in row["Reason"].lower(), row
        # Nothing changed, nothing left open.
        assert await asyncio.to_thread(container_image, world, unit.name) == before
        now = (await asyncio.to_thread(world.podman, "inspect", "--format", "{{.Id}}",
                                       unit.name)).stdout.strip()
        assert now == cid, "the unit was restarted"
        assert (await bridge.methods.call("rollback.status", {}))["watches"] == []
        assert bridge.store is not None and History(bridge.store).intents() == []
        assert (await bridge.methods.call("bridge.status", {}))["podman"]["connected"]
    finally:
        await bridge.stop()
        await asyncio.to_thread(remove_units, world, [unit])
        await asyncio.to_thread(world.podman, "rmi", "--ignore", image, check=False)
