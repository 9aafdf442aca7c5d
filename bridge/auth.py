"""Auth: the first token, kept 0600 in the state folder and printed as a URL at start (like
Jupyter), more named tokens with roles (credentials.py), server-side sessions handed out by
``/login`` or ``/?token=`` (sessions.py), and a limit on failed attempts per client."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.credentials import FIRST, Credential, Credentials, new_token, write_private
from bridge.sessions import Session, Sessions

if TYPE_CHECKING:
    from bridge.store import Store

logger = logging.getLogger(__name__)

COOKIE = "podbridge_session"


def load_or_create_token(path: Path) -> str:
    """The token in ``path``; a new random one (written 0600) when the file is missing."""
    try:
        token = path.read_text().strip()
        if token:
            mode = path.stat().st_mode & 0o777
            if mode & 0o077:
                logger.warning("token file %s is readable by others (mode %o)", path, mode)
            return token
    except FileNotFoundError:
        pass
    token = new_token()
    write_private(path, token + "\n")
    return token


class LoginLimiter:
    """Failed logins per client address: after ``attempts`` failures within ``window``
    seconds the address is refused until the oldest of them is ``window`` old."""

    MAX_CLIENTS = 10_000

    def __init__(self, attempts: int = 10, window: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        q = self._failures.get(client)
        if q is None:
            return deque()
        cutoff = self.clock() - self.window
        while q and q[0] < cutoff:
            q.popleft()
        if not q:
            del self._failures[client]
        return q

    def blocked(self, client: str) -> float:
        """Seconds until ``client`` may try again (0: now)."""
        q = self._recent(client)
        if len(q) < self.attempts:
            return 0.0
        return max(0.0, q[0] + self.window - self.clock())

    def failed(self, client: str) -> None:
        if client not in self._failures and len(self._failures) >= self.MAX_CLIENTS:
            # Bounded memory under a flood of addresses: forget the oldest entry.
            self._failures.pop(next(iter(self._failures)))
        self._failures.setdefault(client, deque()).append(self.clock())

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


class Auth:
    """Checks tokens (named credentials with a role) and session cookies, and limits
    failed attempts per client."""

    def __init__(self, token: str, *, tokens_file: Path | None = None,
                 store: Store | None = None, idle_timeout: float = 900.0,
                 absolute_timeout: float = 86_400.0, login_attempts: int = 10,
                 login_window: float = 60.0) -> None:
        self.token = token
        self.credentials = Credentials(token, tokens_file)
        self.sessions = Sessions(store, idle_timeout, absolute_timeout)
        self.limiter = LoginLimiter(login_attempts, login_window)

    def check_token(self, candidate: str | None) -> Credential | None:
        return self.credentials.check(candidate)

    def new_session(self, cred: Credential | None = None) -> str:
        cred = cred or self.credentials.current(FIRST)
        assert cred is not None
        return self.sessions.new(cred.name, cred.role, cred.fingerprint)

    def check_session(self, session: str | None) -> Session | None:
        """The live session of this cookie value whose credential still exists; its role is
        the credential's role now (a changed role applies at once)."""
        s = self.sessions.check(session)
        if s is None or not self._still_valid(s):
            return None
        return s

    def _still_valid(self, s: Session) -> bool:
        """Whether the credential of ``s`` is still the one it was made with (not revoked,
        not replaced); its role follows the credential's."""
        cred = self.credentials.current(s.name)
        if cred is None or cred.fingerprint != s.fingerprint:
            self.sessions.end_for(s.name, s.fingerprint)
            return False
        s.role = cred.role
        return True

    def check_session_key(self, key: str) -> Session | None:
        """The live session stored under ``key`` whose credential still exists (no touch)."""
        s = self.sessions.by_key(key)
        if s is None or not self.sessions.is_live(key) or not self._still_valid(s):
            return None
        return s

    def end_session(self, session: str | None) -> str | None:
        return self.sessions.end(session)

    def revoked_sessions(self) -> list[str]:
        """End the sessions of credentials that no longer exist; their keys."""
        return [s.key for s in self.sessions.all() if not self._still_valid(s)]
