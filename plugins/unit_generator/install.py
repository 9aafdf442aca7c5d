"""Installing generated units: atomic writes, daemon-reload over D-Bus, enable, start.

A unit the bridge writes carries a marker comment; a file without it was written by someone
else and is never overwritten (or removed) unless asked (``force``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bridge.errors import BridgeError, Conflict, InvalidParams, NotFound
from bridge.systemd import SystemdClient
from bridge.userfiles import UserFolder

logger = logging.getLogger(__name__)

MARKER = "# Managed by podbridge: it may rewrite or remove this file."
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(service|socket|timer|target|path|mount|slice)$")
JOB_TIMEOUT = 300.0


class InstallError(BridgeError):
    pass


def check_unit_name(name: str) -> None:
    if not UNIT_NAME.fullmatch(name) or name.startswith("."):
        raise InvalidParams(f"unit name {name!r}: not a valid systemd unit file name")


def is_ours(path: Path) -> bool:
    try:
        with path.open() as f:
            head = f.read(4096)
    except FileNotFoundError:
        return False
    return MARKER in head


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def with_marker(text: str) -> str:
    return text if MARKER in text else f"{MARKER}\n{text}"


@dataclass
class InstallResult:
    unit: str
    path: str
    enabled: bool
    job_result: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_writable(unit_dir: Path) -> None:
    """Fail, naming the fix, when ``unit_dir`` (or the folder that would hold it, for a
    user's ``~/.config/systemd/user`` not made yet) cannot be written."""
    existing = unit_dir
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if existing.is_dir() and os.access(existing, os.W_OK | os.X_OK):
        return
    try:
        who = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        who = str(os.geteuid())
    what = "is not a folder" if not existing.is_dir() else "is not writable by " + who
    raise InstallError(
        f"cannot write units to {unit_dir}: {existing} {what}. Fix: make it writable by "
        f"{who} (e.g. `chown {who} {existing}`), or point the bridge's unit_dir "
        f"(--unit-dir) at a folder {who} can write; nothing was written")


def write_units(unit_dir: Path, units: dict[str, str], *, force: bool,
                folder: UserFolder | None = None) -> None:
    """Write every unit or none: all files are checked before any is written, so a conflict
    leaves nothing half-done. ``folder``: a user's folder (``unit_dir`` is its path),
    written by root as the user's (bridge.userfiles)."""
    if folder is not None:
        _write_user_units(folder, units, force=force)
        return
    for name in units:
        check_unit_name(name)
        target = unit_dir / name
        if target.exists() and not force and not is_ours(target):
            raise Conflict(f"{target} exists and was not written by podbridge "
                           "(use force to overwrite it)")
    check_writable(unit_dir)
    try:
        for name, text in units.items():
            write_atomic(unit_dir / name, with_marker(text))
    except OSError as exc:
        raise InstallError(f"cannot write {exc.filename}: {exc.strerror}") from None


async def install_units(systemd: SystemdClient, unit_dir: Path, units: dict[str, str], *,
                        enable: bool, start: bool, force: bool,
                        folder: UserFolder | None = None) -> list[InstallResult]:
    """Write every unit (all or none), reload, then enable and start as asked."""
    write_units(unit_dir, units, force=force, folder=folder)
    await systemd.reload()
    results = []
    for name in units:
        enabled = enable and not name.endswith("@.service")
        if enabled:
            await systemd.enable_unit_files([name], runtime=False, force=True)
        results.append(InstallResult(name, str(unit_dir / name), enabled, None))
    if start:
        # Start the pod unit (or the single unit); its members follow through Wants=.
        first = next(iter(units))
        results[0].job_result = await systemd.run_job("start", first, timeout=JOB_TIMEOUT)
    return results


def default_quadlet_dir() -> Path:
    """Where Podman's Quadlet reads files: the user's ``$XDG_CONFIG_HOME/containers/systemd``
    for a user, ``/etc/containers/systemd`` for root."""
    if os.geteuid() != 0:
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "containers" / "systemd"
    return Path("/etc/containers/systemd")


def rootless_cgroup_v1() -> bool:
    """A user on a cgroup v1 host: Quadlet's default ``--cgroups=split`` cannot work there
    (no cgroup v1 delegation to users; Podman fails with ``mkdir /sys/fs/...: permission
    denied``)."""
    return os.geteuid() != 0 and not Path("/sys/fs/cgroup/cgroup.controllers").exists()


def fit_for_rootless_v1(files: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """``CgroupsMode=no-conmon`` (what `podman generate systemd` uses) in each .container
    file that sets none, with a warning saying why."""
    out, warnings = {}, []
    for name, text in files.items():
        if name.endswith(".container") and "\nCgroupsMode=" not in f"\n{text}" \
                and "[Container]\n" in text:
            text = text.replace("[Container]\n", "[Container]\nCgroupsMode=no-conmon\n", 1)
            warnings.append(f"{name}: CgroupsMode=no-conmon, since Quadlet's default "
                            "(split) cannot run rootless on this cgroup v1 host")
        out[name] = text
    return out, warnings


def _write_user_units(folder: UserFolder, units: dict[str, str], *, force: bool) -> None:
    try:
        for name in units:
            check_unit_name(name)
            head = folder.read_head(name)
            if head is not None and not force and MARKER not in head:
                raise Conflict(f"{folder.path / name} exists and was not written by "
                               "podbridge (use force to overwrite it)")
        for name, text in units.items():
            folder.write(name, with_marker(text))
    except OSError as exc:
        raise InstallError(f"cannot write units to {folder.path}: {exc.strerror}; "
                           "nothing more was written") from None


def unit_file(unit_dir: Path, name: str, *, force: bool) -> Path:
    """The file of a unit this bridge may remove."""
    check_unit_name(name)
    target = unit_dir / name
    if not target.exists():
        raise NotFound(f"no unit file {target}")
    if not force and not is_ours(target):
        raise Conflict(f"{target} was not written by podbridge (use force to remove it)")
    return target


async def remove_unit(systemd: SystemdClient, unit_dir: Path, name: str, *, force: bool,
                      folder: UserFolder | None = None) -> dict[str, Any]:
    if folder is None:
        target = unit_file(unit_dir, name, force=force)
    else:
        check_unit_name(name)
        target = folder.path / name
        head = folder.read_head(name)
        if head is None:
            raise NotFound(f"no unit file {target}")
        if not force and MARKER not in head:
            raise Conflict(f"{target} was not written by podbridge (use force to remove it)")
    stop_result: str | None = None
    with contextlib.suppress(NotFound):
        stop_result = await systemd.run_job("stop", name, timeout=JOB_TIMEOUT)
    with contextlib.suppress(BridgeError):
        await systemd.disable_unit_files([name], runtime=False)
    if folder is None:
        os.unlink(target)
    else:
        folder.unlink(name)
    await systemd.reload()
    with contextlib.suppress(BridgeError):
        await systemd.reset_failed_unit(name)
    return {"unit": name, "path": str(target), "stop_result": stop_result}
