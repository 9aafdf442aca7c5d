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
