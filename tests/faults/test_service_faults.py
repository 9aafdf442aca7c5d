"""Podman's API service killed in the middle of an update, and D-Bus restarted in the
middle of a rollback: the update still ends in exactly one state, nothing is lost, and the
bridge reconnects on its own. The bridge runs in this process; the fault is done at a named
point of its code (bridge.faults.HOOKS), so it lands exactly where it hurts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import faults
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from plugins.auto_update.plugin import AutoUpdatePlugin
from plugins.rollback_watcher.plugin import RollbackWatcherPlugin
from tests.bench.autoupdate import container_image, image_id, registries_conf, start_pushed
from tests.bench.autoupdate import remove_units as remove_bench_units
from tests.helpers import unique
from tests.integration.bridgefix import start_bridge, wait_for
from tests.integration.test_rollback_scenarios import (
    EXIT5,
    App,
    outcome,
    simulate_update,
    start_watcher,
    test_images,  # noqa: F401  (a fixture)
)
from tests.integration.test_rollback_scenarios import make_app as make_app


@pytest.fixture
def fault_at() -> Iterator[dict[str, Any]]:
    hooks: dict[str, Any] = {}
    faults.HOOKS.clear()
    try:
        yield faults.HOOKS
    finally:
        faults.HOOKS.clear()
        del hooks


async def test_podman_service_killed_mid_update(world: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                fault_at: dict[str, Any]) -> None:
    remote, unit = await asyncio.to_thread(start_pushed, world, unique("flt-pk"), HTTPD_V1)
    conf = {"auto_update": {"timer": False, "tls_verify": False,
                            "registries_conf": registries_conf(world)},
            "rollback_watcher": {"probation": 3, "poll_interval": 0.5}}
    bridge = await start_bridge(
        world, tmp_path / "state", monkeypatch,
        {"auto_update": AutoUpdatePlugin, "rollback_watcher": RollbackWatcherPlugin}, conf)
    killed: list[str] = []

    def kill_podman() -> None:
        # Podman's API service dies (SIGKILL) after the pull, before the restart.
        faults.HOOKS.pop("autoupdate.after_pull", None)
        world.systemctl("kill", "-s", "KILL", "podman.service", check=False)
        killed.append(world.systemctl("show", "-p", "ActiveState", "--value",
                                      "podman.service").stdout.strip())

    try:
        await asyncio.to_thread(world.podman, "push", "--quiet", "--tls-verify=false",
                                HTTPD_V2, remote)
        fault_at["autoupdate.after_pull"] = kill_podman
        with bridge.bus.subscribe(["rollback.*"]) as sub:
            report = await bridge.methods.call("autoupdate.run", {})
            [row] = [r for r in report["rows"] if r["Unit"] == unit.unit]
            got = await outcome(sub, unit.unit, timeout=120)
        assert killed, "the fault never ran"
        # Kept: the restart onto the new image went through, its probation passed.
        assert row["Updated"] == "true", row
        assert got["type"] == "rollback.passed", got
        v2 = await asyncio.to_thread(image_id, world, HTTPD_V2)
        assert await asyncio.to_thread(container_image, world, unit.name) == v2
        # The bridge found Podman again (socket activation brought the service back).
        await wait_for(lambda: bool(bridge.podman_source and
                                    bridge.podman_source.connected), timeout=60,
                       what="the podman source to reconnect")
        assert bridge.store is not None
        assert (await bridge.methods.call("rollback.status", {}))["watches"] == []
    finally:
        faults.HOOKS.clear()
        await bridge.stop()
        await asyncio.to_thread(remove_bench_units, world, [unit])


async def test_dbus_restarted_mid_rollback(world: Any, make_app: Any, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch,
                                           fault_at: dict[str, Any]) -> None:
    app: App = make_app(labels={"io.podbridge.rollback.probation": "15s"})
    v1 = app.running_image_id()
    bridge = await start_watcher(world, tmp_path / "state", monkeypatch)
    restarted: list[bool] = []

    def restart_dbus() -> None:
        # After the re-tag, before the rollback's RestartUnit: the system bus goes away.
        # Once (the rollback, done again after the bus is back, passes here again).
        faults.HOOKS.pop("rollback.after_retag", None)
        done = world.systemctl("restart", "dbus.service", check=False)
        restarted.append(done.returncode == 0)

    fault_at["rollback.after_retag"] = restart_dbus
    try:
        with bridge.bus.subscribe(["rollback.*"]) as sub:
            assert await simulate_update(bridge, app, EXIT5) == "done"
            got = await outcome(sub, app.unit, timeout=180)
        assert restarted == [True], "the fault never ran, or D-Bus did not restart"
        assert got["type"] == "rollback.performed", (got.get("reason"), got)
        assert app.running_image_id() == v1 and app.image_id(app.image) == v1
        assert app.active_state() == "active"
        await wait_for(lambda: bool(bridge.systemd_source and
                                    bridge.systemd_source.connected), timeout=60,
                       what="the systemd source to reconnect")
        history = await bridge.methods.call("rollback.history", {"unit": app.unit})
        assert [r["kind"] for r in history] == ["performed"], history
    finally:
        faults.HOOKS.clear()
        await bridge.stop()
        # The world is the session's: its bus must be up for the tests after this one.
        world.systemctl("reset-failed", "dbus.service", check=False)
        world.systemctl("start", "dbus.socket", "dbus.service", check=False)
