"""The audit trail: every call that changes something (or was refused), with who, their
role, from where, the method, its params (secrets masked), the result and the duration,
written to the store before the answer is sent; kept by count and age. Each record is
also published as an ``audit.call`` event (without params or result) so that hooks can
fire on ``audit.*``."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from typing_extensions import TypedDict

from bridge.contracts import Topic, record
from bridge.errors import as_bridge_error
from bridge.events import rfc3339

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.methods import Method
    from bridge.roles import Caller
    from bridge.store import Store

logger = logging.getLogger(__name__)


class AuditCallData(TypedDict):
    who: str
    role: str
    via: str
    remote: str
    ok: bool
    duration: float
    error: str | None


class AuditError(TypedDict):
    code: str
    message: str


class AuditOutcome(TypedDict, total=False):
    """What a call answered: its ``data``, or its ``error``."""

    data: Any
    error: AuditError


@record("audit")
class AuditRecord(TypedDict):
    """One call in the audit trail (``audit.list``)."""

    id: int
    time: str | None
    who: str
    role: str
    via: str
    remote: str
    method: str
    params: Any
    ok: bool
    result: AuditOutcome
    duration: float


AUDIT_CALL = Topic("audit.call", AuditCallData)
SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    who TEXT NOT NULL,
    role TEXT NOT NULL,
    via TEXT NOT NULL,
    remote TEXT NOT NULL,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    ok INTEGER NOT NULL,
    result TEXT NOT NULL,
    duration REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit (time);
"""
SECRET_WORDS = ("secret", "token", "password", "passwd", "key", "authorization")
MAX_TEXT = 4096
PRUNE_EVERY = 200


def mask(value: Any, depth: int = 0) -> Any:
    """``value`` with the values of secret-looking keys replaced by ``"***"``."""
    if depth > 20:
        return "…"
    if isinstance(value, dict):
        return {k: "***" if isinstance(k, str) and any(w in k.lower() for w in SECRET_WORDS)
                else mask(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, depth + 1) for v in value]
    return value


def _text(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= MAX_TEXT else json.dumps({"truncated": text[:MAX_TEXT]})


class AuditLog:
    def __init__(self, store: Store, bus: Bus | None = None, max_entries: int = 100_000,
                 max_age_days: float = 90.0) -> None:
        self.store = store
        self.bus = bus
        self.max_entries = max_entries
        self.max_age = max_age_days * 86_400
        self._since_prune = 0
        store.executescript(SCHEMA)
        self.prune()

    def record(self, method: Method, caller: Caller, params: Any,
               error: BaseException | None, result: Any, duration: float) -> None:
        if error is None:
            ok, outcome = True, {"data": result}
        else:
            ok, outcome = False, {"error": as_bridge_error(error).to_json()}
        now = time.time()
        try:
            self.store.execute(
                "INSERT INTO audit (time, who, role, via, remote, method, params, ok, result, "
                "duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (now, caller.name, caller.role, caller.via, caller.remote, method.name,
                 _text(mask(params if params is not None else {})), int(ok),
                 _text(mask(outcome)), round(duration, 6)))
        except Exception:
            logger.exception("cannot write the audit record of %s", method.name)
            raise
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self.prune()
        if self.bus is not None:
            self.bus.publish(AUDIT_CALL, "bridge", method.name, {
                "who": caller.name, "role": caller.role, "via": caller.via,
                "remote": caller.remote, "ok": ok, "duration": round(duration, 6),
                "error": None if ok else outcome["error"]["code"]})

    def prune(self) -> None:
        self._since_prune = 0
        self.store.trim("audit", self.max_entries, before=time.time() - self.max_age)

    def list(self, limit: int = 100, before: int | None = None, who: str | None = None,
             method: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, time, who, role, via, remote, method, params, ok, result, duration "
               "FROM audit")
        rows = self.store.newest(sql, limit, id_below=before, who=who, method=method)
        # The store's rows are sqlite3.Row: by column name, in the SELECT's order.
        return [{**dict(r), "time": rfc3339(r["time"]), "params": json.loads(r["params"]),
                 "ok": bool(r["ok"]), "result": json.loads(r["result"])} for r in rows]
