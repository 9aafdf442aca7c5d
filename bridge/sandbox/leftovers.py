"""What a world might leave on the machine, and a check that it left none of it.

Take a :class:`HostSnapshot` before ``up()``; after ``down()``, :func:`leftovers` lists
anything of the world still there: a process, a mount, a cgroup, a network interface, an
iptables rule, or a new entry in the places Podman, CNI, netavark, libmount or systemd
write to when they are not confined to the world's folder.

Only what the *world* owns counts. The machine is shared: other programs create files in
the same places (Podman's blob cache in /var/lib/containers/cache, a unit installed in
/etc/systemd/system), and other worlds run beside this one. A new entry is the world's when
it names the world: its path, a symlink's target, the text of a small file, or the names
and texts inside a new folder hold the world's name, its folder, or its network's
interface or subnet. That is what a world's leak looks like (a netns, a CNI/netavark
config, a unit or state file written through a path the world should have kept private);
an entry that names none of them is reported as foreign, in the log, not as a leak.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bridge.sandbox.cgroups import CGROUP_ROOT, hierarchies, list_unmounted
from bridge.sandbox.network import iptables_save
from bridge.sandbox.world import World

logger = logging.getLogger(__name__)

# Folders whose new entries would be a world's leak. Other users of the machine rarely
# write here; /tmp and /var/tmp are shared, so only names Podman and runc use count there.
WATCHED = ("/run", "/run/containers", "/run/libpod", "/run/netns", "/run/systemd",
           "/var/lib/cni", "/var/lib/containers", "/var/lib/systemd", "/etc/systemd/system",
           "/etc/containers", "/etc/containers/networks", "/etc/cni/net.d", "/var/tmp")
TMP_PATTERNS = ("/tmp/podman*", "/tmp/storage*", "/tmp/runc*", "/tmp/systemd-private-*",
                "/tmp/container_images_*", "/tmp/buildah*", "/var/tmp/*")


def _listing() -> frozenset[str]:
    found: set[str] = set()
    for folder in WATCHED:
        with contextlib.suppress(OSError):
            found.update(os.path.join(folder, name) for name in os.listdir(folder))
    for pattern in TMP_PATTERNS:
        found.update(glob.glob(pattern))
    return frozenset(found)


@dataclass(frozen=True)
class HostSnapshot:
    entries: frozenset[str]

    @classmethod
    def take(cls) -> HostSnapshot:
        return cls(_listing())


def _processes_of(world: World) -> list[str]:
    root = str(world.root)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cgroups = (entry / "cgroup").read_text()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if root in cmdline or world.name in cgroups:
            comm, rest = stat.split("(", 1)[1].rsplit(")", 1)
            state, ppid = rest.split()[:2]
            if state == "Z" and int(ppid) != os.getpid():
                continue  # dead; reaping it is its parent's business (often init's)
            found.append(f"process {entry.name} ({comm}, state {state}, parent {ppid}): "
                         f"{cmdline.strip()[:120]}")
    return found


def _cgroups_of(world: World) -> list[str]:
    paths = {str(p) for p in world.cgroups if p.exists()}
    paths.update(glob.glob(str(CGROUP_ROOT / "*" / world.name)))
    for h in hierarchies():
        paths.update(glob.glob(str(h.mountpoint / h.current / world.name)))
    # The hierarchies the world mounted itself (net_cls, ...), seen in a private mount.
    paths.update(f"(unmounted) {p}" for p in list_unmounted(world.name, world.root / "cgroupfs"))
    return [f"cgroup {p}" for p in sorted(paths)]


def _mounts_of(world: World) -> list[str]:
    root = str(world.root)
    return [f"mount {line}" for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if root in line or world.name in line]


def _network_of(world: World) -> list[str]:
    found: list[str] = []
    net = world.record.network
    if net is None:
        return found
    if Path(f"/sys/class/net/{net.interface}").exists():
        found.append(f"network interface {net.interface}")
    for table in ("nat", "filter"):
        found += [f"iptables -t {table} {line}"
                  for line in (iptables_save(table) or "").splitlines() if net.subnet in line]
    return found


MAX_READ = 1 << 20          # the bytes of one file read for the world's marks
MAX_ENTRIES = 500           # the entries of one new folder looked into


def world_marks(world: World) -> list[bytes]:
    """The strings that name ``world`` (and no other world)."""
    marks = [world.name, str(world.root)]
    net = world.record.network
    if net is not None:
        marks += [net.interface, net.subnet]
    return [m.encode() for m in marks if m]


def _names_world(path: str, marks: list[bytes]) -> bool:
    """``path`` (a file, link or folder, recursively) names the world."""
    todo, seen = [path], 0
    while todo and seen < MAX_ENTRIES:
        entry = todo.pop()
        seen += 1
        raw = entry.encode()
        if any(m in raw for m in marks):
            return True
        try:
            if os.path.islink(entry):
                text = os.readlink(entry).encode()
            elif os.path.isdir(entry):
                todo += [os.path.join(entry, n) for n in os.listdir(entry)]
                continue
            elif os.path.isfile(entry):
                with open(entry, "rb") as f:
                    text = f.read(MAX_READ)
            else:
                continue    # a socket or fifo: its path said it all
        except OSError:
            continue        # gone, or unreadable: not evidence of anything
        if any(m in text for m in marks):
            return True
    return False


def new_files_of(world: World, before: HostSnapshot) -> tuple[list[str], list[str]]:
    """(the world's, foreign): the entries that appeared since ``before``, split by
    whether they name ``world``."""
    marks = world_marks(world)
    mine: list[str] = []
    foreign: list[str] = []
    for path in sorted(_listing() - before.entries):
        (mine if _names_world(path, marks) else foreign).append(path)
    return mine, foreign


def leftovers(world: World, before: HostSnapshot) -> list[str]:
    """Everything of ``world`` still on the machine; empty when it left nothing."""
    found = _processes_of(world) + _cgroups_of(world) + _mounts_of(world)
    found += _network_of(world)
    mine, foreign = new_files_of(world, before)
    if foreign:
        logger.info("new on the machine while %s ran, not of it (another program's or "
                    "another world's): %s", world.name, ", ".join(foreign))
    found += [f"file {path}" for path in mine]
    return found
