"""The world's own cgroups: one child per mounted hierarchy, removed depth first.

A world's systemd runs in a cgroup namespace rooted at these children, so it sees (and
manages) only its own subtree, and a second world, or the next test run, is never confused
by the first one's leftovers. Each child is made under the cgroup the creating process is
already in (not at the hierarchy's root): the world stays inside whatever limits its
creator lives under.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
_NOT_CONTROLLERS = {"rw", "ro", "relatime", "noatime", "nosuid", "nodev", "noexec",
                    "nsdelegate", "memory_recursiveprot", "clone_children", "noprefix",
                    "xattr", "cpuset_v2_mode", "favordynmods", "memory_localevents"}


@dataclass(frozen=True)
class Hierarchy:
    """One mounted cgroup hierarchy: where it is mounted and how to mount it again."""

    mountpoint: Path
    fstype: str  # "cgroup" (v1) or "cgroup2"
    options: tuple[str, ...]  # the controllers, or ("none", "name=systemd"); () for v2
    current: str  # this process's cgroup in it, relative to the mountpoint

    @property
    def mount_options(self) -> str:
        return ",".join(self.options)


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape")


def hierarchies() -> list[Hierarchy]:
    """The cgroup hierarchies mounted under /sys/fs/cgroup, with our place in each."""
    own: dict[str, str] = {}  # key: controllers as in /proc/self/cgroup ("" for v2) -> path
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    found: list[Hierarchy] = []
    seen: set[Path] = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        before, after = line.split(" - ", 1)
        fields = before.split()
        root, mountpoint = _unescape(fields[3]), Path(_unescape(fields[4]))
        fstype, _source, superopts = after.split()[:3]
        if fstype not in ("cgroup", "cgroup2") or mountpoint.parent != CGROUP_ROOT:
            continue
        if mountpoint in seen:
            continue
        if fstype == "cgroup2":
            options: tuple[str, ...] = ()
            key = ""
        else:
            names = [o for o in superopts.split(",") if o not in _NOT_CONTROLLERS]
            key = ",".join(names)
            options = tuple(names) if any(not n.startswith("name=") for n in names) \
                else ("none", *names)
        path = own.get(key)
        if path is None:
            logger.debug("cgroup hierarchy %s: not listed in /proc/self/cgroup", mountpoint)
            continue
        # Both paths are relative to our cgroup namespace; a mount of a subtree has a root.
        if root != "/" and path.startswith(root):
            path = path[len(root):] or "/"
        seen.add(mountpoint)
        found.append(Hierarchy(mountpoint, fstype, options, path.lstrip("/")))
    return found


def _copy_cpuset(child: Path) -> None:
    for name in ("cpuset.cpus", "cpuset.mems"):
        target = child / name
        if target.exists() and not target.read_text().strip():
            target.write_text((child.parent / name).read_text())


@dataclass
class CgroupSet:
    """The children named ``name`` in every hierarchy; ``paths`` is what was made."""

    name: str
    paths: list[Path]

    @classmethod
    def create(cls, name: str) -> CgroupSet:
        made = cls(name, [])
        try:
            for h in hierarchies():
                child = h.mountpoint / h.current / name
                child.mkdir()
                made.paths.append(child)
                if h.options and "cpuset" in h.options:
                    _copy_cpuset(child)
        except OSError:
            made.remove()
            raise
        logger.debug("made cgroups %s", [str(p) for p in made.paths])
        return made

    def child(self, sub: str, create: bool = True) -> CgroupSet:
        """The children ``sub`` of ours, made when missing if ``create``."""
        made = CgroupSet(f"{self.name}/{sub}", [p / sub for p in self.paths])
        for path in made.paths if create else ():
            path.mkdir(exist_ok=True)
            _copy_cpuset(path)
        return made

    def remove_below(self, timeout: float = 10.0) -> None:
        """Remove what is below the children (a dead systemd's slices), keep the children."""
        for top in self.paths:
            for entry in top.iterdir() if top.exists() else ():
                if entry.is_dir():
                    CgroupSet(self.name, [entry]).remove(timeout)

    def procs_files(self) -> list[Path]:
        return [p / "cgroup.procs" for p in self.paths]

    def pids(self) -> set[int]:
        """Every process in any of the children or below them."""
        found: set[int] = set()
        for top in self.paths:
            for dirpath, _dirs, _files in os.walk(top):
                with contextlib.suppress(OSError):
                    text = (Path(dirpath) / "cgroup.procs").read_text()
                    found.update(int(x) for x in text.split())
        return found

    def kill_all(self, timeout: float = 10.0) -> None:
        """SIGKILL every process in the subtree until none is left."""
        deadline = time.monotonic() + timeout
        while pids := self.pids():
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                raise TimeoutError(f"processes survive SIGKILL in {self.name}: {sorted(pids)}")
            time.sleep(0.02)

    def remove(self, timeout: float = 10.0) -> None:
        """Remove the children and everything below them, deepest first."""
        deadline = time.monotonic() + timeout
        for top in self.paths:
            if not top.exists():
                continue
            dirs = [Path(d) for d, _, _ in os.walk(top)]
            for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
                while True:
                    try:
                        d.rmdir()
                        break
                    except FileNotFoundError:
                        break
                    except OSError as exc:
                        # EBUSY while a killed process is still being reaped.
                        if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                            raise
                        time.sleep(0.02)
        logger.debug("removed cgroups %s", self.name)
