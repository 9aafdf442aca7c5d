"""Before a user's bridge starts: what rootless Podman and the user manager need, checked,
each problem said with its fix.

A bridge run by a normal user serves that user's rootless Podman and user manager. Without
subordinate ids, Podman cannot map an image's users; without a running user manager there
is neither the user's bus nor ``podman.socket``; a missing socket is only a warning, since
the bridge then runs its own ``podman system service``.
"""

from __future__ import annotations

import logging
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from bridge.config import Settings
from bridge.paths import is_root
from bridge.userbus import bus_path

logger = logging.getLogger(__name__)

SUBUID = Path("/etc/subuid")
SUBGID = Path("/etc/subgid")


@dataclass(frozen=True)
class Problem:
    message: str
    fatal: bool = True


def _user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def has_subids(path: Path, name: str, uid: int) -> bool:
    """``path`` (an /etc/subuid-style file) gives ``name`` or ``uid`` a range."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return False
    rows = (line.strip().split(":") for line in lines)
    return any(len(p) == 3 and p[0] in (name, str(uid)) and p[2].isdigit() and int(p[2]) > 0
               for p in rows)


def preflight(settings: Settings, *, subuid: Path = SUBUID, subgid: Path = SUBGID
              ) -> list[Problem]:
    """What stands between this user and a working bridge (nothing for root)."""
    if is_root():
        return []
    from bridge.systemd import SystemdClient

    name, uid = _user(), os.getuid()
    problems: list[Problem] = []
    missing = [p for p in (subuid, subgid) if not has_subids(p, name, uid)]
    if missing:
        files = " and ".join(str(p) for p in missing)
        problems.append(Problem(
            f"user {name} has no subordinate id range in {files}: rootless Podman cannot "
            f"map an image's users. Fix (as root): usermod --add-subuids 100000-165535 "
            f"--add-subgids 100000-165535 {name}"))
    if settings.systemd == "user":
        address = SystemdClient._default_address("user")
        socket = bus_path(address)
        if socket is not None and not socket.exists():
            problems.append(Problem(
                f"no user manager runs for {name}: its bus {socket} is missing. Fix (as "
                f"root): loginctl enable-linger {name} (or log in as {name}), then check "
                f"`systemctl --user status`"))
    url = settings.podman_url or ""
    if url.startswith("unix://") and not Path(url.removeprefix("unix://")).exists():
        fallback = settings.url is None and settings.start_podman_service \
            and shutil.which("podman") is not None
        problems.append(Problem(
            f"no rootless Podman socket at {url.removeprefix('unix://')}. Fix: systemctl "
            f"--user enable --now podman.socket" + (
                "; meanwhile podbridge runs its own `podman system service`"
                if fallback else ""), fatal=not fallback))
    return problems
