"""The rollback watcher and the REAL auto-update plugin in one bridge, registry policy
(issue 7's "Show", the two cases the other files leave out).

1. An image that starts, reports ready (``--sdnotify=conmon``) and exits 1 after 5 s is
   pushed as the new digest of the unit's tag. The real ``podman auto-update`` reports
   ``true`` and leaves it in place (its rollback only looks at the restart job, which is
   ``done``): the unit then crash-loops on the bad image. The same update through the
   bridge's ``autoupdate.run`` is also ``true``, but the watcher rolls it back within its
   probation (12 s, set by the container's ``io.podbridge.rollback.probation`` label).
2. An image whose command does not exist: ``podman run`` fails, the restart job ends
   ``failed``, and the auto-update plugin rolls back by itself (``rolled back``). The
   watcher hands off to it (``handoff_timeout``): it judges the auto-update's own
   rollback, records ``performed`` by ``auto_update``, and never restarts the unit a
   second time.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bridge.app import Bridge
from bridge.events import Event
from bridge.sandbox import World
from bridge.sandbox.demo import notify_unit
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from bridge.tasks import within
from plugins.auto_update.plugin import AutoUpdatePlugin
from plugins.rollback_watcher.plugin import RollbackWatcherPlugin
from plugins.rollback_watcher.rollback import KEEP_REPO
from tests.bench.autoupdate import (
    Unit,
    container_image,
    image_id,
    podmans,
    registries_conf,
    remove_units,
    results,
    serving,
    unexecutable_image,
)
from tests.integration.bridgefix import start_bridge, until_stopped, wait_for

PROBATION = 12.0
LABELS = f"io.podbridge.rollback.probation={PROBATION:g}s"
# Ready at once (conmon notifies when the container starts), serves v2, exits 1 after 5 s.
EXIT5_CMD = ('["/bin/sh", "-c", "trap \'exit 0\' TERM; httpd -f -p 80 -h /var/www & '
             'sleep 5; exit 1"]')
ENDINGS = ("rollback.passed", "rollback.performed", "rollback.failed")


@dataclass
class Case:
    """One unit on an image of the world's registry, and what the test made for it."""

    world: World
    unit: Unit
    names: list[str] = field(default_factory=list)    # names of shared images: untag
    made: list[str] = field(default_factory=list)     # IDs of the test's images: remove

    @property
    def name(self) -> str:
        return self.unit.name

    def show(self, prop: str) -> str:
        return str(self.world.systemctl("show", "-p", prop, "--value", self.unit.unit)
                   .stdout.strip())

    def container_id(self) -> str:
        return str(self.world.podman("inspect", "--format", "{{.Id}}", self.name)
                   .stdout.strip())


@pytest.fixture
def case(world: World) -> Iterator[Case]:
    """A unit (policy registry, probation label) running httpd v1 from the registry."""
    uid = uuid.uuid4().hex[:8]
    remote = f"{world.registry}/podbridge/rbau-{uid}:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    c = Case(world, Unit(f"rbau-{uid}", remote, "registry"), names=[remote])
    try:
        (world.unit_dir / c.unit.unit).write_text(notify_unit(
            c.name, remote, args=f"--label io.containers.autoupdate=registry "
            f"--label {LABELS}"))
        world.systemctl("daemon-reload")
        world.systemctl("start", c.unit.unit)
        assert "v1" in serving(world, c.name)
        yield c
    finally:
        remove_units(world, [c.unit])
        world.podman("rm", "-f", "-t", "0", c.name, check=False)
        for ref in c.names:
            world.podman("untag", ref, ref, check=False)   # that name only (v1 stays)
        for image in c.made:
            world.podman("rmi", "--force", "--ignore", image, check=False)


def bad_image(world: World, cmd: str, name: str) -> str:
    """httpd v2 with another command (a local image, to be pushed)."""
    tmp = f"{name.replace('/', '-').replace(':', '-')}-tmp"
    world.podman("create", "--name", tmp, HTTPD_V2)
    try:
        world.podman("commit", "--quiet", "--change", f"CMD {cmd}", tmp, name)
    finally:
        world.podman("rm", "-f", tmp)
    return name


@pytest.fixture
async def both(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> AsyncIterator[Bridge]:
    """A bridge with the real auto-update plugin and the real rollback watcher. The
    probation default stays 30 s: the 12 s come from the container's label."""
    conf = {"auto_update": {"timer": False, "registries_conf": registries_conf(world)},
            "rollback_watcher": {"poll_interval": 0.5, "handoff_timeout": 20.0}}
    async with until_stopped(start_bridge(
            world, tmp_path / "state", monkeypatch,
            {"auto_update": AutoUpdatePlugin, "rollback_watcher": RollbackWatcherPlugin},
            conf)) as b:
        yield b


class Recorder:
    """Every ``rollback.*`` event of one unit, stamped (``time.monotonic``) as it is
    published: a bus listener runs inline in ``publish``."""

    def __init__(self, bridge: Bridge, unit: str) -> None:
        self.unit = unit
        self.events: list[tuple[float, Event]] = []
        self.ended = asyncio.Event()
        self._stop = bridge.bus.listen(["rollback.*"], self._on)

    def _on(self, ev: Event, _raw: bytes) -> None:
        if ev.subject == self.unit:
            self.events.append((time.monotonic(), ev))
            if ev.type in ENDINGS:
                self.ended.set()

    async def until_end(self, timeout: float) -> list[tuple[float, Event]]:
        try:
            await within(self.ended.wait(), timeout)
        finally:
            self._stop()
        return self.events

    def types(self) -> list[tuple[str, str | None]]:
        return [(e.type, e.data.get("phase")) for _, e in self.events]


def kept_names(world: World, case: Case) -> list[str]:
    """Names the watcher holds the previous image by during a probation."""
    names = world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    return [n for n in names if n.startswith(f"{KEEP_REPO}:{case.name}")]


async def test_ready_then_exit_podman_keeps_it_we_roll_it_back(
        world: World, case: Case, both: Bridge) -> None:
    v1 = image_id(world, HTTPD_V1)
    exit5 = bad_image(world, EXIT5_CMD, f"localhost/podbridge/{case.name}:exit5")
    bad = image_id(world, exit5)
    case.made.append(bad)
    world.podman("push", "--quiet", exit5, case.unit.image)

    # (a) The real podman auto-update: the restart job is done, so it is an update.
    podman_began = time.monotonic()
    status, rows, stderr = await asyncio.to_thread(podmans, world)
    podman_took = time.monotonic() - podman_began
    assert results(rows, [case.unit]) == {case.name: "true"}, (rows, stderr)
    assert status == 0, stderr
    # ...and the bad image stays: the name points at it and the unit crash-loops on it.
    assert image_id(world, case.unit.image) == bad
    restarts = int(case.show("NRestarts"))
    await wait_for(lambda: int(case.show("NRestarts")) != restarts, 20,
                   "the exit-after-5-s image to crash", 0.2)
    crashed = time.monotonic() - podman_began
    # Podman rolls back, if at all, within its auto-update command, which has ended: after
    # the crash the name still points at the bad image (no pause needed to know it).
    assert image_id(world, case.unit.image) == bad, "Podman rolled back after all"
    # Back to the good image, by hand, as a user would have to.
    world.podman("tag", v1, case.unit.image)
    world.systemctl("reset-failed", case.unit.unit, check=False)
    world.systemctl("restart", case.unit.unit)
    assert container_image(world, case.name) == v1 and "v1" in serving(world, case.name)

    # (b) The same update through the bridge: the registry still has the bad digest.
    rec = Recorder(both, case.unit.unit)
    began = time.monotonic()
    report = await both.methods.call("autoupdate.run", {})
    ran_for = time.monotonic() - began
    [row] = [r for r in report["rows"] if r["Unit"] == case.unit.unit]
    # What Podman's rule says, here too: the restart job was done.
    assert row["Updated"] == "true", row
    assert row["OldImageID"] == v1 and row["NewImageID"] == bad, row
    events = await rec.until_end(timeout=60)
    types = rec.types()
    end_at, end = events[-1]
    assert end.type == "rollback.performed", (end.data.get("reason"), types)
    assert types == [("rollback.watching", "update"), ("rollback.watching", "verify"),
                     ("rollback.performed", "verify")], types
    watched_at, verify_at = events[0][0], events[1][0]
    # Judged bad within the probation (the container exits 5 s after its start), and
    # the rollback then held for a probation of its own on the old image.
    judged = verify_at - watched_at
    assert judged < PROBATION, f"judged only after {judged:.1f} s"
    assert end_at - verify_at >= PROBATION
    assert end.data["rolled_back_by"] == "rollback_watcher", end.data
    assert end.data["origin"] == "autoupdate" and end.data["run"] == report["run"]
    assert end.data["probation"] == PROBATION, "the label's probation"
    assert any(w in end.data["reason"] for w in ("died", "NRestarts", "auto-restart",
                                                 "left")), end.data["reason"]

    [hist] = await both.methods.call("rollback.history", {"unit": case.unit.unit})
    assert hist["kind"] == "performed" and hist["rolled_back_by"] == "rollback_watcher"
    assert hist["changes"][0]["previous_image_id"] == v1
    assert hist["changes"][0]["new_image_id"] == bad
    status_now = await both.methods.call("rollback.status", {})
    assert status_now["watches"] == [], status_now

    assert case.show("ActiveState") == "active"
    assert container_image(world, case.name) == v1
    assert image_id(world, case.unit.image) == v1, "the name points at v1 again"
    assert "v1" in serving(world, case.name)
    assert kept_names(world, case) == [], "the previous image is released after"

    # The refused image is not applied again at the next run (Podman's would, every run):
    # the registry still offers it, and the check says why it is skipped...
    again = await both.methods.call("autoupdate.run", {})
    [row] = [r for r in again["rows"] if r["Unit"] == case.unit.unit]
    assert row["Updated"] == "false" and "rolled back" in row["Reason"], row
    assert container_image(world, case.name) == v1
    # ...until a newer image is pushed to the tag.
    world.podman("push", "--quiet", HTTPD_V2, case.unit.image)
    newer = await both.methods.call("autoupdate.run", {"dry_run": True})
    [row] = [r for r in newer["rows"] if r["Unit"] == case.unit.unit]
    assert row["Updated"] == "pending", row
    print(f"\nexit5: podman auto-update -> true in {podman_took:.1f} s, first crash "
          f"{crashed:.1f} s after it began, bad image kept; autoupdate.run -> true "
          f"in {ran_for:.1f} s, judged bad {judged:.1f} s after the restart "
          f"({end.data['reason']}), rollback.performed {end_at - began:.1f} s after "
          f"the run began")


async def test_failed_restart_job_is_handed_to_auto_update(
        world: World, case: Case, both: Bridge) -> None:
    v1 = image_id(world, HTTPD_V1)
    broken = unexecutable_image(world, HTTPD_V2, f"localhost/podbridge/{case.name}:noexec")
    case.made.append(image_id(world, broken))
    world.podman("push", "--quiet", broken, case.unit.image)
    before = case.container_id()

    rec = Recorder(both, case.unit.unit)
    began = time.monotonic()
    report = await both.methods.call("autoupdate.run", {})
    ran_for = time.monotonic() - began
    [row] = [r for r in report["rows"] if r["Unit"] == case.unit.unit]
    assert row["Updated"] == "rolled back", row
    assert "expected \"done\" but received 'failed'" in row["Reason"], row
    # auto-update's own rollback restarted the unit on v1: this container must last to
    # the end (the watcher does not restart the unit again).
    after_autoupdate = case.container_id()
    assert after_autoupdate != before
    assert container_image(world, case.name) == v1
    events = await rec.until_end(timeout=20 + 2 * PROBATION)
    types = rec.types()
    end_at, end = events[-1]
    assert end.type == "rollback.performed", (end.data.get("reason"), types)
    assert types == [("rollback.watching", "update"), ("rollback.watching", "verify"),
                     ("rollback.performed", "verify")], types
    assert end.data["rolled_back_by"] == "auto_update", end.data
    assert "'failed'" in end.data["reason"], end.data["reason"]
    assert end.data["probation"] == PROBATION
    # Handed off as soon as auto-update said "rolled back", not after the handoff
    # timeout (20 s): the verify watch began before the run had answered.
    handed_off = events[1][0] - began
    assert handed_off <= ran_for + 1, (handed_off, ran_for)
    assert end_at - events[1][0] >= PROBATION

    [hist] = await both.methods.call("rollback.history", {"unit": case.unit.unit})
    assert hist["kind"] == "performed" and hist["rolled_back_by"] == "auto_update", hist
    assert hist["run"] == report["run"]
    status_now = await both.methods.call("rollback.status", {})
    assert status_now["watches"] == [], status_now

    assert case.container_id() == after_autoupdate, "the unit was restarted again"
    assert case.show("ActiveState") == "active"
    assert container_image(world, case.name) == v1
    assert image_id(world, case.unit.image) == v1
    assert "v1" in serving(world, case.name)
    assert kept_names(world, case) == []
    print(f"\nnoexec: autoupdate.run -> rolled back in {ran_for:.1f} s; verify watch "
          f"{handed_off:.1f} s, rollback.performed (by auto_update) "
          f"{end_at - began:.1f} s after the run began")
