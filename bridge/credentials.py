"""Named credentials, a role each: the first token (the token file, printed at start) is
``admin``; more are added with ``podbridge token add NAME --role R`` and kept, hashed, in
``tokens.json`` beside it (0600). The running bridge re-reads that file when it changes, so
``token revoke`` takes effect without a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.roles import ROLES

logger = logging.getLogger(__name__)

FIRST = "admin"  # the name of the token-file credential
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


TOKEN_PREFIX = "pbt_"


def new_token() -> str:
    """A new random token. It starts with ``pbt_``: a bare ``token_urlsafe`` begins with
    ``-`` once in 64 draws, and ``--token -abc`` is then read as an option, not a value
    (the CLI refused such a token with a usage error); the prefix also lets secret
    scanners find a leaked podbridge token."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    role: str
    # Which token it is (a prefix of its hash): a session remembers it, so that a
    # replaced token (or a name revoked and added again) ends the sessions of the old one.
    fingerprint: str = ""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Credentials:
    """The first token plus the named tokens of ``path`` (None: the first token only)."""

    def __init__(self, first_token: str, path: Path | None = None) -> None:
        self.first = first_token
        self.path = path
        self._mtime: float | None = None
        self._by_digest: dict[str, dict[str, Any]] = {}
        self._entries: list[dict[str, Any]] = []

    # -- reading
    def _reload(self) -> None:
        if self.path is None:
            return
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._mtime, self._entries, self._by_digest = None, [], {}
            return
        if mtime == self._mtime:
            return
        try:
            doc = json.loads(self.path.read_text())
            entries = [e for e in doc.get("tokens", []) if isinstance(e, dict)
                       and e.get("role") in ROLES and isinstance(e.get("sha256"), str)
                       and isinstance(e.get("name"), str)]
        except (OSError, ValueError, AttributeError) as exc:
            logger.error("cannot read %s, its tokens are refused: %s", self.path, exc)
            entries = []
        self._mtime = mtime
        self._entries = entries
        self._by_digest = {e["sha256"]: e for e in entries}

    def check(self, token: str | None) -> Credential | None:
        """The credential ``token`` proves, or None."""
        if not token or not isinstance(token, str):
            return None
        if hmac.compare_digest(token, self.first):
            return Credential(FIRST, "admin", _digest(self.first)[:16])
        self._reload()
        entry = self._by_digest.get(_digest(token))
        return Credential(entry["name"], entry["role"], entry["sha256"][:16]) if entry else None

    def current(self, name: str) -> Credential | None:
        """The credential called ``name`` as it is now (None once revoked)."""
        if name == FIRST:
            return Credential(FIRST, "admin", _digest(self.first)[:16])
        self._reload()
        entry = next((e for e in self._entries if e["name"] == name), None)
        return Credential(entry["name"], entry["role"], entry["sha256"][:16]) if entry else None

    def list(self) -> list[dict[str, Any]]:
        self._reload()
        return [{"name": FIRST, "role": "admin", "created": None, "source": "token file"},
                *({"name": e["name"], "role": e["role"], "created": e.get("created"),
                   "source": "tokens.json"} for e in self._entries)]

    # -- writing (the CLI)
    def _save(self) -> None:
        assert self.path is not None
        write_private(self.path, json.dumps({"tokens": self._entries}, indent=2) + "\n")
        self._mtime = None

    def add(self, name: str, role: str) -> str:
        """A new token for ``name`` with ``role``; it is shown once and kept only hashed."""
        if self.path is None:
            raise ValueError("no tokens file")
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"name {name!r}: use letters, digits and . _ @ - (at most 64)")
        if role not in ROLES:
            raise ValueError(f"role {role!r}: must be one of {', '.join(ROLES)}")
        self._reload()
        if name == FIRST or any(e["name"] == name for e in self._entries):
            raise ValueError(f"a credential named {name!r} exists already")
        token = new_token()
        self._entries.append({"name": name, "role": role, "sha256": _digest(token),
                              "created": time.time()})
        self._save()
        return token

    def revoke(self, name: str) -> None:
        if name == FIRST:
            raise ValueError(f"{FIRST!r} is the token file's: replace that file to change it")
        self._reload()
        kept = [e for e in self._entries if e["name"] != name]
        if len(kept) == len(self._entries):
            raise KeyError(name)
        self._entries = kept
        self._save()
