"""Every check and every update, in the store's journal (namespace ``auto_update``).

A record: unit, container (name and ID), image, policy, old and new digest, old and new
image ID, result (``true|false|pending|failed|rolled back``), reason, and whether it was a
``check`` (nothing applied) or an ``update`` (a pull or a restart happened); the journal
adds the time.
"""

from __future__ import annotations

import logging
from typing import Any, NotRequired

from typing_extensions import TypedDict

from bridge.contracts import record
from bridge.events import Time
from bridge.store import Journal, Records, Store
from bridge.updates import UpdateHistoryEntry, UpdateRecord
from plugins.auto_update.output import Row

logger = logging.getLogger(__name__)

NAMESPACE = "auto_update"
CHECK = "check"
UPDATE = "update"
INTENT = "intent/"


class IntentChange(TypedDict):
    """One container an intent is about to change."""

    image: str
    old_image_id: str
    container: NotRequired[str]
    policy: NotRequired[str]


class Intent(TypedDict):
    """Key ``intent/<unit>``: what a run is about to change in a unit."""

    unit: str
    changes: list[IntentChange]
    run: NotRequired[str]


@record("autoupdate.last_run", owner="auto_update")
class LastRun(TypedDict):
    """Key ``last_run``: the timer's last run, as ``autoupdate.status`` shows it."""

    run: NotRequired[str]
    started: Time
    finished: Time
    dry_run: bool
    errors: list[str]
    results: dict[str, int]          # result -> how many containers
    pending: list[dict[str, Any]]    # Podman's rows (``podman auto-update`` JSON)


class History:
    def __init__(self, store: Store) -> None:
        self.journal = Journal(store, NAMESPACE, UpdateRecord, UpdateHistoryEntry)
        self.intent_rows = Records(store, NAMESPACE, Intent, INTENT)
        self.last_run_row = Records(store, NAMESPACE, LastRun)
        self.last_trigger_row = Records(store, NAMESPACE, float)

    def record(self, row: Row, kind: str, run_id: str = "") -> None:
        data: UpdateRecord = {
            "unit": row.unit, "container": row.container_name,
            "container_id": row.container_id, "image": row.image, "policy": row.policy,
            "old_digest": row.old_digest, "new_digest": row.new_digest,
            "old_image_id": row.old_image_id, "new_image_id": row.new_image_id,
            "result": row.updated, "reason": row.reason, "run": run_id}
        try:
            self.journal.append(kind, row.unit, data)
        except Exception:  # the store failing must not fail an update already made
            logger.exception("cannot record the auto-update of %s", row.container_name)

    # Intents: what a run is about to change in a unit, written before the first pull and
    # cleared once the rollback watcher holds the change (autoupdate.updating) or the run
    # undid it. One left at start means the bridge died in between.
    def set_intent(self, unit: str, changes: list[IntentChange], run_id: str) -> None:
        self.intent_rows.put(unit, {"unit": unit, "changes": changes, "run": run_id})

    def clear_intent(self, unit: str) -> None:
        self.intent_rows.delete(unit)

    def intents(self) -> list[Intent]:
        return list(self.intent_rows.items().values())

    def record_interrupted(self, intent: Intent, change: IntentChange,
                           result: str, reason: str) -> None:
        self.journal.append(UPDATE, intent["unit"], {
            "unit": intent["unit"], "container": change.get("container", ""),
            "container_id": "", "image": change["image"], "policy": change.get("policy", ""),
            "old_digest": "", "new_digest": "", "old_image_id": change["old_image_id"],
            "new_image_id": "", "result": result, "reason": reason,
            "run": intent.get("run", "")})

    def list(self, limit: int = 100, unit: str | None = None, kind: str | None = None
             ) -> list[UpdateHistoryEntry]:
        return self.journal.list(kind=kind, limit=limit, subject=unit)

    # The timer's state: when the last run started and ended.
    def last_run(self) -> LastRun | None:
        return self.last_run_row.get("last_run")

    def set_last_run(self, value: LastRun) -> None:
        self.last_run_row.put("last_run", value)

    # The timer's stamp (systemd's LastTriggerUSec): when it last fired, epoch seconds.
    def last_trigger(self) -> float | None:
        return self.last_trigger_row.get("last_trigger")

    def set_last_trigger(self, when: float) -> None:
        self.last_trigger_row.put("last_trigger", when)
