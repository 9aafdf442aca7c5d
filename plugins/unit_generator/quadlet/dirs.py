"""Where Quadlet files are read from, as Podman's generator searches.

``QUADLET_UNIT_DIRS`` (colon-separated absolute paths) replaces the defaults. Root reads
/run, /etc and /usr/share ``containers/systemd``; a user reads ``$XDG_RUNTIME_DIR`` and
``~/.config`` ``containers/systemd`` and the ``users/`` and ``users/$UID`` folders of
/etc and /usr/share. Every folder is searched with its sub-folders, except ``*.d``
drop-in folders; a folder reached twice (through a symlink) is read once.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping

logger = logging.getLogger(__name__)

UNIT_DIR_TEMP = "/run/containers/systemd"
UNIT_DIR_ADMIN = "/etc/containers/systemd"
UNIT_DIR_DISTRO = "/usr/share/containers/systemd"

Filter = Callable[[str, bool], bool]


def _append_tree(paths: list[str], path: str, is_user: bool, keep: Filter | None) -> None:
    if not os.path.exists(path):
        paths.append(path)  # kept for the "no files parsed from" message
        return
    resolved = os.path.realpath(path)
    if resolved in paths or resolved.endswith(".d"):
        return
    if keep is not None and not keep(resolved, is_user):
        return
    if not os.path.isdir(resolved):
        return
    paths.append(resolved)
    try:
        entries = sorted(os.listdir(resolved))
    except OSError as exc:
        logger.debug("Error occurred walking sub directories %r: %s", path, exc)
        return
    for entry in entries:
        _append_tree(paths, os.path.join(resolved, entry), is_user, keep)


def _user_level_filter(users_dir: str) -> Filter:
    # As root, skip the users/ folders; as a user, take what the caller asked for.
    return lambda path, is_user: not path.startswith(users_dir) or is_user


def _non_numeric_filter(users_dir: str, level: int) -> Filter:
    # Under users/, a user walks every folder except other users' numeric ones.
    def keep(path: str, _is_user: bool) -> bool:
        if not path.startswith(users_dir):
            return True
        parts = path.split(os.sep)
        if len(parts) == level:
            return True
        return len(parts) > level and not re.fullmatch(r"[0-9]*", parts[level])
    return keep


def unit_dirs(is_user: bool, env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    paths: list[str] = []
    from_env = env.get("QUADLET_UNIT_DIRS", "")
    if from_env:
        for folder in from_env.split(":"):
            if not os.path.isabs(folder):
                logger.error("%s not a valid file path", folder)
                break
            _append_tree(paths, folder, False, None)
        return paths

    users_dir = os.path.realpath(os.path.join(UNIT_DIR_ADMIN, "users"))
    user_level = _user_level_filter(users_dir)
    if not is_user:
        for folder in (UNIT_DIR_TEMP, UNIT_DIR_ADMIN, UNIT_DIR_DISTRO):
            _append_tree(paths, folder, False, user_level)
        return paths

    runtime_dir = env.get("XDG_RUNTIME_DIR")
    if runtime_dir is not None:
        _append_tree(paths, os.path.join(runtime_dir, "containers/systemd"), False, None)
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".config")
    _append_tree(paths, os.path.join(config_home, "containers/systemd"), False, None)
    non_numeric = _non_numeric_filter(users_dir, len(users_dir.split(os.sep)))
    uid = str(os.getuid())
    for base in (UNIT_DIR_ADMIN, UNIT_DIR_DISTRO):
        _append_tree(paths, os.path.join(base, "users"), True, non_numeric)
        _append_tree(paths, os.path.join(base, "users", uid), True, user_level)
    return paths
