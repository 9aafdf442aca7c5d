"""SQLite in the state folder: history, journals and plugin state that survive restarts.

Writes are small and local, so they run inline (WAL mode, synchronous=NORMAL): a round trip
to a thread would cost more than the write. Each plugin owns its tables; a key-value
namespace per plugin covers the simple cases.

What a plugin keeps is typed: :class:`Records` (key-value rows) and :class:`Journal`
(appended rows) take the TypedDict its owner declares, write it as given and validate it
on read, so a row is read back as the type says or not at all (logged).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, cast

from pydantic import TypeAdapter, ValidationError
from typing_extensions import TypedDict, is_typeddict

from bridge.errors import BridgeError
from bridge.events import rfc3339

logger = logging.getLogger(__name__)


class JournalEntry(TypedDict):
    """What every journal row carries (``Store.journal``), beside its record's fields."""

    id: int
    kind: str
    subject: str
    time: str | None          # RFC 3339 UTC


class StoreFull(BridgeError):
    """The store's disk is full: the write did not happen (SQLite rolled it back, the
    database is intact), and writes work again once there is space."""

    def __init__(self, path: Path, detail: str) -> None:
        super().__init__(f"the store's disk is full ({path}): {detail}; nothing was "
                         f"written, and writes resume when space is freed", "internal-error")


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "full" in str(exc).lower():
            logger.error("store %s: %s", path, exc)
            raise StoreFull(path, str(exc)) from None
        raise


SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    time REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_ns ON journal (namespace, kind, id);
"""


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with _writing(self.path):
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            try:
                self.db.execute("COMMIT")
            except sqlite3.Error:  # busy, full, I/O, a deferred constraint: not left open
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self.db.execute(sql, params)

    def executescript(self, sql: str) -> None:
        self.db.executescript(sql)

    # -- key/value, one namespace per plugin
    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM kv WHERE namespace=? AND key=?",
                              (namespace, key)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, namespace: str, key: str, value: Any) -> None:
        with _writing(self.path):
            self.db.execute(
                "INSERT INTO kv (namespace, key, value, updated) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (namespace, key) DO UPDATE SET value=excluded.value, "
                "updated=excluded.updated",
                (namespace, key, json.dumps(value), time.time()))

    def delete(self, namespace: str, key: str) -> None:
        with _writing(self.path):
            self.db.execute("DELETE FROM kv WHERE namespace=? AND key=?", (namespace, key))

    def items(self, namespace: str) -> dict[str, Any]:
        rows = self.db.execute("SELECT key, value FROM kv WHERE namespace=?", (namespace,))
        return {k: json.loads(v) for k, v in rows}

    # -- journals: append-only records (update history, rollbacks, hook outcomes)
    def append(self, namespace: str, kind: str, subject: str, data: dict[str, Any],
               when: float | None = None) -> int:
        with _writing(self.path):
            cur = self.db.execute(
                "INSERT INTO journal (namespace, kind, subject, time, data) "
                "VALUES (?, ?, ?, ?, ?)",
                (namespace, kind, subject, when if when is not None else time.time(),
                 json.dumps(data, default=str)))
        return int(cur.lastrowid or 0)

    def trim(self, table: Literal["journal", "audit"], keep: int, *,
             namespace: str | None = None, before: float | None = None) -> None:
        """Forget the oldest rows of ``table`` (of one ``namespace`` of the journal): all
        but the newest ``keep``, and, with ``before``, every row older than that time."""
        where, args = ("namespace=?", [namespace]) if namespace is not None else ("1=1", [])
        with _writing(self.path):
            if before is not None:
                self.db.execute(f"DELETE FROM {table} WHERE {where} AND time < ?",
                                (*args, before))
            self.db.execute(
                f"DELETE FROM {table} WHERE {where} AND id <= (SELECT id FROM {table} "
                f"WHERE {where} ORDER BY id DESC LIMIT 1 OFFSET ?)", (*args, *args, keep))

    def newest(self, select: str, limit: int, **where: Any) -> sqlite3.Cursor:
        """``select`` (``SELECT ... FROM table``) filtered by each ``column=value`` of
        ``where`` whose value is not None (``id_below=N``: ``id < N``), newest first."""
        sql, args = select + " WHERE 1=1", []
        for key, value in where.items():
            if value is not None:
                sql += " AND id < ?" if key == "id_below" else f" AND {key} = ?"
                args.append(value)
        return self.db.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))

    def journal(self, namespace: str, kind: str | None = None, limit: int = 100,
                subject: str | None = None) -> list[dict[str, Any]]:
        rows = self.newest("SELECT id, kind, subject, time, data FROM journal", limit,
                           namespace=namespace, kind=kind, subject=subject)
        # The time as every time on the wire: RFC 3339 UTC (docs/choices.md).
        return [{"id": r[0], "kind": r[1], "subject": r[2], "time": rfc3339(r[3]),
                 **json.loads(r[4])}
                for r in rows]


# -- typed views: what a plugin keeps, as the TypedDict its owner declares ------------------

R = TypeVar("R")
D = TypeVar("D", bound=Mapping[str, Any])
E = TypeVar("E", bound=Mapping[str, Any])


@cache
def _adapter(typ: Any) -> TypeAdapter[Any]:
    return TypeAdapter(typ)


def validated(typ: type[R], value: Any, where: str) -> R | None:
    """``value`` as ``typ`` (pydantic's lax mode: a stored ``1`` is a float's ``1.0``), or
    None, logged, when it does not fit. A TypedDict keeps the keys it does not name: a row
    written by a newer version still loads, and is written back whole."""
    try:
        out = _adapter(cast(Any, typ)).validate_python(value)
    except ValidationError as exc:
        logger.error("%s: a stored record that is no %s, skipped: %s", where,
                     getattr(typ, "__name__", typ), exc)
        return None
    if is_typeddict(typ) and isinstance(value, dict):
        out = {**value, **out}
    return cast(R, out)


class Records(Generic[R]):
    """The key-value rows of one namespace whose keys start with ``prefix``, each a ``R``
    (a TypedDict, or any type pydantic validates). Keys are given and listed without the
    prefix. A stored value that does not fit ``R`` reads as missing (logged)."""

    def __init__(self, store: Store, namespace: str, typ: type[R], prefix: str = "") -> None:
        self.store = store
        self.namespace = namespace
        self.type = typ
        self.prefix = prefix

    def get(self, key: str) -> R | None:
        value = self.store.get(self.namespace, self.prefix + key)
        if value is None:
            return None
        return validated(self.type, value, f"{self.namespace}/{self.prefix}{key}")

    def put(self, key: str, value: R) -> None:
        if not is_typeddict(self.type):   # a dataclass or model: its JSON form
            value = _adapter(cast(Any, self.type)).dump_python(value, mode="json")
        self.store.put(self.namespace, self.prefix + key, value)

    def delete(self, key: str) -> None:
        self.store.delete(self.namespace, self.prefix + key)

    def items(self) -> dict[str, R]:
        """Every row that fits ``R``, by key, sorted."""
        out: dict[str, R] = {}
        for key, value in sorted(self.store.items(self.namespace).items()):
            if key.startswith(self.prefix):
                rec = validated(self.type, value, f"{self.namespace}/{key}")
                if rec is not None:
                    out[key[len(self.prefix):]] = rec
        return out

    def keys(self) -> list[str]:
        """Every key, valid row or not (to prune them)."""
        return sorted(k[len(self.prefix):] for k in self.store.items(self.namespace)
                      if k.startswith(self.prefix))


class Journal(Generic[D, E]):
    """One namespace of the journal: rows appended as ``D`` and read back, newest first,
    as ``E`` (``D`` and a :class:`JournalEntry`'s id, kind, subject and time). A row that
    does not fit ``E`` is left out of what is read (logged)."""

    def __init__(self, store: Store, namespace: str, data: type[D], entry: type[E]) -> None:
        self.store = store
        self.namespace = namespace
        self.data = data
        self.entry = entry

    def append(self, kind: str, subject: str, data: D, when: float | None = None) -> int:
        return self.store.append(self.namespace, kind, subject, dict(data), when)

    def list(self, kind: str | None = None, limit: int = 100, subject: str | None = None
             ) -> list[E]:
        rows = self.store.journal(self.namespace, kind=kind, limit=limit, subject=subject)
        recs = (validated(self.entry, row, f"journal {self.namespace} #{row['id']}")
                for row in rows)
        return [rec for rec in recs if rec is not None]

    def trim(self, keep: int) -> None:
        self.store.trim("journal", keep, namespace=self.namespace)
