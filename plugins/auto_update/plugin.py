"""The auto-update plugin: the timer, the methods, the events, and the ``auto-update``
subcommand.

Methods: ``autoupdate.run`` ``{dry_run}`` (one run at a time; its report),
``autoupdate.status`` (schedule, next run, last run, running, pending updates) and
``autoupdate.history`` ``{limit, unit}``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from bridge.errors import BridgeError, Conflict
from bridge.events import Event, rfc3339
from bridge.methods import NoParams, Params, method
from bridge.plugin import PluginConfig, PluginContext
from bridge.updates import ROLLED_BACK, Selector, UpdateHistoryEntry
from plugins.auto_update import images
from plugins.auto_update.history import History
from plugins.auto_update.pinned import VERDICTS, PinnedRecord, PinnedUpdates
from plugins.auto_update.reference import BadReference, parse_reference
from plugins.auto_update.registry import RegistryError
from plugins.auto_update.rejected import Rejected
from plugins.auto_update.schedule import CalendarError, Schedule, sleep_until
from plugins.auto_update.skopeo import SkopeoClient
from plugins.auto_update.updater import Options, Report, Updater

logger = logging.getLogger(__name__)

class RunParams(Params):
    dry_run: bool = False
    rollback: bool | None = None


class TargetsParams(Params):
    selector: Selector


class ResolveParams(Params):
    image: str = Field(min_length=1, description="a tagged reference: registry/repo:tag")


class ApplyParams(Params):
    token: str = Field(min_length=1, max_length=200, description="names the update: the "
                       "same token again answers, and changes nothing")
    image: str = Field(min_length=1, description="the tagged name (registry/repo:tag)")
    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    selector: Selector
    probation: float | None = Field(default=None, ge=0)


class TokenParams(Params):
    token: str = Field(min_length=1, max_length=200)


class RevertParams(TokenParams):
    update_token: str = Field(min_length=1, max_length=200)


class HistoryParams(Params):
    limit: int = Field(default=100, ge=1, le=10_000)
    unit: str | None = None


class AutoUpdatePlugin:
    name = "auto_update"

    class Config(PluginConfig):
        schedule: str = "daily"
        randomized_delay: float = Field(default=900.0, ge=0)
        persistent: bool = True
        timer: bool = True
        concurrency: int = Field(default=4, ge=1, le=64)
        rollback: bool = True
        registries_conf: str | None = None
        tls_verify: bool | None = None
        authfile: str | None = None
        restart_timeout: float = Field(default=300.0, gt=0)
        registry_timeout: float = Field(default=30.0, gt=0)

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.config: AutoUpdatePlugin.Config = ctx.config
        c = self.config
        self.history = History(ctx.store)
        self.rejected = Rejected(ctx.store)
        # What this plugin is updating, by new image ID, to know what a rollback refused.
        self._updating: dict[str, Mapping[str, Any]] = {}
        self.schedule = Schedule(c.schedule, c.randomized_delay, c.persistent)
        self.next_run: float | None = None
        self.running = False
        self.pinned = PinnedUpdates(
            ctx.podman, ctx.systemd, ctx.store, ctx.publish,
            lambda method, params: ctx.methods.call(method, params),
            lambda coro, name: ctx.create_task(self._guarded(coro), name=name),
            tls_verify=c.tls_verify, restart_timeout=c.restart_timeout)

    async def start(self, ctx: PluginContext) -> None:
        ctx.listen(["autoupdate.updating"], self._on_updating)
        ctx.listen(["rollback.performed"], self._on_rolled_back)
        await self.reconcile()
        ctx.listen(list(VERDICTS), lambda event, _raw: self.pinned.on_verdict(event))
        self._register_pinned(ctx)
        # After the watcher has started (its methods answer), off the start path.
        ctx.create_task(self._resume_pinned(), name="autoupdate/pinned-resume")
        if self.config.timer:
            # A bad calendar expression is the plugin's failure, reported at start.
            try:
                await self.schedule.next_elapse(None)
            except CalendarError as exc:
                raise BridgeError(f"[plugins.auto_update] schedule: {exc}",
                                  "invalid-params") from None
            if self.history.last_trigger() is None:
                # The first start arms the timer: a run due after it is never lost.
                self.history.set_last_trigger(time.time())
            ctx.create_task(self._timer(), name="autoupdate-timer")

    async def stop(self) -> None:
        self.next_run = None

    # -- pinned updates: what a fleet rollout asks of this host (pinned.py)
    @staticmethod
    async def _guarded(coro: Any) -> None:
        try:
            await coro
        except Exception:  # recorded in the pinned update's record; the plugin lives on
            logger.exception("pinned update task")

    async def _resume_pinned(self) -> None:
        for _ in range(100):  # the rollback watcher may start after this plugin
            try:
                self.ctx.methods.get("rollback.status")
                break
            except BridgeError:
                await asyncio.sleep(0.1)
        await self._guarded(self.pinned.resume())

    def _register_pinned(self, ctx: PluginContext) -> None:
        ctx.register_method("autoupdate.targets", self.do_targets, TargetsParams,
                            "auto-update containers matching a label selector",
                            role="viewer", readonly=True)
        ctx.register_method("autoupdate.resolve", self.do_resolve, ResolveParams,
                            "the registry's digest of a tagged image, now",
                            role="viewer", readonly=True)
        ctx.register_method("autoupdate.apply", self.do_apply, ApplyParams,
                            "update the units matching a selector to image@digest, "
                            "judged by the rollback watcher (once per token)",
                            role="operator")
        ctx.register_method("autoupdate.applied", self.do_applied, TokenParams,
                            "where a pinned update or revert stands",
                            role="viewer", readonly=True)
        ctx.register_method("autoupdate.revert", self.do_revert, RevertParams,
                            "roll back what a pinned update changed (once per token)",
                            role="operator")

    async def do_targets(self, params: TargetsParams) -> list[dict[str, str]]:
        return await self.pinned.targets(params.selector)

    async def do_resolve(self, params: ResolveParams) -> dict[str, str]:
        try:
            ref = parse_reference(params.image)
        except BadReference as exc:
            raise BridgeError(str(exc), "invalid-params") from None
        c = self.config
        try:
            async with SkopeoClient(c.registries_conf, tls_verify=c.tls_verify,
                                    authfile_path=c.authfile,
                                    timeout=c.registry_timeout) as reg:
                remote = await reg.remote_image(ref)
        except RegistryError as exc:
            raise BridgeError(f"resolving {params.image}: {exc}", "failed") from None
        digest = remote.list_digest or remote.digest
        return {"image": str(ref), "digest": digest, "reference": f"{ref.repo_name}@{digest}"}

    async def do_apply(self, params: ApplyParams) -> PinnedRecord:
        return await self.pinned.apply(params.token, params.image, params.digest,
                                       params.selector, params.probation)

    async def do_applied(self, params: TokenParams) -> PinnedRecord:
        return self.pinned.answer(params.token)

    async def do_revert(self, params: RevertParams) -> PinnedRecord:
        return await self.pinned.revert(params.token, params.update_token)

    async def reconcile(self) -> None:
        """Undo the changes of a run that died before the rollback watcher held them (its
        intent is still in the store): each name points at its previous image again, so
        the unit -- never restarted onto the new one -- and its name agree. Recorded as
        ``rolled back``; the next run offers the update again."""
        for intent in self.history.intents():
            unit = str(intent.get("unit") or "")
            for change in intent.get("changes") or []:
                result, reason = ROLLED_BACK, ("interrupted: the bridge stopped before "
                                                 "the unit was restarted; the name points "
                                                 "at the previous image again")
                try:
                    await self.ctx.podman.tag_image(change["old_image_id"], change["image"])
                except (BridgeError, KeyError) as exc:
                    result, reason = "failed", f"interrupted, and cannot re-tag: {exc}"
                logger.warning("auto-update of %s was interrupted: %s", unit, reason)
                self.history.record_interrupted(intent, change, result, reason)
                self.ctx.publish("autoupdate.failed", unit, {
                    "unit": unit, "image": change.get("image"), "result": result,
                    "reason": reason, "run": intent.get("run", ""), "interrupted": True})
            self.history.clear_intent(unit)

    # -- rollbacks: an image rolled back is not applied again
    def _on_updating(self, event: Event, _raw: bytes) -> None:
        data = event.data
        if data.get("new_image_id") and not data.get("dry_run"):
            self._updating[str(data["new_image_id"])] = data
            while len(self._updating) > 256:
                self._updating.pop(next(iter(self._updating)))

    def _on_rolled_back(self, event: Event, _raw: bytes) -> None:
        for change in event.data.get("changes") or []:
            new_id = str(change.get("new_image_id") or "")
            image = str(change.get("image") or "")
            if not new_id or not image:
                continue
            ours = self._updating.get(new_id, {})
            digests = [str(ours.get("new_digest") or "")]
            if not ours:
                # Not one of this run's updates (a bridge restart, a rollback by hand):
                # read the refused image's digests from Podman, off the event path.
                self.ctx.create_task(self._reject_by_inspect(image, new_id, event.subject),
                                     name="autoupdate/reject")
                continue
            self.rejected.add(image, new_id, digests, event.subject,
                              str(event.data.get("reason") or ""))

    async def _reject_by_inspect(self, image: str, image_id: str, unit: str) -> None:
        digests: frozenset[str] = frozenset()
        try:
            digests = (await images.inspect(self.ctx.podman, image_id)).digests
        except BridgeError as exc:
            logger.warning("rolled-back image %s: %s", image_id[:12], exc)
        self.rejected.add(image, image_id, digests, unit)

    # -- the timer
    async def _timer(self) -> None:
        while True:
            last = self.history.last_trigger()
            due, catchup = await self.schedule.next_elapse(last)
            self.next_run = due + self.schedule.delay()
            logger.info("next auto-update run at %s%s", rfc3339(self.next_run),
                        " (catching up a missed run)" if catchup else "")
            await sleep_until(self.next_run)
            self.history.set_last_trigger(time.time())
            self.next_run = None
            try:
                await self.run(dry_run=False)
            except Conflict:
                logger.info("a run is already in progress: the timer's run is skipped")
            except BridgeError as exc:
                logger.error("the timer's auto-update run failed: %s", exc)

    # -- runs
    async def run(self, dry_run: bool, rollback: bool | None = None) -> Report:
        if self.running:
            raise Conflict("an auto-update run is already in progress")
        self.running = True
        started = time.time()
        c = self.config
        options = Options(dry_run=dry_run, rollback=c.rollback if rollback is None
                          else rollback, authfile=c.authfile, tls_verify=c.tls_verify,
                          registries_conf=c.registries_conf, concurrency=c.concurrency,
                          restart_timeout=c.restart_timeout,
                          registry_timeout=c.registry_timeout)
        try:
            report = await Updater(self.ctx.podman, self.ctx.systemd, options,
                                   publish=self.ctx.publish, history=self.history,
                                   rejected=self.rejected).run()
        finally:
            self.running = False
        self.history.set_last_run({
            "run": report.run_id, "started": rfc3339(started),
            "finished": rfc3339(time.time()), "dry_run": dry_run, "errors": report.errors,
            "results": dict(Counter(r.updated for r in report.rows)),
            "pending": [r.to_json() for r in report.rows if r.updated == "pending"]})
        return report

    @method("autoupdate.run", RunParams, role="operator",
            description="check (dry_run) or update auto-update containers now")
    async def do_run(self, params: RunParams) -> dict[str, Any]:
        report = await self.run(params.dry_run, params.rollback)
        return report.to_json()

    @method("autoupdate.status", role="viewer", readonly=True,
            description="the timer's schedule, next and last run, pending updates")
    async def do_status(self, _params: NoParams) -> dict[str, Any]:
        last = self.history.last_run()
        return {"schedule": self.schedule.expr,
                "randomized_delay": self.schedule.randomized_delay,
                "persistent": self.schedule.persistent, "timer": self.config.timer,
                "next_run": rfc3339(self.next_run), "running": self.running,
                "last_run": last, "pending": last["pending"] if last else []}

    @method("autoupdate.history", HistoryParams, role="viewer", readonly=True,
            description="recorded checks and updates, newest first")
    async def do_history(self, params: HistoryParams) -> list[UpdateHistoryEntry]:
        return self.history.list(params.limit, params.unit)

    @classmethod
    def cli(cls, subparsers: argparse._SubParsersAction[Any]) -> None:
        from plugins.auto_update.cli import add_cli

        add_cli(subparsers)
