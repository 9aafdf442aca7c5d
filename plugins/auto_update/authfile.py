"""Registry credentials from a containers auth file (``auth.json``, the Docker config format).

The default path follows containers/image: ``$REGISTRY_AUTH_FILE``, else
``$XDG_RUNTIME_DIR/containers/auth.json`` (rootless) or ``/run/containers/0/auth.json``
(root), then ``$XDG_CONFIG_HOME/containers/auth.json`` (default ``~/.config``), then
``~/.docker/config.json``. Only inline ``auth`` entries are read; credential
helpers are not supported.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        raw = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def x_registry_auth(self, server: str) -> str:
        """The ``X-Registry-Auth`` header of Podman's pull API (base64url JSON)."""
        body = json.dumps({"username": self.username, "password": self.password,
                           "serveraddress": server})
        return base64.urlsafe_b64encode(body.encode()).decode()


def default_paths() -> list[Path]:
    env = os.environ.get("REGISTRY_AUTH_FILE")
    if env:
        return [Path(env)]
    if os.geteuid() == 0:
        first = Path("/run/containers/0/auth.json")
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
        first = Path(runtime) / "containers" / "auth.json"
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [first, Path(config) / "containers" / "auth.json",
            Path.home() / ".docker" / "config.json"]


def _decode(entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    auth = entry.get("auth")
    if isinstance(auth, str) and auth:
        try:
            user, _, password = base64.b64decode(auth).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return Credentials(user, password)
    name, secret = entry.get("username"), entry.get("password")
    if isinstance(name, str) and isinstance(secret, str):
        return Credentials(name, secret)
    return None


def lookup(registry: str, repository: str = "", path: str | Path | None = None
           ) -> Credentials | None:
    """Credentials for ``registry`` (most specific ``registry/repo`` key first), or None."""
    paths = [Path(path)] if path else default_paths()
    for p in paths:
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            logger.warning("cannot read auth file %s: %s", p, exc)
            continue
        auths = data.get("auths") if isinstance(data, dict) else None
        if not isinstance(auths, dict):
            continue
        creds = find(auths, registry, repository)
        if creds is not None:
            return creds
    return None


def find(auths: dict[str, object], registry: str, repository: str = "") -> Credentials | None:
    # In this order (a set's would change from run to run): the name as written first.
    hosts = (registry, "index.docker.io", "registry-1.docker.io") if registry == "docker.io" \
        else (registry,)
    # The most specific namespace first: quay.io/org/repo, quay.io/org, quay.io.
    parts = repository.split("/") if repository else []
    for n in range(len(parts), 0, -1):
        for host in hosts:
            found = _decode(auths.get(f"{host}/{'/'.join(parts[:n])}"))
            if found:
                return found
    for key, entry in auths.items():
        # A bare host, or a URL such as https://index.docker.io/v1/ (Docker's own form).
        is_url = key.startswith(("https://", "http://"))
        host = key.removeprefix("https://").removeprefix("http://").split("/", 1)[0]
        if key.rstrip("/") in hosts or (is_url and host in hosts):
            found = _decode(entry)
            if found:
                return found
    return None
