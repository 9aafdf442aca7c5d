"""A pinned update, as a fleet rollout asks it of one host: the units whose containers
match a label selector go to ``repository@digest``, through this host's own auto-update
and rollback watcher, once per token.

``apply`` (``autoupdate.apply``): for each matching container (an auto-update policy, a
``PODMAN_SYSTEMD_UNIT``, an image of the rollout's repository), pull ``repo@digest``, point
the container's image name at it, publish ``autoupdate.updating`` (the rollback watcher
puts the unit on probation, with the rollout's probation, before the restart) and restart
the unit. The verdict is the watcher's: ``rollback.passed`` -> ``passed``,
``rollback.performed`` -> ``rolled-back``, ``rollback.failed`` -> ``failed``. A unit already
on the digest passes at once. The record (per token, in the store) says where it stands;
the same token again returns it and does nothing (a controller that repeats a call after a
restart never updates a host twice).

``revert`` (``autoupdate.revert``): every unit a token changed goes back to its previous
image by the watcher's ``rollback.now`` (through the method table: plugins do not import
one another); the digest is then refused by later auto-update runs, as any rolled-back
image is.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NotRequired

from typing_extensions import TypedDict

from bridge.bus import Publish
from bridge.errors import BridgeError, NotFound
from bridge.events import Event
from bridge.names import split_name
from bridge.podman import PodmanClient
from bridge.store import Records, Store
from bridge.systemd import SystemdClient
from plugins.auto_update.tasks import Task, assemble_tasks, by_unit

logger = logging.getLogger(__name__)

NAMESPACE = "auto_update.pinned"
VERDICTS = {"rollback.passed": "passed", "rollback.performed": "rolled-back",
            "rollback.failed": "failed"}


class PinnedChange(TypedDict):
    """A container an update points at the digest."""

    container: str
    image: str
    old_image_id: str
    new_image_id: str


class PinnedUnit(TypedDict, total=False):
    """Where one unit of an update (or a revert) stands."""

    state: str            # updating | passed | rolled-back | failed | reverted | revert-failed
    changed: bool         # an update's: false when the unit was on the digest already
    changes: list[PinnedChange]
    job_result: str       # an update's: its restart's job result, once known
    result: str           # a revert's: the watcher's result
    reason: str


class PinnedRecord(TypedDict):
    """Key ``<token>`` in ``auto_update.pinned``: an update (``kind`` ``update``: its
    image, digest, selector and probation) or a revert (``update_token``)."""

    token: str
    kind: str             # update | revert
    state: str            # updating | reverting, then passed | rolled-back | failed |
    #                       skipped | reverted | revert-failed
    reason: str
    units: dict[str, PinnedUnit]
    created: float
    updated: NotRequired[float]
    image: NotRequired[str]
    digest: NotRequired[str]
    reference: NotRequired[str]
    selector: NotRequired[str]
    probation: NotRequired[float | None]
    run: NotRequired[str]
    update_token: NotRequired[str]
CallMethod = Callable[[str, dict[str, Any]], Awaitable[Any]]


def matching(tasks: list[Task], selector: str, repository: str | None = None
             ) -> list[Task]:
    label, _, value = selector.partition("=")
    return [t for t in tasks if t.labels.get(label) == value
            and (repository is None or split_name(t.image)[0] == repository)]


class PinnedUpdates:
    def __init__(self, podman: PodmanClient, systemd: SystemdClient, store: Store,
                 publish: Publish, call: CallMethod,
                 spawn: Callable[[Any, str], asyncio.Task[Any]], *,
                 tls_verify: bool | None = None, restart_timeout: float = 300.0) -> None:
        self.podman = podman
        self.systemd = systemd
        self.publish = publish
        self.call = call
        self.spawn = spawn
        self.tls_verify = tls_verify
        self.restart_timeout = restart_timeout
        self._lock = asyncio.Lock()
        self.records = Records(store, NAMESPACE, PinnedRecord)

    # -- records
    def _save(self, rec: PinnedRecord) -> None:
        rec["updated"] = time.time()
        self.records.put(rec["token"], rec)

    def answer(self, token: str) -> PinnedRecord:
        rec = self.records.get(token)
        if rec is None:
            raise NotFound(f"no pinned update or revert with token {token!r} on this host")
        return rec

    async def resume(self) -> None:
        """At start: an update or revert the bridge stopped in the middle of. A unit whose
        restart was asked waits for the watcher's verdict (it resumes its watch); a unit
        never restarted has its name pointed at its previous image again and fails; an
        update that changed nothing yet fails; a revert is carried on."""
        watched: set[str] = set()
        try:
            status = await self.call("rollback.status", {})
            watched = {str(w.get("unit")) for w in (status or {}).get("watches", [])}
        except BridgeError as exc:
            logger.warning("pinned updates: the rollback watcher's status: %s", exc.message)
        for rec in self.records.items().values():
            if rec["kind"] == "revert" and rec["state"] == "reverting":
                self.spawn(self._revert(rec), f"autoupdate/revert/{rec['token']}")
                continue
            if rec["kind"] != "update" or rec["state"] != "updating":
                continue
            for unit, u in rec["units"].items():
                if u.get("state") != "updating" or "job_result" in u or unit in watched:
                    continue
                for change in u.get("changes", []):
                    try:
                        await self.podman.tag_image(change["old_image_id"], change["image"])
                    except BridgeError as exc:
                        logger.warning("cannot point %s back: %s", change["image"], exc)
                u["state"] = "failed"
                u["reason"] = ("interrupted before its restart: the bridge stopped; the "
                               "name points at the previous image again")
            if not rec["units"]:  # then failed: _conclude leaves it so
                rec["state"] = "failed"
                rec["reason"] = "interrupted before any change: the bridge stopped"
            self._save(rec)
            self._conclude(rec)

    # -- what a rollout asks
    async def targets(self, selector: str) -> list[dict[str, str]]:
        tasks, _errors = await assemble_tasks(self.podman)
        return [{"unit": t.unit, "container": t.name, "image": t.image,
                 "image_id": t.image_id, "policy": t.policy}
                for t in matching(tasks, selector)]

    async def apply(self, token: str, image: str, digest: str, selector: str,
                    probation: float | None) -> PinnedRecord:
        """Start the update named ``token`` (once) and answer where it stands."""
        async with self._lock:  # two copies of one call arriving together: one starts it
            found = self.records.get(token)
            if found is not None:
                return found
            repository, _tag = split_name(image)
            rec: PinnedRecord = {
                   "token": token, "kind": "update", "state": "updating", "reason": "",
                   "image": image, "digest": digest, "reference": f"{repository}@{digest}",
                   "selector": selector, "probation": probation, "units": {},
                   "run": "pin-" + uuid.uuid4().hex[:10], "created": time.time()}
            self._save(rec)
        self.spawn(self._apply(rec), f"autoupdate/pinned/{token}")
        return rec

    async def _apply(self, rec: PinnedRecord) -> None:
        try:
            await self._update(rec)
        except BridgeError as exc:
            rec["state"], rec["reason"] = "failed", exc.message
            self._save(rec)
        except Exception as exc:  # one rollout's trouble never takes the plugin down
            logger.exception("pinned update %s", rec["token"])
            rec["state"], rec["reason"] = "failed", f"internal error: {exc}"
            self._save(rec)

    async def _update(self, rec: PinnedRecord) -> None:
        repository, _tag = split_name(rec["image"])
        tasks, _errors = await assemble_tasks(self.podman)
        chosen = matching(tasks, rec["selector"], repository)
        if not chosen:
            rec["state"] = "skipped"
            rec["reason"] = (f"no running auto-update container matches {rec['selector']} "
                             f"with an image of {repository}")
            self._save(rec)
            return
        new_id = await self.podman.pull_image(rec["reference"], tls_verify=self.tls_verify)
        units = by_unit(chosen)
        changed = []
        for unit, tasks_of_unit in sorted(units.items()):
            if all(t.image_id == new_id for t in tasks_of_unit):
                rec["units"][unit] = {"state": "passed", "changed": False,
                                      "reason": "already on the digest"}
                continue
            rec["units"][unit] = {"state": "updating", "changed": True, "changes": [
                {"container": t.name, "image": t.image, "old_image_id": t.image_id,
                 "new_image_id": new_id} for t in tasks_of_unit]}
            changed.append(unit)
        self._save(rec)
        for unit in changed:
            for t in units[unit]:
                await self.podman.tag_image(new_id, t.image)
                # The watcher's listener runs inside publish: the unit is on probation
                # before the restart below is asked for.
                self.publish("autoupdate.updating", unit, {
                    "unit": unit, "container": t.name, "container_id": t.container_id,
                    "image": t.image, "policy": t.policy, "old_image_id": t.image_id,
                    "new_image_id": new_id, "old_digest": "", "new_digest": rec["digest"],
                    "result": "pending", "reason": f"fleet rollout {rec['token']}",
                    "dry_run": False, "run": rec["run"], "rollback": True,
                    "probation": rec["probation"], "rollout": rec["token"]})
        for unit in changed:
            try:
                result = await self.systemd.run_job("restart", unit,
                                                    timeout=self.restart_timeout)
            except BridgeError as exc:
                result = f"error: {exc.message}"
            # The run's own word, as the updater gives it: the watcher, which waits for
            # it after a failed job, then rolls the unit back itself.
            ok = result == "done"
            self.publish("autoupdate.updated" if ok else "autoupdate.failed", unit, {
                "unit": unit, "image": rec["image"], "new_digest": rec["digest"],
                "result": "true" if ok else "failed", "run": rec["run"], "dry_run": False,
                "reason": "" if ok else f"restarting {unit}: {result}",
                "rollout": rec["token"]})
            rec = self.records.get(rec["token"]) or rec
            rec["units"][unit]["job_result"] = result
            self._save(rec)
        self._conclude(rec)

    def _conclude(self, rec: PinnedRecord) -> None:
        """The update's state from its units' verdicts, once every unit has one."""
        states = {u["state"] for u in rec["units"].values()}
        if "updating" in states or rec["state"] != "updating":
            return
        rec["state"] = ("failed" if "failed" in states else "rolled-back"
                        if "rolled-back" in states else "passed")
        rec["reason"] = "; ".join(f"{u}: {v.get('reason') or v['state']}"
                                  for u, v in sorted(rec["units"].items()))
        self._save(rec)
        logger.info("pinned update %s: %s", rec["token"], rec["state"])

    def on_verdict(self, event: Event) -> None:
        """A rollback watcher's verdict (inline in publish): the unit of an update in
        progress has its state; the update ends when all have."""
        run = str(event.data.get("run") or "")
        if not run.startswith("pin-") or event.type not in VERDICTS:
            return
        rec = next((r for r in self.records.items().values() if r.get("run") == run), None)
        unit = None if rec is None else rec["units"].get(event.subject)
        if rec is None or unit is None or unit.get("state") != "updating":
            return
        unit["state"] = VERDICTS[event.type]
        unit["reason"] = str(event.data.get("reason") or "")
        self._save(rec)
        self._conclude(rec)

    async def revert(self, token: str, update_token: str) -> PinnedRecord:
        """Start the revert named ``token`` (once) of the update ``update_token``."""
        async with self._lock:
            found = self.records.get(token)
            if found is not None:
                return found
            rec: PinnedRecord = {
                "token": token, "kind": "revert", "state": "reverting", "reason": "",
                "update_token": update_token, "units": {}, "created": time.time()}
            self._save(rec)
        self.spawn(self._revert(rec), f"autoupdate/revert/{token}")
        return rec

    async def _revert(self, rec: PinnedRecord) -> None:
        try:
            await self._revert_units(rec)
        except Exception as exc:
            logger.exception("revert %s", rec["token"])
            rec["state"], rec["reason"] = "revert-failed", f"internal error: {exc}"
            self._save(rec)

    async def _revert_units(self, rec: PinnedRecord) -> None:
        # An update still pulling or restarting is let finish its restart first: what
        # is rolled back is then what runs.
        deadline = time.monotonic() + self.restart_timeout
        while True:
            upd = self.records.get(rec["update_token"])
            busy = upd is not None and upd["state"] == "updating" and (
                not upd["units"] or any("job_result" not in u and u.get("changed")
                                        for u in upd["units"].values()))
            if not busy or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        if upd is None:
            rec["state"], rec["reason"] = "reverted", "the update never reached this host"
            self._save(rec)
            return
        failed = []
        for unit, u in sorted(upd["units"].items()):
            if not u.get("changed") or u.get("state") == "rolled-back":
                continue
            if rec["units"].get(unit, {}).get("state") == "reverted":
                continue  # done before the bridge restarted: never rolled back twice
            try:
                result = await self.call("rollback.now", {"unit": unit, "wait": True})
                outcome = str((result or {}).get("result") or "")
                rec["units"][unit] = {"state": "reverted" if outcome == "performed"
                                      else "revert-failed", "result": outcome,
                                      "reason": str((result or {}).get("reason") or "")}
                if outcome != "performed":
                    failed.append(unit)
            except BridgeError as exc:
                rec["units"][unit] = {"state": "revert-failed", "reason": exc.message}
                failed.append(unit)
            self._save(rec)
        rec["state"] = "revert-failed" if failed else "reverted"
        rec["reason"] = (f"could not roll back {', '.join(failed)}" if failed else
                         f"{len(rec['units'])} units rolled back")
        self._save(rec)
