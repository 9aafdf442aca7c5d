"""One auto-update run: Podman's algorithm (reference section C), unit by unit.

For each unit: check every task (registry: the remote digest against the local image's;
local: the image ID behind the name against the container's); ``false`` if nothing is new,
``pending`` in a dry run (or when a label holds the update back); otherwise pull (registry),
restart the unit over D-Bus and wait for the job's result. ``done`` makes every updated task
``true``; anything else, with rollback on, re-tags the old image IDs to the names and
restarts again: ``rolled back`` if that job is done, else ``failed``.

Nothing is left half-updated: when one pull of a unit fails, the names already pulled for
it are pointed back at the old images and the unit is not restarted. Units of a group
(tasks.group_units) go one after another; groups run concurrently, at most
``concurrency`` at a time. An error fails its container, never the run.

``Report.errors`` are Podman's error texts, in the order Podman reports them, following
the rules of ``Options.compat`` (compat.py): the Podman version whose behaviour a run
follows; each row's ``reason`` is podbridge's own, longer explanation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from bridge import faults
from bridge.bus import Publish, no_publish
from bridge.errors import BridgeError
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient
from bridge.tasks import TaskOwner
from bridge.updates import (
    AUTOUPDATE_CHECK,
    AUTOUPDATE_FAILED,
    AUTOUPDATE_PENDING,
    AUTOUPDATE_UPDATED,
    AUTOUPDATE_UPDATING,
    ROLLED_BACK,
    UpdateData,
    UpdateResult,
)
from plugins.auto_update import authfile, images, labels
from plugins.auto_update.compat import STRICT, Compat
from plugins.auto_update.history import CHECK, UPDATE, History
from plugins.auto_update.output import Row, sort_rows
from plugins.auto_update.reference import BadReference, parse_reference
from plugins.auto_update.registry import Platform, RegistryError, parse_time
from plugins.auto_update.rejected import Rejected
from plugins.auto_update.skopeo import SkopeoClient
from plugins.auto_update.tasks import Task, assemble_tasks, by_unit, group_units, unit_relations

logger = logging.getLogger(__name__)


@dataclass
class Options:
    dry_run: bool = False
    rollback: bool = True
    authfile: str | None = None
    tls_verify: bool | None = None        # None: as registries.conf says
    registries_conf: str | None = None    # None: $CONTAINERS_REGISTRIES_CONF, /etc/...
    concurrency: int = 4
    restart_timeout: float = 300.0
    registry_timeout: float = 30.0
    pull_timeout: float = 600.0
    compat: Compat = STRICT               # whose rules and texts the errors follow
    progress: Callable[[str], None] | None = None  # pull progress lines, as Podman's


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run_id, "rows": [r.to_json() for r in self.rows],
                "errors": self.errors}


class _Failed(Exception):
    """A task's check or update failed: the text is its reason, ``podman`` the inner
    error in Podman's words."""

    def __init__(self, reason: str, podman: str | None = None) -> None:
        super().__init__(reason)
        self.podman = podman if podman is not None else reason


class Updater:
    def __init__(self, podman: PodmanClient, systemd: SystemdClient | None,
                 options: Options, *, publish: Publish = no_publish,
                 history: History | None = None, rejected: Rejected | None = None) -> None:
        self.podman = podman
        self.rejected = rejected
        self.systemd = systemd
        self.options = options
        self.publish = publish
        self.history = history
        self._pulls: dict[str, asyncio.Task[str]] = {}
        # A pull that fails is awaited by the units that share it: its failure is theirs.
        self._pull_tasks = TaskOwner("autoupdate/pull", lambda _task, _exc: None)
        self._local: dict[str, images.LocalImage] = {}
        self._errors: list[str] = []
        self.run_id = ""

    async def run(self) -> Report:
        self.run_id = uuid.uuid4().hex[:12]
        tasks, errors = await assemble_tasks(self.podman)
        report = Report(errors=errors, run_id=self.run_id)
        if not tasks:
            return report
        if self.systemd is None and not self.options.dry_run:
            raise BridgeError("auto-update needs systemd's D-Bus to restart units")
        units = by_unit(tasks)
        relations = (await unit_relations(self.systemd, units) if self.systemd is not None
                     else {})
        pods = {t.unit: t.pod for t in tasks if t.pod}
        groups = group_units(units, relations, pods)
        limit = asyncio.Semaphore(max(1, self.options.concurrency))
        rows: list[Row] = []
        async with SkopeoClient(self.options.registries_conf,
                                tls_verify=self.options.tls_verify,
                                authfile_path=self.options.authfile,
                                timeout=self.options.registry_timeout) as reg:

            async def run_group(group: list[str]) -> None:
                async with limit:
                    for unit in group:
                        rows.extend(await self._unit(unit, units[unit], reg))

            try:
                async with asyncio.TaskGroup() as tg:
                    for group in groups:
                        tg.create_task(run_group(group))
            finally:
                await self._pull_tasks.close()
        report.rows = sort_rows(rows)
        report.errors += self._errors
        return report

    # -- one unit
    async def _unit(self, unit: str, tasks: list[Task], reg: SkopeoClient) -> list[Row]:
        rows = [Row(t.unit, t.container_id, t.name, t.image, t.policy) for t in tasks]
        apply: list[tuple[Task, Row]] = []
        for task, row in zip(tasks, rows, strict=True):
            try:
                if await self._check(task, row, reg):
                    apply.append((task, row))
            except _Failed as exc:
                self._fail(row, str(exc), CHECK, f"checking image updates for container "
                           f"{task.container_id}: {exc.podman}")
            except Exception as exc:  # one container's trouble never ends the run
                logger.exception("checking %s failed", task.name)
                self._fail(row, f"internal error: {exc}", CHECK, f"checking image updates "
                           f"for container {task.container_id}: {exc}")
        if apply:
            try:
                await self._apply(unit, apply)
            except Exception as exc:
                logger.exception("updating %s failed", unit)
                for _, row in apply:
                    self._fail(row, f"internal error: {exc}", UPDATE,
                               f"updating unit {unit}: {exc}")
        return rows

    async def _check(self, task: Task, row: Row, reg: SkopeoClient) -> bool:
        """Fill ``row``'s check facts; True if the update is to be applied now."""
        old = await self._local_image(task.image_id, task.name)
        row.old_image_id, row.old_digest = old.id, old.digest
        created = None
        list_digest: str | None = None
        try:
            rules = labels.parse_rules(task.labels)
        except labels.LabelError as exc:
            raise _Failed(str(exc)) from None
        if task.policy == "registry":
            try:
                ref = parse_reference(task.image)
                want = Platform(old.os or "linux", old.architecture or
                                Platform.this_machine().architecture, old.variant)
                remote = await reg.remote_image(ref, want, old.digests, task.authfile)
                available = remote.digest not in old.digests and (
                    remote.list_digest is None or remote.list_digest not in old.digests)
                row.new_digest, list_digest = remote.digest, remote.list_digest
                if available and rules.cooldown is not None:
                    created = await reg.created(ref, remote.digest, task.authfile)
            except (RegistryError, BadReference) as exc:
                reason = f"image check for {task.image!r} failed: {exc}"
                if self.options.compat.ignores_registry_check_errors:
                    # Podman 4 logs it at debug level and reports "false".
                    logger.info("%s (ignored, as Podman %d does)", reason,
                                self.options.compat.major)
                    row.updated, row.reason = "false", reason
                    self._record(row, CHECK)
                    return False
                raise _Failed(reason, getattr(exc, "podman", str(exc))) from None
        else:
            try:
                new = await images.inspect(self.podman, task.image)
            except BridgeError as exc:
                raise _Failed(f"image check for {task.image!r} failed: {exc.message}",
                              exc.message) from None
            available = new.id != task.image_id
            row.new_image_id, row.new_digest = new.id, new.digest
            if available and rules.cooldown is not None:
                value = (await self.podman.inspect_image(new.id)).get("Created")
                created = parse_time(value) if isinstance(value, str) else None
        refused = None
        if available and self.rejected is not None:
            refused = self.rejected.match(task.image, {row.new_digest, list_digest or ""},
                                          row.new_image_id)
            if refused is not None:
                # Rolled back before: not applied again until a newer image comes.
                available = False
                row.reason = (f"{row.new_digest or row.new_image_id[:12]} was rolled back "
                              f"on {refused['unit']}; waiting for a newer image")
        self.publish(AUTOUPDATE_CHECK, task.unit, self._data(row, available=available))
        if not available:
            row.updated, row.new_digest = "false", row.new_digest or row.old_digest
            self._record(row, CHECK)
            return False
        hold = "dry run" if self.options.dry_run else labels.hold_reason(
            rules, datetime.now().astimezone(), created)
        if hold is not None:
            row.updated, row.reason = "pending", hold
            self.publish(AUTOUPDATE_PENDING, task.unit, self._data(row))
            self._record(row, CHECK)
            return False
        return True

    async def _apply(self, unit: str, apply: list[tuple[Task, Row]]) -> None:
        pulled: list[tuple[Task, Row]] = []
        failed: list[str] = []
        # Written before anything changes: a bridge that dies before the rollback watcher
        # holds the change finds it at its next start and undoes it (plugin.reconcile).
        if self.history is not None:
            self.history.set_intent(unit, [
                {"image": t.image, "old_image_id": r.old_image_id,
                 "container": r.container_name, "policy": t.policy} for t, r in apply],
                self.run_id)
        faults.point("autoupdate.before_pull")
        for task, row in apply:
            if task.policy != "registry":
                pulled.append((task, row))
                continue
            try:
                row.new_image_id = await self._pull(task)
                pulled.append((task, row))
            except BridgeError as exc:
                self._fail(row, f"image update for {task.image!r} failed: {exc.message}",
                           UPDATE, f"updating image for container {task.container_id}: "
                           f"{exc.message.removeprefix(f'pull {task.image}: ')}")
                failed.append(task.name)
        if failed:
            # Nothing half-updated: the unit keeps running its old images, and the
            # names point at them again so that no later restart picks up half a change.
            for task, row in pulled:
                await self._retag_quietly(task, row)
                self._fail(row, f"not restarted: the update of {', '.join(failed)} in "
                           f"the same unit failed", UPDATE)
            if self.history is not None:
                self.history.clear_intent(unit)
            return
        faults.point("autoupdate.after_pull")
        for _, row in pulled:
            self.publish(AUTOUPDATE_UPDATING, unit, self._data(row))
        # The watch is in the store now (the watcher's listener runs inside publish).
        if self.history is not None and not self.options.dry_run:
            self.history.clear_intent(unit)
        faults.point("autoupdate.before_restart")
        error, podman_error = await self._restart(unit)
        if error is None:
            for _, row in pulled:
                row.updated = "true"
                self.publish(AUTOUPDATE_UPDATED, unit, self._data(row))
                self._record(row, UPDATE)
            return
        if not self.options.rollback:
            for _, row in pulled:
                self._fail(row, error, UPDATE)
            if self.options.compat.reports_restart_failure_without_rollback:
                self._errors.append(f"restarting unit {unit} during update: {podman_error}")
            return
        for task, row in pulled:
            try:
                await self.podman.tag_image(row.old_image_id, task.image)
            except BridgeError as exc:
                for _, r in pulled:
                    self._fail(r, f"{error}; falling back to the previous image: "
                               f"{exc.message}", UPDATE)
                self._errors.append(f"rolling back image for container {task.container_id} "
                                    f"in unit {unit}: {exc.message}")
                return
        again, podman_again = await self._restart(unit)
        for _, row in pulled:
            if again is None:
                row.updated, row.reason = ROLLED_BACK, error
                self.publish(AUTOUPDATE_FAILED, unit, self._data(row))
                self._record(row, UPDATE)
            else:
                self._fail(row, f"{error}; restarting with the old image during "
                           f"fallback: {again}", UPDATE)
        if again is not None:
            self._errors.append(f"restarting unit {unit} during rollback: {podman_again}")

    # -- helpers
    async def _local_image(self, image_id: str, name: str) -> images.LocalImage:
        if image_id not in self._local:
            try:
                self._local[image_id] = await images.inspect(self.podman, image_id)
            except BridgeError as exc:
                raise _Failed(f"container image ID {image_id!r} of {name}: {exc.message}"
                              ) from None
        return self._local[image_id]

    async def _pull(self, task: Task) -> str:
        """One pull per image name per run, shared by every unit that needs it."""
        if task.image not in self._pulls:
            auth = None
            with contextlib.suppress(BadReference):
                ref = parse_reference(task.image)
                creds = authfile.lookup(ref.registry, ref.repository,
                                        task.authfile or self.options.authfile)
                auth = creds.x_registry_auth(ref.registry) if creds else None
            self._pulls[task.image] = self._pull_tasks.create(
                self._pull_once(task.image, auth), task.image)
        return await asyncio.shield(self._pulls[task.image])

    async def _pull_once(self, image: str, auth: str | None) -> str:
        progress = self.options.progress
        try:
            return await self.podman.pull_image(
                image, tls_verify=self.options.tls_verify, auth=auth,
                timeout=self.options.pull_timeout, progress=progress)
        except BridgeError as exc:
            # Podman's service retried it already (Podman 5); its CLI would have said so.
            if progress is not None:
                why = exc.message.removeprefix(f"pull {image}: ")
                for line in self.options.compat.pull_retry_warnings(why):
                    progress(line)
            raise

    async def _restart(self, unit: str) -> tuple[str | None, str]:
        """RestartUnit and wait for the job, as Podman: (None, "") if ``done``, else why
        not, in our words and in Podman's."""
        assert self.systemd is not None
        try:
            job = await self.systemd.restart_unit(unit, "replace")
            faults.point("autoupdate.mid_restart")
            result = await self.systemd.wait_job(job, self.options.restart_timeout)
        except BridgeError as exc:
            return f"restarting systemd unit {unit!r} failed: {exc.message}", exc.message
        if result == "done":
            logger.info("restarted %s", unit)
            return None, ""
        return (f"restarting systemd unit {unit!r} failed: expected \"done\" but received "
                f"{result!r}", self.options.compat.restart_failed(unit, result))

    async def _retag_quietly(self, task: Task, row: Row) -> None:
        try:
            await self.podman.tag_image(row.old_image_id, task.image)
        except BridgeError as exc:
            logger.warning("cannot point %s back at %s: %s", task.image, row.old_image_id,
                           exc)

    def _fail(self, row: Row, reason: str, kind: str, podman_error: str | None = None
              ) -> None:
        """``row`` failed for ``reason``; ``podman_error``: the error Podman reports."""
        if podman_error is not None:
            self._errors.append(podman_error)
        row.updated, row.reason = "failed", reason
        logger.warning("auto-update of %s (%s): %s", row.container_name, row.unit, reason)
        self.publish(AUTOUPDATE_FAILED, row.unit, self._data(row))
        self._record(row, kind)

    def _record(self, row: Row, kind: str) -> None:
        if self.history is not None:
            self.history.record(row, kind, self.run_id)

    def _data(self, row: Row, available: bool | None = None) -> UpdateData:
        data = UpdateData(
            unit=row.unit, container=row.container_name, container_id=row.container_id,
            image=row.image, policy=row.policy, old_image_id=row.old_image_id,
            new_image_id=row.new_image_id, old_digest=row.old_digest,
            new_digest=row.new_digest, result=cast(UpdateResult, row.updated),
            reason=row.reason, dry_run=self.options.dry_run, run=self.run_id,
            rollback=self.options.rollback)
        if available is not None:
            data["available"] = available
        return data

