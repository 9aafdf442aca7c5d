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
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

from bridge.events import rfc3339
from bridge.store import Journal, Records, Store
from bridge.updates import ChangeData, WatchData, WatchHistoryEntry
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

    def to_json(self) -> ChangeData:
        return cast(ChangeData, asdict(self))


@dataclass
class Watch:
    """An open watch, as the store keeps it (key ``watch/<unit>``): pydantic validates a
    stored one back into this dataclass, its changes and its probation too."""

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

    def summary(self) -> WatchData:
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
        self.watches = Records(store, NAMESPACE, Watch, PREFIX)
        self.journal = Journal(store, NAMESPACE, WatchData, WatchHistoryEntry)

    def save(self, watch: Watch) -> None:
        """Synchronous and durable once it returns (SQLite in WAL mode, autocommit)."""
        self.watches.put(watch.unit, watch)

    def get(self, unit: str) -> Watch | None:
        return self.watches.get(unit)

    def open_watches(self) -> list[Watch]:
        watches = self.watches.items()
        for unit in set(self.watches.keys()) - set(watches):
            logger.error("dropping the unreadable watch of %s", unit)
            self.watches.delete(unit)
        return list(watches.values())

    def finish(self, watch: Watch, kind: str, reason: str = "", **extra: Any) -> WatchData:
        """Close the watch: one journal record (``passed|performed|failed``), returned."""
        record = cast(WatchData, {**watch.summary(), "result": kind,
                                  "reason": reason or watch.reason, **extra})
        with self.store.transaction():
            self.journal.append(kind, watch.unit, record)
            self.watches.delete(watch.unit)
        return record

    def history(self, limit: int = 100, unit: str | None = None) -> list[WatchHistoryEntry]:
        return self.journal.list(limit=limit, subject=unit)

    def last(self, unit: str) -> WatchHistoryEntry | None:
        rows = self.journal.list(limit=1, subject=unit)
        return rows[0] if rows else None
