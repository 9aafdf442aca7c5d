"""The events a host has not yet seen acknowledged by JetStream (docs/fleet.md, Outbox).

In memory for the sender, and, given a path, in an SQLite file of the state folder too, so
that a bridge restarted while NATS is away still publishes what its earlier run made. An
event is written to the file at the end of the loop turn that made it (one transaction
for all of that turn's events); it is deleted once JetStream has acknowledged it.

The outbox is bounded (``limit`` events, in memory and on disk alike): when an outage
outlasts it, the oldest events are dropped. What was lost (how many, and the range of
host seqs) is kept in the file as well, until the link has reported it on the bus
(``fleet.outbox_overflow``), so a fleet learns of the gap even across a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import deque
from pathlib import Path
from typing import NamedTuple

from typing_extensions import TypedDict

from bridge.contracts import Topic

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, subject TEXT NOT NULL,
                                   raw BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class OutboxOverflowData(TypedDict):
    """Events this host made that never reached the fleet's stream (a full outbox)."""

    lost: int            # how many
    first_seq: int       # the host seqs of the first and last of them
    last_seq: int
    outbox_max: int      # the bound that was reached
    dropped: int         # every event this host's outbox ever dropped


FLEET_OUTBOX_OVERFLOW = Topic("fleet.outbox_overflow", OutboxOverflowData)


class Pending(NamedTuple):
    seq: int
    subject: str
    raw: bytes


class Lost(NamedTuple):
    """Events dropped from a full outbox and not yet reported: how many, and their seqs."""

    lost: int
    first: int
    last: int


class Outbox:
    """A bounded FIFO of events by host seq, optionally kept in ``path`` across restarts."""

    def __init__(self, limit: int, path: Path | None = None) -> None:
        self.limit = limit
        self.path = path
        self._q: deque[Pending] = deque()
        self.dropped = 0                 # events lost to a full outbox, this run and before
        self._lost: Lost | None = None   # lost and not yet reported
        self._db: sqlite3.Connection | None = None
        self._writes: list[Pending] = []
        self._delete_upto = 0           # rows with seq <= this go at the next flush
        self._meta_dirty = False
        self._flush_handle: asyncio.Handle | None = None
        if path is not None:
            self._open(path)

    # -- the file
    def _open(self, path: Path) -> None:
        db: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            path.chmod(0o600)
        except (sqlite3.Error, OSError) as exc:
            if db is not None:
                db.close()
            logger.error("fleet outbox %s cannot be opened (%s): events wait in memory only",
                         path, exc)
            return
        self._db = db
        rows = db.execute("SELECT seq, subject, raw FROM outbox ORDER BY seq").fetchall()
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        self.dropped = int(meta.get("dropped", 0))
        if meta.get("lost_count"):
            self._lost = Lost(int(meta["lost_count"]), int(meta["lost_first"]),
                              int(meta["lost_last"]))
        self._q.extend(Pending(int(seq), str(subject), bytes(raw)) for seq, subject, raw in rows)
        if rows:
            logger.info("fleet outbox %s: %d events of an earlier run wait for NATS "
                        "(seqs %d to %d)", path, len(rows), rows[0][0], rows[-1][0])
        excess = len(self._q) - self.limit
        if excess > 0:  # the limit was lowered since
            self._drop(excess)

    def close(self) -> None:
        """Write what is pending and close the file (the events stay in it)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.flush()  # (which forgets the handle)
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def _schedule(self) -> None:
        if self._db is None or self._flush_handle is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_handle = loop.call_soon(self.flush)

    def flush(self) -> None:
        """Apply the pending inserts and deletes in one transaction."""
        self._flush_handle = None
        db = self._db
        if db is None or not (self._writes or self._delete_upto or self._meta_dirty):
            self._writes.clear()
            return
        writes, self._writes = self._writes, []
        upto, self._delete_upto = self._delete_upto, 0
        meta, self._meta_dirty = self._meta_dirty, False
        try:
            db.execute("BEGIN")
            if writes:
                db.executemany("INSERT OR REPLACE INTO outbox (seq, subject, raw) "
                               "VALUES (?, ?, ?)", writes)
            if upto:
                db.execute("DELETE FROM outbox WHERE seq <= ?", (upto,))
            lost = self._lost or Lost(0, 0, 0)
            if meta:
                db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                               [("dropped", self.dropped), ("lost_count", lost.lost),
                                ("lost_first", lost.first), ("lost_last", lost.last)])
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            # The events are still in memory and go out while this run lives; only a
            # restart before NATS returns would lose them.
            logger.error("fleet outbox %s: not written (%s); %d events wait in memory only",
                         self.path, exc, len(writes))

    # -- the queue
    def __len__(self) -> int:  # also its truth: empty is false
        return len(self._q)

    def append(self, seq: int, subject: str, raw: bytes) -> None:
        item = Pending(seq, subject, raw)
        self._q.append(item)
        if self._db is not None:
            self._writes.append(item)
        if len(self._q) > self.limit:
            self._drop(len(self._q) - self.limit)
        self._schedule()

    def _drop(self, n: int) -> None:
        first = self._q[0].seq
        last = first
        for _ in range(n):
            last = self._q.popleft().seq
        self.dropped += n
        lost = self._lost
        self._lost = Lost(n, first, last) if lost is None else \
            Lost(lost.lost + n, lost.first, last)
        self._meta_dirty = True
        self._forget(last)
        if self.dropped == n or self.dropped % 10_000 < n:
            logger.error("fleet: the outbox is full (%d events); %d dropped so far",
                         self.limit, self.dropped)

    def _forget(self, upto: int) -> None:
        if self._db is None:
            return
        if self._writes and self._writes[0].seq <= upto:
            self._writes = [w for w in self._writes if w.seq > upto]
        self._delete_upto = max(self._delete_upto, upto)
        self._schedule()

    def head(self, n: int) -> list[Pending]:
        q = self._q
        return [q[i] for i in range(min(n, len(q)))]

    def acknowledged(self, upto: int) -> None:
        """JetStream has every event up to seq ``upto``: they leave the outbox."""
        q = self._q
        while q and q[0].seq <= upto:
            q.popleft()
        self._forget(upto)

    # -- the gap report
    @property
    def lost(self) -> Lost | None:
        return self._lost

    def reported(self, lost: Lost) -> None:
        """``lost`` has been reported on the bus: forget it (newer losses stay)."""
        cur = self._lost
        if cur is None:
            return
        rest = cur.lost - lost.lost
        self._lost = Lost(rest, lost.last + 1, cur.last) if rest > 0 else None
        self._meta_dirty = True
        self._schedule()
