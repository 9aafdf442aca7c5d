"""After a reboot: what the restart manager starts, next to Podman 4.3's own
``podman start --all --filter restart-policy=always`` on the same containers."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox import World
from bridge.sandbox.demo import install_unit, notify_unit
from bridge.sandbox.images import SLEEP
from tests.integration.bridgefix import wait_for
from tests.integration.test_restart_support import events, manager_bridge, states, wait_event

logger = logging.getLogger(__name__)

UNIT = "unit.service"
UNIT_ENABLED = "unit-enabled.service"
NAMES = ["always", "unless", "unless-stopped-by-user", "no", "on-failure-exit0", "unit",
         "unit-enabled", "always-never-started"]


def make_containers(w: World) -> None:
    w.podman("run", "-d", "--name", "always", "--restart=always", SLEEP)
    w.podman("run", "-d", "--name", "unless", "--restart=unless-stopped", SLEEP)
    w.podman("run", "-d", "--name", "unless-stopped-by-user", "--restart=unless-stopped",
             SLEEP)
    w.podman("run", "-d", "--name", "no", SLEEP)
    w.podman("run", "-d", "--name", "on-failure-exit0", "--restart=on-failure", SLEEP,
             "sh", "-c", "exit 0")
    w.podman("create", "--name", "always-never-started", "--restart=always", SLEEP)
    # Run by systemd. This unit is not enabled, so it stays down after a reboot; its
    # container has a Podman policy that `podman start --all --filter
    # restart-policy=always` acts on (Podman refuses --restart with --rm: keep it).
    install_unit(w, UNIT, notify_unit("unit", SLEEP, "--restart=always").replace(
        " --rm", ""), enable=False)
    w.systemctl("start", UNIT)
    # This one is enabled: systemd brings it back at boot.
    install_unit(w, UNIT_ENABLED, notify_unit("unit-enabled", SLEEP))
    w.systemctl("start", UNIT_ENABLED)
    w.podman("stop", "-t", "2", "unless-stopped-by-user")


def running(found: dict[str, str]) -> set[str]:
    return {n for n, s in found.items() if s.startswith("Up") or s == "running"}


async def test_boot_restart_after_reboot_compared_with_podman(
        fresh_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    w = fresh_world
    state_dir = tmp_path / "state"
    async with manager_bridge(w, state_dir, monkeypatch) as bridge:
        await asyncio.to_thread(make_containers, w)
        store = bridge.store
        assert store is not None
        # The bridge saw the user's stop and wrote it down.
        await wait_for(lambda: any(v.get("name") == "unless-stopped-by-user"
                                   and v.get("stopped") for v in
                                   store.items("restart_manager").values()
                                   if isinstance(v, dict)),
                       what="the user stop in the store")
        before = await asyncio.to_thread(states, w, NAMES)
        logger.info("before the reboot: %s", before)
        assert running(before) == {"always", "unless", "no", "unit", "unit-enabled"}

    # -- reboot, then a bridge start
    await asyncio.to_thread(w.reboot)
    after_reboot = await asyncio.to_thread(states, w, NAMES)
    logger.info("after the reboot: %s", after_reboot)
    assert running(after_reboot) <= {"unit-enabled"}  # only systemd's own
    # Let systemd finish bringing its enabled unit back first: while `podman run --replace`
    # recreates that container it is briefly absent from Podman's list, and the boot pass
    # would then not see it at all.
    await wait_for(lambda: w.systemctl("is-active", UNIT_ENABLED, check=False).stdout.strip()
                   == "active", timeout=60, what="systemd's enabled unit after the reboot")
    async with manager_bridge(w, state_dir, monkeypatch) as bridge:
        boot = await wait_event(bridge, "restart.boot", timeout=60)
        report: dict[str, Any] = boot.data
        logger.info("boot pass: %s", report)
        assert report["trigger"] == "start" and report["boot"] and not report["conservative"]
        assert set(report["started"]) == {"always", "unless"}
        assert report["failed"] == {}
        assert {k: v for k, v in report["skipped"].items() if k in NAMES} == {
            "unless-stopped-by-user": "user-stopped", "no": "policy-no",
            "on-failure-exit0": "policy-on-failure", "unit": "systemd-unit",
            "unit-enabled": "systemd-unit", "always-never-started": "never-started"}
        # systemd brings its enabled unit back; the manager started the two, nothing else.
        await wait_for(lambda: running(states(w, NAMES)) == {
            "always", "unless", "unit-enabled"}, what="systemd's enabled unit")
        ours = await asyncio.to_thread(states, w, NAMES)
        logger.info("after the manager's boot pass: %s", ours)
        assert ours["on-failure-exit0"].startswith("Exited (0)")
        assert w.systemctl("is-active", UNIT, check=False).stdout.strip() == "inactive"

        # A bridge restart in the same boot does nothing again.
        await asyncio.to_thread(w.podman, "stop", "-t", "2", "always")
    caplog.set_level(logging.INFO, logger="plugins.restart_manager.plugin")
    async with manager_bridge(w, state_dir, monkeypatch) as bridge:
        # The manager's own verdict on this boot, not a pause: it found the boot handled.
        await wait_for(lambda: any("was handled already; no boot pass" in r.getMessage()
                                   for r in caplog.records), timeout=60,
                       what="the restart manager to decide on the boot")
        assert not events(bridge, "restart.boot")
        assert (await asyncio.to_thread(states, w, ["always"]))["always"].startswith("Exited")

    # -- the same containers, another reboot, and Podman 4.3's own boot command
    await asyncio.to_thread(w.reboot)
    await asyncio.to_thread(w.podman, "start", "--all", "--filter", "restart-policy=always")
    await wait_for(lambda: "unit-enabled" in running(states(w, NAMES)),
                   what="systemd's enabled unit")
    podmans = await asyncio.to_thread(states, w, NAMES)
    logger.info("after podman start --all --filter restart-policy=always: %s", podmans)
    ours_running, podman_running = running(ours), running(podmans)
    logger.info("manager only: %s; podman only: %s", sorted(ours_running - podman_running),
                sorted(podman_running - ours_running))
    # Podman 4.3 leaves unless-stopped containers down, starts an always container that
    # never ran, and starts a unit's container behind systemd's back (the unit stays
    # inactive); both leave the user-stopped, the no and the exit-0 on-failure ones alone.
    assert ours_running - podman_running == {"unless"}
    assert podman_running - ours_running == {"always-never-started", "unit"}
    assert ours_running & podman_running == {"always", "unit-enabled"}
    assert w.systemctl("is-active", UNIT, check=False).stdout.strip() == "inactive"


async def test_refresh_while_the_bridge_runs(fresh_world: World, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The bridge stays up across the reboot: Podman's refresh event triggers the pass."""
    w = fresh_world
    async with manager_bridge(w, tmp_path / "state", monkeypatch) as bridge:
        await asyncio.to_thread(w.podman, "run", "-d", "--name", "always", "--restart=always",
                                SLEEP)
        await asyncio.to_thread(w.podman, "run", "-d", "--name", "no", SLEEP)
        await asyncio.to_thread(w.reboot)
        refresh = await wait_event(bridge, "system.refresh", timeout=60)
        await wait_for(lambda: any(e.data["trigger"] == "refresh"
                                   for e in events(bridge, "restart.boot")),
                       60, what="the refresh's boot pass")
        boot = next(e for e in events(bridge, "restart.boot")
                    if e.data["trigger"] == "refresh")
        logger.info("refresh %s -> boot pass %s", refresh.data.get("time"), boot.data)
        assert boot.data["trigger"] == "refresh" and boot.data["boot"] == refresh.data["time"]
        assert boot.data["started"] == ["always"]
        assert boot.data["skipped"]["no"] == "policy-no"
        assert running(await asyncio.to_thread(states, w, ["always", "no"])) == {"always"}
