"""What registries.conf says about a registry's transport: plain HTTP / no TLS verification
(``insecure = true``) or verified TLS.

Both formats are read: v2 (``[[registry]]`` tables with ``location``/``prefix`` and
``insecure``) and v1 (``[registries.insecure] registries = [...]``). The path is
configurable because a test world has its own; by default it is
``$CONTAINERS_REGISTRIES_CONF``, then (rootless) the user's
``$XDG_CONFIG_HOME/containers/registries.conf`` when it exists, then
``/etc/containers/registries.conf``, as in containers/image.
"""

from __future__ import annotations

import logging
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path("/etc/containers/registries.conf")


@dataclass(frozen=True)
class RegistriesConf:
    insecure: dict[str, bool] = field(default_factory=dict)  # location/prefix -> insecure

    def is_insecure(self, host: str, repository: str = "") -> bool:
        """The longest matching location (or prefix) wins, as in containers/image."""
        name = f"{host}/{repository}" if repository else host
        best, value = -1, False
        for location, insecure in self.insecure.items():
            if _matches(location, host, name) and len(location) > best:
                best, value = len(location), insecure
        return value


def _matches(location: str, host: str, name: str) -> bool:
    if location.startswith("*."):
        return host.endswith(location[1:])
    return name == location or name.startswith(location + "/") or host == location


def default_path() -> Path:
    env = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    if env:
        return Path(env)
    if os.geteuid() != 0:
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        user = Path(config) / "containers" / "registries.conf"
        if user.exists():
            return user
    return DEFAULT_PATH


def load(path: Path | str | None = None) -> RegistriesConf:
    """registries.conf at ``path`` (default: see above); a missing file means no entries."""
    p = Path(path) if path is not None else default_path()
    try:
        data = tomllib.loads(p.read_text())
    except FileNotFoundError:
        return RegistriesConf()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        logger.warning("cannot read %s: %s", p, exc)
        return RegistriesConf()
    return parse(data)


def parse(data: dict[str, Any]) -> RegistriesConf:
    insecure: dict[str, bool] = {}
    v1 = data.get("registries")
    if isinstance(v1, dict):
        for host in (v1.get("insecure") or {}).get("registries") or []:
            insecure[str(host)] = True
    for entry in data.get("registry") or []:
        if not isinstance(entry, dict):
            continue
        location = str(entry.get("prefix") or entry.get("location") or "")
        if location:
            insecure[location] = bool(entry.get("insecure", False))
    return RegistriesConf(insecure)
