"""Token auth: a random token kept 0600 in the state folder, printed as a URL at start
(like Jupyter), and session cookies handed out by ``/login`` or ``/?token=``."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

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
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)
    return token


class Auth:
    """Checks tokens and session cookies.

    A session is ``NONCE.MAC`` with MAC = HMAC-SHA256(token, NONCE): the bridge can verify it
    without remembering it, so a session outlives a restart of the bridge (the panel then
    reconnects by itself), and changing the token ends every session. Logged-out sessions
    are remembered until the bridge restarts.
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self._ended: set[str] = set()

    def check_token(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate), self.token)

    def _mac(self, nonce: str) -> str:
        return hmac.new(self.token.encode(), nonce.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._mac(nonce)}"

    def check_session(self, session: str | None) -> bool:
        if not session or session in self._ended:
            return False
        nonce, _, mac = session.partition(".")
        return bool(nonce) and hmac.compare_digest(mac, self._mac(nonce))

    def end_session(self, session: str | None) -> None:
        if session:
            self._ended.add(session)
