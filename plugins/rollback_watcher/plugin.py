"""The rollback watcher plugin: every unit restarted by an update is put on probation, and a
bad update is rolled back to the previous image.

Where watches come from:
- ``autoupdate.updating`` (the auto-update plugin publishes it before it restarts a unit):
  a bus *listener*, run inline by ``publish``, writes the watch to the store before
  ``publish`` returns -- so before the restart is even asked for;
- the method ``rollback.watch`` ``{unit, image, previous_image_id}``, for any other code
  that changes a unit's image: call it, then restart the unit;
- ``rollback.now`` ``{unit}``: roll back by hand to the previous image.
Open watches are resumed when the plugin starts. Events: ``rollback.watching``,
``rollback.passed``, ``rollback.performed``, ``rollback.failed``; methods
``rollback.status``, ``rollback.history``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from pydantic import Field

from bridge.errors import BridgeError, NotFound
from bridge.events import Event
from bridge.methods import NoParams, Params, method
from bridge.plugin import PluginConfig, PluginContext
from bridge.timespan import Duration
from bridge.updates import AUTOUPDATE_UPDATING, UpdateData, WatchData, WatchHistoryEntry
from plugins.rollback_watcher import rollback
from plugins.rollback_watcher.journal import Change, Watch, WatchJournal
from plugins.rollback_watcher.runner import Runner, Settings
from plugins.rollback_watcher.verdict import Probation
from plugins.rollback_watcher.watch import PATTERNS

logger = logging.getLogger(__name__)


class WatchParams(Params):
    unit: str = Field(min_length=1)
    image: str = Field(min_length=1, description="the name the container is created from")
    previous_image_id: str = Field(min_length=1)
    new_image_id: str = ""
    container: str = ""
    probation: Duration | None = Field(
        default=None, ge=0, description="seconds or a duration (30s, 2m); default: the "
        "container's label io.podbridge.rollback.probation, else the configured default")


class UnitParams(Params):
    unit: str = Field(min_length=1)
    wait: bool = Field(default=False, description="answer when the rollback is judged")


class HistoryParams(Params):
    limit: int = Field(default=100, ge=1, le=10_000)
    unit: str | None = None


class RollbackWatcherPlugin:
    name = "rollback_watcher"

    class Config(PluginConfig):
        probation: Duration = Field(default=30.0, ge=0)
        rollback: bool = True
        watch_autoupdate: bool = True
        keep_previous: bool = True
        job_timeout: float = Field(default=300.0, gt=0)
        health_grace: float = Field(default=30.0, ge=0)
        poll_interval: float = Field(default=1.0, gt=0)
        handoff_timeout: float = Field(default=120.0, gt=0)

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: RollbackWatcherPlugin.Config = ctx.config
        self.journal = WatchJournal(ctx.store)
        self.runners: dict[str, tuple[Runner, asyncio.Task[Any]]] = {}

    async def start(self, ctx: PluginContext) -> None:
        for watch in self.journal.open_watches():
            logger.info("resuming the watch of %s (phase %s)", watch.unit, watch.phase)
            self._spawn(watch, resumed=True)
        if self.config.watch_autoupdate:
            ctx.listen(AUTOUPDATE_UPDATING, self._on_updating)

    async def stop(self) -> None:
        # The watches stay in the store; their tasks end here (cancelled, then awaited).
        for runner, task in self.runners.values():
            await self.ctx.tasks.cancel(task)
            runner.sub.close()
        self.runners.clear()

    # -- making watches
    def _settings(self) -> Settings:
        c = self.config
        return Settings(rollback=c.rollback, job_timeout=c.job_timeout,
                        health_grace=c.health_grace, poll_interval=c.poll_interval,
                        handoff_timeout=c.handoff_timeout)

    def _new_watch(self, unit: str, changes: list[Change], origin: str, run: str = "",
                   probation: float | None = None) -> Watch:
        c = self.config
        p = Probation(begun_at=time.time(), probation=c.probation if probation is None
                      else probation, job_timeout=c.job_timeout, health_grace=c.health_grace)
        # The last NRestarts seen before the restart: a rise from it is a crash.
        p.n_restarts = (self.ctx.state.units.get(unit) or {}).get("n_restarts")
        return Watch(unit=unit, changes=changes, probation=p, origin=origin, run=run,
                     probation_fixed=probation is not None)

    def _spawn(self, watch: Watch, resumed: bool = False) -> Runner:
        """Subscribe (now, synchronously: before any restart) and run the watch."""
        sub = self.ctx.subscribe(PATTERNS, maxsize=10_000)
        runner = Runner(watch, sub, podman=self.ctx.podman, systemd=self.ctx.systemd,
                        journal=self.journal, publish=self.ctx.publish,
                        settings=self._settings(), resumed=resumed)
        task = self.ctx.create_task(self._run(runner), name=f"rollback/{watch.unit}")
        self.runners[watch.unit] = (runner, task)
        return runner

    async def _run(self, runner: Runner) -> None:
        try:
            if not runner.w.keep_tags and self.config.keep_previous \
                    and runner.w.phase == "update":
                runner.w.keep_tags = await rollback.keep_previous(
                    runner.podman, runner.w.unit, runner.w.changes)
                runner.save()
            await runner.run()
        finally:
            current = self.runners.get(runner.w.unit)
            if current is not None and current[0] is runner:
                del self.runners[runner.w.unit]

    async def _supersede(self, unit: str, record: bool = False) -> None:
        """A new change to a unit ends the watch of the previous one (``record``: as
        superseded, in the history)."""
        found = self.runners.pop(unit, None)
        if found is None:
            return
        await self.ctx.tasks.cancel(found[1])
        if record:
            self._record_superseded(found[0].w)

    def _on_updating(self, event: Event, data: UpdateData) -> None:
        """Inline in ``publish``: the watch is in the store before the restart."""
        if data.get("dry_run") or data.get("rollback") is False:
            # A dry run changes nothing; with --rollback=false the user wants no rollback.
            return
        unit = str(data.get("unit") or event.subject)
        change = Change(image=str(data.get("image") or ""),
                        previous_image_id=str(data.get("old_image_id") or ""),
                        new_image_id=str(data.get("new_image_id") or ""),
                        container=str(data.get("container") or ""))
        if not unit or not change.image or not change.previous_image_id:
            logger.warning("autoupdate.updating for %s lacks the image or the previous "
                           "image ID: not watched", unit)
            return
        run = str(data.get("run") or "")
        found = self.runners.get(unit)
        if found is not None:
            w = found[0].w
            if w.origin == "autoupdate" and w.run == run and w.phase == "update" \
                    and w.probation.job_result is None:
                # Another container of the same unit, in the same run.
                w.changes.append(change)
                found[0].save()
                return
            # An update on top of a watch: the old one is superseded.
            self.runners.pop(unit)
            found[1].cancel()
            found[0].sub.close()
            self._record_superseded(w)
        # A fleet rollout names its probation in the event; else the label or the default.
        probation = data.get("probation")
        watch = self._new_watch(unit, [change], "autoupdate", run,
                                probation=float(probation) if isinstance(probation, int | float)
                                and probation >= 0 else None)
        self.journal.save(watch)
        self._spawn(watch)

    def _record_superseded(self, w: Watch) -> None:
        self.journal.finish(w, "superseded", reason="a newer change to the unit")

    # -- methods
    @method("rollback.watch", WatchParams, role="operator")
    async def do_watch(self, params: WatchParams) -> WatchData:
        """put a unit on probation before restarting it on a new image"""
        await self._supersede(params.unit, record=True)
        watch = self._new_watch(params.unit, [Change(
            params.image, params.previous_image_id, params.new_image_id, params.container)],
            "method", probation=params.probation)
        if self.config.keep_previous:
            watch.keep_tags = await rollback.keep_previous(self.ctx.podman, watch.unit,
                                                           watch.changes)
        self.journal.save(watch)
        self._spawn(watch)
        return watch.summary()

    @method("rollback.now", UnitParams, role="operator")
    async def do_now(self, params: UnitParams) -> WatchData:
        """roll a unit back to its previous image now"""
        found = self.runners.get(params.unit)
        if found is not None:
            w = found[0].w
            if w.phase != "update":
                raise BridgeError(f"{params.unit} is already being rolled back", "conflict")
            await self._supersede(params.unit)
            watch = self.journal.get(params.unit) or w
        else:
            last = next((r for r in self.journal.history(limit=50, unit=params.unit)
                         if r.get("result") == "passed"), None)
            if last is None or not last.get("changes"):
                raise NotFound(f"no update of {params.unit} to roll back: the watcher "
                               f"has seen none pass")
            watch = self._new_watch(params.unit, [Change(**c) for c in last["changes"]],
                                    "manual", probation=last.get("probation"))
        watch.origin = "manual" if watch.origin != "autoupdate" else watch.origin
        watch.reason = "rolled back by hand"
        watch.phase = "rollback"
        self.journal.save(watch)
        runner = self._spawn(watch)
        if not params.wait:
            return watch.summary()
        task = self.runners[params.unit][1]
        await asyncio.shield(task)
        return runner.finished or watch.summary()

    @method("rollback.status", role="viewer", readonly=True)
    async def do_status(self, _params: NoParams) -> dict[str, Any]:
        """the units on probation or being rolled back"""
        return {"probation": self.config.probation, "rollback": self.config.rollback,
                "watches": [w.summary() for w in self.journal.open_watches()]}

    @method("rollback.history", HistoryParams, role="viewer", readonly=True)
    async def do_history(self, params: HistoryParams) -> list[WatchHistoryEntry]:
        """ended watches (passed, performed, failed), newest first"""
        return self.journal.history(params.limit, params.unit)
