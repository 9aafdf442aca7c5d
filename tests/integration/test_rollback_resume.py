"""Crash safety: a bridge SIGKILLed mid-probation, started again on the same store, still
rolls back the bad update it was watching."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.images import HTTPD_V1
from tests.helpers import connect, free_port, plugins_off, serve_bridge
from tests.integration.bridgefix import until_stopped, wait_for
from tests.integration.test_rollback_scenarios import (
    EXIT5,
    App,
    start_watcher,
    test_images,  # noqa: F401  (a fixture)
)
from tests.integration.test_rollback_scenarios import make_app as make_app

CONFIG = """\
[plugins.rollback_watcher]
probation = 4
poll_interval = 0.5
""" + plugins_off("auto_update", "hooks", "restart_manager", "unit_generator")


async def test_bridge_killed_mid_probation_still_rolls_back(
        world: Any, make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app: App = make_app()
    v1 = app.running_image_id()
    state_dir, config = tmp_path / "state", tmp_path / "podbridge.toml"
    config.write_text(CONFIG)
    port = free_port()
    proc = await serve_bridge(world, state_dir, config, port)
    try:
        client = await connect(f"http://127.0.0.1:{port}", state_dir / "token")
        try:
            # Any code that changes a unit's image: rollback.watch first, then the restart.
            await asyncio.to_thread(world.podman, "tag", EXIT5, app.image)
            watch = await client.call("rollback.watch", {
                "unit": app.unit, "image": app.image, "previous_image_id": v1,
                "probation": "30s"})
            assert watch["phase"] == "update" and watch["probation"] == 30.0
            await asyncio.to_thread(world.systemctl, "restart", app.unit)
            # On probation (the job is done, the container serves)...
            await wait_for(lambda: bool(
                (s := world.podman("inspect", "--format", "{{.State.Status}}", app.name,
                                   check=False)).returncode == 0
                and s.stdout.strip() == "running"), what="the new container")
            # Wait for the watcher to have judged the restart good so far: its probation
            # began and it watches the new container (no fixed sleep: a slow machine
            # takes what it takes).
            deadline = time.monotonic() + 60
            while True:
                status = await client.call("rollback.status")
                [w] = [w for w in status["watches"] if w["unit"] == app.unit]
                if w["job_result"] == "done" and w["active_at"] and w["containers"]:
                    break
                assert time.monotonic() < deadline, f"never on probation: {w}"
                await asyncio.sleep(0.1)
            assert w["phase"] == "update"
            [watched] = w["containers"]
        finally:
            await client.close()
        # ...the bridge dies without a word, before the container exits (after 5 s).
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # The bad image crashes while no bridge runs: wait for it to have crashed (the
    # watched container is no longer running), not for a duration.
    def crashed() -> bool:
        state = world.podman("inspect", "--format", "{{.State.Status}}", watched,
                             check=False)
        return state.returncode != 0 or state.stdout.strip() != "running"

    await wait_for(crashed, timeout=60, what="the bad image's container to exit")

    async with until_stopped(start_watcher(world, state_dir, monkeypatch)) as bridge:
        def ended() -> bool:
            assert bridge.store is not None
            return any(r["kind"] in ("performed", "failed") for r in
                       bridge.store.journal("rollback_watcher", subject=app.unit))
        await wait_for(ended, timeout=60, what="the resumed watch to end")
        [row] = await bridge.methods.call("rollback.history", {"unit": app.unit})
        assert row["kind"] == "performed", row
        assert row["origin"] == "method"
        assert app.running_image_id() == v1 and app.active_state() == "active"
        assert app.image_id(app.image) == app.image_id(HTTPD_V1)
