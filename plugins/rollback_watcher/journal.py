"""Watches and their outcomes in the store (namespace ``rollback_watcher``).

An open watch is one key-value row per unit (``watch/<unit>``), rewritten at every step
that matters (created before the restart; job result, probation start, rollback begun):
a bridge started again reads them back and resumes. A watch that ends is deleted from
the key-value table and appended to the journal (kinds ``passed``, ``performed``,
``failed``): that is ``rollback.history``.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.events import rfc3339
from bridge.store import Store
from plugins.rollback_watcher.verdict import Probation

logger = logging.getLogger(__name__)

NAMESPACE = "rollback_watcher"
PREFIX = "watch/"

# update: judging the restart onto the new image; rollback: re-tagging and restarting onto
# the previous image (redone from the start when resumed); verify: judging that restart.
Phase = Literal["update", "rollback", "verify"]


@dataclass
class Change:
    """One container's image change in a unit."""

    image: str                 # the name the unit's container is created from (repo:tag)
    previous_image_id: str     # what the name pointed at before the update
    new_image_id: str = ""
    container: str = ""        # the container's name, where known

    def to_json(self) -> dict[str, Any]:
        return {"image": self.image, "previous_image_id": self.previous_image_id,
                "new_image_id": self.new_image_id, "container": self.container}


@dataclass
class Watch:
    unit: str
    changes: list[Change]
    probation: Probation
    origin: str = "method"          # autoupdate | method | manual
    run: str = ""                   # the auto-update run that made the change, if any
    phase: Phase = "update"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    keep_tags: list[str] = field(default_factory=list)
    reason: str = ""                # why the update was judged bad
    rolled_back_by: str = ""        # rollback_watcher | auto_update
    rollback_at: float | None = None
    dependents: list[str] | None = None  # Requires=/BindsTo= it, read at the start
    restarted: dict[str, str] = field(default_factory=dict)  # dependent -> job result
    probation_fixed: bool = False   # set by the caller: the container label does not apply
    job: str = ""                   # the job of the rollback's restart

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "unit": self.unit, "origin": self.origin, "run": self.run,
                "phase": self.phase, "changes": [c.to_json() for c in self.changes],
                "probation": self.probation.to_json(), "keep_tags": self.keep_tags,
                "reason": self.reason, "rolled_back_by": self.rolled_back_by,
                "rollback_at": self.rollback_at, "dependents": self.dependents,
                "restarted": self.restarted,
                "probation_fixed": self.probation_fixed, "job": self.job}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watch:
        return cls(unit=str(data["unit"]),
                   changes=[Change(**c) for c in data.get("changes") or []],
                   probation=Probation.from_json(data["probation"]),
                   origin=str(data.get("origin") or "method"), run=str(data.get("run") or ""),
                   phase=data.get("phase") or "update", id=str(data.get("id") or ""),
                   keep_tags=list(data.get("keep_tags") or []),
                   reason=str(data.get("reason") or ""),
                   rolled_back_by=str(data.get("rolled_back_by") or ""),
                   rollback_at=data.get("rollback_at"),
                   dependents=data.get("dependents"),
                   restarted=dict(data.get("restarted") or {}),
                   probation_fixed=bool(data.get("probation_fixed")),
                   job=str(data.get("job") or ""))

    def summary(self) -> dict[str, Any]:
        """What status and history show: the watch without the probation internals."""
        p = self.probation
        return {"id": self.id, "unit": self.unit, "origin": self.origin, "run": self.run,
                "phase": self.phase, "changes": [c.to_json() for c in self.changes],
                "probation": p.probation, "begun_at": rfc3339(p.begun_at),
                "active_at": rfc3339(p.active_at),
                "job_result": p.job_result, "containers": p.containers,
                "reason": self.reason, "rolled_back_by": self.rolled_back_by,
                "dependents": self.dependents, "restarted": self.restarted}


class WatchJournal:
    def __init__(self, store: Store) -> None:
        self.store = store

    def save(self, watch: Watch) -> None:
        """Synchronous and durable once it returns (SQLite in WAL mode, autocommit)."""
        self.store.put(NAMESPACE, PREFIX + watch.unit, watch.to_json())

    def get(self, unit: str) -> Watch | None:
        data = self.store.get(NAMESPACE, PREFIX + unit)
        return Watch.from_json(data) if isinstance(data, dict) else None

    def open_watches(self) -> list[Watch]:
        out = []
        for key, data in sorted(self.store.items(NAMESPACE).items()):
            if not key.startswith(PREFIX):
                continue
            try:
                out.append(Watch.from_json(data))
            except (KeyError, TypeError, ValueError) as exc:
                logger.error("dropping an unreadable watch %s: %s", key, exc)
                self.store.delete(NAMESPACE, key)
        return out

    def finish(self, watch: Watch, kind: str, reason: str = "",
               **extra: Any) -> dict[str, Any]:
        """Close the watch: one journal record (``passed|performed|failed``), returned."""
        record = {**watch.summary(), "result": kind, "reason": reason or watch.reason,
                  **extra}
        with self.store.transaction():
            self.store.append(NAMESPACE, kind, watch.unit, record)
            self.store.delete(NAMESPACE, PREFIX + watch.unit)
        return record

    def history(self, limit: int = 100, unit: str | None = None) -> list[dict[str, Any]]:
        return self.store.journal(NAMESPACE, limit=limit, subject=unit)

    def last(self, unit: str) -> dict[str, Any] | None:
        rows = self.store.journal(NAMESPACE, limit=1, subject=unit)
        return rows[0] if rows else None
