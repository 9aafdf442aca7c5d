"""Every check and every update, in the store's journal (namespace ``auto_update``).

A record: unit, container (name and ID), image, policy, old and new digest, old and new
image ID, result (``true|false|pending|failed|rolled back``), reason, and whether it was a
``check`` (nothing applied) or an ``update`` (a pull or a restart happened); the journal
adds the time.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.store import Store
from plugins.auto_update.output import Row

logger = logging.getLogger(__name__)

NAMESPACE = "auto_update"
CHECK = "check"
UPDATE = "update"
INTENT = "intent/"


class History:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, row: Row, kind: str, run_id: str = "") -> None:
        data: dict[str, Any] = {
            "unit": row.unit, "container": row.container_name,
            "container_id": row.container_id, "image": row.image, "policy": row.policy,
            "old_digest": row.old_digest, "new_digest": row.new_digest,
            "old_image_id": row.old_image_id, "new_image_id": row.new_image_id,
            "result": row.updated, "reason": row.reason, "run": run_id}
        try:
            self.store.append(NAMESPACE, kind, row.unit, data)
        except Exception:  # the store failing must not fail an update already made
            logger.exception("cannot record the auto-update of %s", row.container_name)

    # Intents: what a run is about to change in a unit, written before the first pull and
    # cleared once the rollback watcher holds the change (autoupdate.updating) or the run
    # undid it. One left at start means the bridge died in between.
    def set_intent(self, unit: str, changes: list[dict[str, str]], run_id: str) -> None:
        self.store.put(NAMESPACE, INTENT + unit, {"unit": unit, "changes": changes,
                                                  "run": run_id})

    def clear_intent(self, unit: str) -> None:
        self.store.delete(NAMESPACE, INTENT + unit)

    def intents(self) -> list[dict[str, Any]]:
        return [v for k, v in sorted(self.store.items(NAMESPACE).items())
                if k.startswith(INTENT) and isinstance(v, dict)]

    def record_interrupted(self, intent: dict[str, Any], change: dict[str, str],
                           result: str, reason: str) -> None:
        self.store.append(NAMESPACE, UPDATE, intent["unit"], {
            "unit": intent["unit"], "container": change.get("container", ""),
            "container_id": "", "image": change["image"], "policy": change.get("policy", ""),
            "old_digest": "", "new_digest": "", "old_image_id": change["old_image_id"],
            "new_image_id": "", "result": result, "reason": reason,
            "run": intent.get("run", "")})

    def list(self, limit: int = 100, unit: str | None = None, kind: str | None = None
             ) -> list[dict[str, Any]]:
        return self.store.journal(NAMESPACE, kind=kind, limit=limit, subject=unit)

    # The timer's state: when the last run started and ended.
    def last_run(self) -> dict[str, Any] | None:
        value = self.store.get(NAMESPACE, "last_run")
        return value if isinstance(value, dict) else None

    def set_last_run(self, value: dict[str, Any]) -> None:
        self.store.put(NAMESPACE, "last_run", value)

    # The timer's stamp (systemd's LastTriggerUSec): when it last fired, epoch seconds.
    def last_trigger(self) -> float | None:
        value = self.store.get(NAMESPACE, "last_trigger")
        return float(value) if isinstance(value, int | float) else None

    def set_last_trigger(self, when: float) -> None:
        self.store.put(NAMESPACE, "last_trigger", when)
