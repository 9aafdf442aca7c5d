"""What a world might leave on the machine, and a check that it left none of it.

Take a :class:`HostSnapshot` before ``up()``; after ``down()``, :func:`leftovers` lists
anything of the world still there: a process, a mount, a cgroup, a network interface, an
iptables rule, or a new entry in the places Podman, CNI, netavark, libmount or systemd
write to when they are not confined to the world's folder.
"""

from __future__ import annotations

import glob
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bridge.sandbox.cgroups import CGROUP_ROOT, hierarchies, list_unmounted
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
        try:
            found.update(os.path.join(folder, name) for name in os.listdir(folder))
        except OSError:
            continue
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
        done = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True,
                              check=False)
        found += [f"iptables -t {table} {line}" for line in done.stdout.splitlines()
                  if net.subnet in line]
    return found


def leftovers(world: World, before: HostSnapshot) -> list[str]:
    """Everything of ``world`` still on the machine; empty when it left nothing."""
    found = _processes_of(world) + _cgroups_of(world) + _mounts_of(world)
    found += _network_of(world)
    found += [f"file {path}" for path in sorted(_listing() - before.entries)]
    return found
