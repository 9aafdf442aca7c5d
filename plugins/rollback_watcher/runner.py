"""One watch from start to end: judge the update; if bad, roll back, restart the
dependents, and judge the rollback the same way.

Every step is saved before the next one begins, so a runner started on a watch read back
from the store (``resumed``) goes on from its phase: ``update`` judges on (a missed
JobRemoved is inferred from the unit), ``rollback`` re-tags and restarts again (both are
idempotent), ``verify`` judges the rollback's restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bridge import faults
from bridge.bus import Publish, Subscription
from bridge.container_info import UNIT_LABEL
from bridge.errors import BridgeError
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient
from bridge.updates import (
    ROLLBACK_FAILED,
    ROLLBACK_PASSED,
    ROLLBACK_PERFORMED,
    ROLLBACK_WATCHING,
    ROLLED_BACK,
    WatchData,
)
from plugins.rollback_watcher import rollback
from plugins.rollback_watcher.journal import Watch, WatchJournal
from plugins.rollback_watcher.verdict import PASSED, Probation
from plugins.rollback_watcher.watch import Judge

logger = logging.getLogger(__name__)


def steady_wall_clock() -> Callable[[], float]:
    """Wall-clock seconds that advance with the monotonic clock. Probation times are kept
    as wall-clock (they outlive the process, in the store), but within one run a step of
    the system clock (NTP, someone setting the date) must neither end a probation early
    nor stretch it: this clock starts at the wall time and then only moves with the
    monotonic one."""
    wall0, mono0 = time.time(), time.monotonic()
    return lambda: wall0 + (time.monotonic() - mono0)


@dataclass
class Settings:
    rollback: bool = True
    job_timeout: float = 300.0
    health_grace: float = 30.0
    poll_interval: float = 1.0
    handoff_timeout: float = 120.0


class Runner:
    def __init__(self, watch: Watch, sub: Subscription, *, podman: PodmanClient,
                 systemd: SystemdClient, journal: WatchJournal, publish: Publish,
                 settings: Settings, resumed: bool = False,
                 clock: Callable[[], float] | None = None) -> None:
        self.w = watch
        self.sub = sub
        self.podman = podman
        self.systemd = systemd
        self.journal = journal
        self.publish = publish
        self.settings = settings
        self.resumed = resumed
        self.clock = clock or steady_wall_clock()
        self.finished: WatchData | None = None

    def save(self) -> None:
        self.journal.save(self.w)

    def _event(self, type: str, **data: Any) -> None:
        self.publish(type, self.w.unit, {**self.w.summary(), **data})

    def _judge(self, infer_job: bool, job: str = "") -> Judge:
        return Judge(self.w.unit, self.w.probation, self.sub, podman=self.podman,
                     systemd=self.systemd, save=self.save, clock=self.clock,
                     poll_interval=self.settings.poll_interval,
                     probation_fixed=self.w.probation_fixed, infer_job=infer_job,
                     run=self.w.run, job=job)

    async def run(self) -> WatchData:
        try:
            return await self._run()
        finally:
            self.sub.close()

    async def _run(self) -> WatchData:
        w = self.w
        self._event(ROLLBACK_WATCHING, resumed=self.resumed)
        # A watch resumed at the bridge's start can run before the systemd source has
        # connected the client: what it reads first (dependents, whether the unit was
        # restarted at all) must come from systemd, not from "not connected".
        await self._reconnected(self.settings.job_timeout)
        if w.phase == "update" and w.dependents is None:
            # Read now: a BindsTo= dependent that the crash stops can be unloaded by
            # systemd, and then the unit's BoundBy no longer names it.
            await self._read_dependents()
        if w.phase == "update" and self.resumed and w.probation.job_result is None \
                and await self._never_restarted():
            # The bridge died after the name moved but before the restart: the unit still
            # runs the previous image. Point the name back at it: rolled back, not half.
            w.reason = ("interrupted before the restart: the unit still runs the previous "
                        "image")
            w.rolled_back_by = "rollback_watcher"
            w.rollback_at = self.clock()
            try:
                await rollback.retag_previous(self.podman, w.changes)
            except BridgeError as exc:
                return await self._finish("failed", ROLLBACK_FAILED, stage="rollback",
                                          reason=f"{w.reason}; cannot re-tag: {exc.message}")
            logger.warning("%s: %s; its name points at the previous image again", w.unit,
                           w.reason)
            return await self._finish("performed", ROLLBACK_PERFORMED, stage="interrupted")
        if w.phase == "update":
            judge = self._judge(infer_job=self.resumed)
            verdict = await judge.verdict()
            if verdict.outcome == PASSED:
                logger.info("%s passed its probation", w.unit)
                return await self._finish("passed", ROLLBACK_PASSED)
            w.reason = verdict.reason
            logger.warning("%s: the update is bad: %s", w.unit, w.reason)
            if (w.origin == "autoupdate" and w.probation.job_result not in (None, "done")
                    and not self.resumed):
                # Podman's algorithm (and so the auto-update plugin) re-tags and restarts
                # by itself when the job fails: let it, then judge its restart.
                if await judge.wait_autoupdate(self.settings.handoff_timeout) == ROLLED_BACK:
                    w.rolled_back_by = "auto_update"
                    self._begin_verify(job_result=None)
            if w.phase == "update":
                if not self.settings.rollback:
                    return await self._finish("failed", ROLLBACK_FAILED,
                                              stage="update (rollback disabled)")
                w.phase = "rollback"
                self.save()
        if w.phase == "rollback":
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.settings.job_timeout
            while True:
                try:
                    await self._roll_back()
                    break
                except BridgeError as exc:
                    # systemd's bus went away (D-Bus restarted): both steps are
                    # idempotent, so wait for the connection and do them again.
                    if self.systemd.connected or loop.time() > deadline:
                        return await self._finish(
                            "failed", ROLLBACK_FAILED, stage="rollback",
                            reason=f"{w.reason}; the rollback failed: {exc.message}")
                    logger.warning("%s: the rollback lost systemd's bus (%s); retrying",
                                   w.unit, exc.message)
                    w.phase = "rollback"
                    self.save()
                    await self._reconnected(deadline - loop.time())
        verdict = await self._judge(infer_job=w.probation.job_result is None,
                                    job=w.job).verdict()
        if verdict.outcome != PASSED:
            return await self._finish("failed", ROLLBACK_FAILED, stage="verify",
                                      reason=f"{w.reason}; the previous image did not hold "
                                      f"either: {verdict.reason}")
        if not w.restarted:
            await self._restart_dependents()
        return await self._finish("performed", ROLLBACK_PERFORMED)

    async def _never_restarted(self) -> bool:
        """No job pending on the unit, and every running container of it still runs a
        previous image (none a new one): the restart never happened."""
        try:
            props = await self.systemd.unit_properties(self.w.unit)
            if (props.get("Job") or (0, "/"))[0]:
                return False
            rows = await self.podman.containers(
                all=False, filters={"label": [f"{UNIT_LABEL}={self.w.unit}"]})
        except BridgeError as exc:
            logger.warning("%s: cannot tell whether it was restarted: %s", self.w.unit, exc)
            return False
        previous = {c.previous_image_id.removeprefix("sha256:") for c in self.w.changes}
        running = {str(r.get("ImageID") or r.get("Image") or "").removeprefix("sha256:")
                   for r in rows}
        return bool(running) and running <= previous

    def _begin_verify(self, job_result: str | None) -> None:
        w = self.w
        old = w.probation
        w.probation = Probation(begun_at=self.clock(), probation=old.probation,
                                job_timeout=old.job_timeout, health_grace=old.health_grace)
        if job_result is not None:
            w.probation.job_done(job_result, self.clock())
        w.rollback_at = w.rollback_at or self.clock()
        # What is queued is of the bad update (a crash loop goes on until the restart is
        # taken up): of no use to the judge of the rollback, and misleading.
        self.sub.drain()
        w.phase = "verify"
        self.save()
        self._event(ROLLBACK_WATCHING, resumed=False)

    async def _roll_back(self) -> None:
        w = self.w
        w.rolled_back_by = "rollback_watcher"
        w.rollback_at = self.clock()
        await rollback.retag_previous(self.podman, w.changes)
        faults.point("rollback.after_retag")
        if (await self.systemd.unit_properties(w.unit)).get("ActiveState") == "failed":
            await self.systemd.reset_failed_unit(w.unit)
        w.job = await self.systemd.restart_unit(w.unit)
        logger.info("%s: rolling back (job %s)", w.unit, w.job)
        self._begin_verify(job_result=None)
        try:
            result: str | None = await self.systemd.wait_job(w.job,
                                                             self.settings.job_timeout)
        except BridgeError as exc:
            if self.systemd.connected:
                result = f"unknown ({exc.message})"
            else:
                # The bus went away with the job running: its result is inferred from the
                # unit once the bus is back (the judge reads it), not taken as a failure.
                logger.warning("%s: lost systemd's bus waiting for the rollback's job",
                               w.unit)
                result = None
        # Until the job is taken up, the bad image's crash loop goes on (auto-restart,
        # NRestarts rising): those events are not about the rollback. From here on the
        # judge's first poll sets what is normal.
        self.sub.drain()
        w.probation.n_restarts = None
        if result is not None:
            w.probation.job_done(result, self.clock())
        self.save()
        if result is None:
            await self._reconnected(self.settings.job_timeout)
        if result == "done":
            # Units that a crash of this one stopped (BindsTo=) run again at once, not
            # only after the probation.
            await self._restart_dependents()

    async def _reconnected(self, timeout: float) -> None:
        """Wait (at most ``timeout`` s) until the systemd client is connected again: the
        systemd source reconnects it; the client has no event to wait on, so poll."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.systemd.connected and loop.time() < end:  # noqa: ASYNC110
            await asyncio.sleep(0.2)

    async def _read_dependents(self) -> list[str]:
        w = self.w
        try:
            names = await rollback.dependents(self.systemd, w.unit)
        except BridgeError as exc:
            logger.warning("%s: cannot read its dependents: %s", w.unit, exc)
            names = []
        w.dependents = sorted(set(names) | set(w.dependents or []))
        self.save()
        return w.dependents

    async def _restart_dependents(self) -> None:
        w = self.w
        names = await self._read_dependents()
        w.restarted = await rollback.restart_dependents(
            self.systemd, names, w.rollback_at or 0.0, self.settings.job_timeout)
        self.save()

    async def _finish(self, kind: str, event: str, **extra: Any) -> WatchData:
        w = self.w
        await rollback.release_kept(self.podman, w.keep_tags)
        record = self.journal.finish(self.w, kind, **extra)
        self.publish(event, w.unit, record)
        self.finished = record
        return record
