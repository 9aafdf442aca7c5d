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
import subprocess
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


def _unescape(field: str) -> str:
    return field.encode().decode("unicode_escape")


def hierarchies() -> list[Hierarchy]:
    """The cgroup hierarchies mounted under /sys/fs/cgroup, with our place in each."""
    own: dict[str, str] = {}  # key: controllers as in /proc/self/cgroup ("" for v2) -> path
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, own_path = line.split(":", 2)
        own[controllers] = own_path
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


# -- controllers the machine mounts nowhere ----------------------------------------------
# A v1 machine may leave controllers unmounted (here: net_cls, net_prio, perf_event,
# hugetlb). Podman's cgroupfs manager wants a cgroup in every controller /proc/cgroups
# lists, and a world's systemd cannot mount one itself: a hierarchy can only be *created*
# in the initial cgroup namespace. So the outer boot stage (initial cgroup namespace, but a
# mount namespace of its own) mounts each one privately, makes the world's child in it and
# joins it; inside, the mount then shows only that child, as for the others. The hierarchy
# is global once made: the world's children in it are removed, in a private mount
# namespace again, by :func:`remove_unmounted`.

PROC_CGROUPS = Path("/proc/cgroups")
# The controllers systemd mounts together on a v1 machine; a hierarchy made here must have
# the same set as one made by anyone else, or the second mount fails with EBUSY.
JOINED = (("cpu", "cpuacct"), ("net_cls", "net_prio"))
UNSHARE_MOUNT = ("unshare", "--mount", "--propagation", "private")
_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Unmounted:
    """A v1 hierarchy (existing or not yet) of controllers not mounted on the machine."""

    controllers: tuple[str, ...]
    hierarchy_id: int  # 0 while no hierarchy holds them

    @property
    def option(self) -> str:
        """The mount option, also the folder name under /sys/fs/cgroup (systemd's)."""
        return ",".join(self.controllers)


def unmounted_hierarchies() -> list[Unmounted]:
    """Enabled v1 controllers that no hierarchy under /sys/fs/cgroup holds.

    Empty on a cgroup2-only machine (where no v1 controller is mounted at all)."""
    mounted = {c for h in hierarchies() if h.fstype == "cgroup" for c in h.options
               if c != "none" and not c.startswith("name=")}
    if not mounted:
        return []
    by_id: dict[int, list[str]] = {}
    free: list[str] = []
    # /proc/cgroups: controller, hierarchy id, number of cgroups, enabled; "#" a comment.
    for line in PROC_CGROUPS.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, hid, _num, enabled = line.split()[:4]
        if enabled != "1" or name in mounted:
            continue
        if int(hid):
            by_id.setdefault(int(hid), []).append(name)
        else:
            free.append(name)
    found = [Unmounted(tuple(names), hid) for hid, names in by_id.items()]
    for joined in JOINED:
        if all(c in free for c in joined):
            found.append(Unmounted(joined, 0))
            free = [c for c in free if c not in joined]
    found += [Unmounted((c,), 0) for c in free]
    return found


# Run with `sh -c SCRIPT sh MODE NAME WORKDIR OPTION...` in a mount namespace of its own.
# MODE "list" prints OPTION/NAME for each hierarchy holding NAME; "remove" kills what is
# left in NAME's subtree, removes it deepest first and prints what it could not remove.
# A removed cgroup is released a moment later, and unmounting a hierarchy whose children
# are not yet released keeps it alive for good (until mounted and unmounted again): so an
# unused hierarchy is unmounted only once /proc/cgroups counts its root alone.
_PRIVATE_MOUNT_SCRIPT = """\
set -u
mode=$1 name=$2 work=$3
shift 3
for g in "$@"; do
    m="$work/$g"
    mkdir -p "$m"
    if ! mount -n -t cgroup -o "$g" cgroup "$m"; then
        rmdir "$m"
        echo "cannot mount the $g cgroup hierarchy" >&2
        continue
    fi
    if [ "$mode" = list ]; then
        if [ -d "$m/$name" ]; then echo "$g/$name"; fi
    else
        n=0
        while [ -d "$m/$name" ] && [ $n -lt 500 ]; do
            find "$m/$name" -name cgroup.procs -exec cat {} + | xargs -r kill -9 2>/dev/null
            find "$m/$name" -depth -type d -exec rmdir {} + 2>/dev/null
            n=$((n + 1))
            if [ -d "$m/$name" ]; then sleep 0.02; fi
        done
        if [ -d "$m/$name" ]; then echo "$g/$name"; fi
        first=${g%%,*}
        n=0
        while [ -z "$(find "$m" -mindepth 1 -maxdepth 1 -type d)" ] && [ $n -lt 250 ] &&
              [ "$(awk -v c="$first" '$1 == c {print $3}' /proc/cgroups)" != 1 ]; do
            sleep 0.02
            n=$((n + 1))
        done
    fi
    umount -n "$m"
    rmdir "$m"
done
"""


def _in_private_mounts(mode: str, name: str, workdir: Path,
                       groups: list[Unmounted]) -> list[str]:
    existing = [g.option for g in groups if g.hierarchy_id]
    if not existing:
        return []  # no hierarchy holds them, so no cgroup of ours can be in one
    workdir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([*UNSHARE_MOUNT, "sh", "-c", _PRIVATE_MOUNT_SCRIPT, "sh", mode,
                           name, str(workdir), *existing],
                          capture_output=True, text=True, env={"PATH": _PATH}, check=False)
    if done.returncode or done.stderr.strip():
        logger.warning("cgroups of %s in unmounted hierarchies (%s): exit %d: %s", name,
                       mode, done.returncode, done.stderr.strip())
    with contextlib.suppress(OSError):
        workdir.rmdir()
    return done.stdout.split()


def list_unmounted(name: str, workdir: Path) -> list[str]:
    """``OPTION/NAME`` for each machine-unmounted hierarchy that holds a cgroup ``name``."""
    return _in_private_mounts("list", name, workdir, unmounted_hierarchies())


def remove_unmounted(name: str, workdir: Path) -> None:
    """Kill what is left in ``name``'s cgroups of the unmounted hierarchies, remove them.

    ``workdir`` (in the world's folder) holds the private mount points meanwhile."""
    left = _in_private_mounts("remove", name, workdir, unmounted_hierarchies())
    if left:
        raise OSError(errno.EBUSY, f"cgroups of {name} could not be removed: {left}")
