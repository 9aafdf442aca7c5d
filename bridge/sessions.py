"""Browser sessions: a random id in an HttpOnly cookie, kept on the server (in the store,
hashed, so sessions outlive a restart of the bridge) with the credential it came from.
A session ends when it has been idle too long, when it is too old, on ``logout`` (in every
tab: they share the cookie), and when its credential is revoked."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bridge.store import Store

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""
TOUCH_EVERY = 30.0  # seconds between writes of a session's last activity


@dataclass(slots=True)
class Session:
    key: str  # sha256 of the cookie's value
    name: str
    role: str
    fingerprint: str
    created: float
    last_seen: float
    saved_seen: float


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class Sessions:
    def __init__(self, store: Store | None, idle: float, absolute: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.idle = idle
        self.absolute = absolute
        self.clock = clock
        self._by_key: dict[str, Session] = {}
        if store is not None:
            store.executescript(SCHEMA)
            for row in store.execute("SELECT id, name, role, fingerprint, created, last_seen "
                                     "FROM sessions"):
                self._by_key[row[0]] = Session(row[0], row[1], row[2], row[3], row[4],
                                               row[5], row[5])
            self.expire()

    def new(self, name: str, role: str, fingerprint: str = "") -> str:
        sid = secrets.token_urlsafe(32)
        now = self.clock()
        s = Session(_key(sid), name, role, fingerprint, now, now, now)
        self._by_key[s.key] = s
        if self.store is not None:
            self.store.execute("INSERT INTO sessions (id, name, role, fingerprint, created, "
                               "last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                               (s.key, name, role, fingerprint, now, now))
        return sid

    def _alive(self, s: Session, now: float) -> bool:
        return now - s.last_seen <= self.idle and now - s.created <= self.absolute

    def check(self, sid: str | None) -> Session | None:
        """The live session of cookie value ``sid`` (its idle clock restarted), or None."""
        if not sid or not isinstance(sid, str):
            return None
        s = self._by_key.get(_key(sid))
        if s is None:
            return None
        now = self.clock()
        if not self._alive(s, now):
            self._drop([s.key])
            return None
        self._touch(s, now)
        return s

    def by_key(self, key: str) -> Session | None:
        return self._by_key.get(key)

    def touch(self, key: str) -> None:
        s = self._by_key.get(key)
        if s is not None:
            self._touch(s, self.clock())

    def _touch(self, s: Session, now: float) -> None:
        """Restart the idle clock of ``s``; written to the store at most every
        TOUCH_EVERY seconds."""
        s.last_seen = now
        if self.store is not None and now - s.saved_seen >= TOUCH_EVERY:
            s.saved_seen = now
            self.store.execute("UPDATE sessions SET last_seen=? WHERE id=?", (now, s.key))

    def is_live(self, key: str) -> bool:
        s = self._by_key.get(key)
        return s is not None and self._alive(s, self.clock())

    def end(self, sid: str | None) -> str | None:
        """End the session of cookie value ``sid``; its key, for closing its connections."""
        if not sid or not isinstance(sid, str):
            return None
        key = _key(sid)
        self._drop([key])
        return key

    def end_for(self, name: str, fingerprint: str | None = None) -> list[str]:
        """End the sessions of credential ``name`` (only those of this token when
        ``fingerprint`` is given)."""
        keys = [k for k, s in self._by_key.items() if s.name == name
                and (fingerprint is None or s.fingerprint == fingerprint)]
        self._drop(keys)
        return keys

    def expire(self) -> list[str]:
        now = self.clock()
        keys = [k for k, s in self._by_key.items() if not self._alive(s, now)]
        self._drop(keys)
        return keys

    def all(self) -> list[Session]:
        return list(self._by_key.values())

    def _drop(self, keys: list[str]) -> None:
        for k in keys:
            self._by_key.pop(k, None)
        if self.store is not None and keys:
            self.store.db.executemany("DELETE FROM sessions WHERE id=?", [(k,) for k in keys])
