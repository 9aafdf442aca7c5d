"""Booting systemd as PID 1 of the world's own pid, mount, cgroup and UTS namespaces.

The outer script (in a mount namespace of its own, still in the initial cgroup namespace)
moves itself into the world's cgroups, mounts the hierarchies the machine does not (see
:func:`bridge.sandbox.cgroups.unmounted_hierarchies`), makes and joins the world's child in
each, and execs `unshare`; the inner script (PID 1 until it execs systemd) builds the
world's view of the machine: a private /tmp and /var/tmp, fresh cgroup mounts that show
only the world's subtree, the world's /run, /etc/containers and /etc/systemd, and then
systemd with the curated unit folders only.
"""

from __future__ import annotations

import logging
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from bridge.sandbox.cgroups import UNSHARE_MOUNT, Hierarchy, Unmounted

logger = logging.getLogger(__name__)

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SYSTEMD = "/lib/systemd/systemd"
SYSTEM_SYSTEMD = "/usr/lib/systemd/systemd"  # in a root filesystem of a flavour (merged /usr)
# busctl's arguments that ask whether systemd owns its name on a bus (never activating it).
SYSTEMD_ON_BUS = ("--timeout=2", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                  "org.freedesktop.DBus", "NameHasOwner", "s", "org.freedesktop.systemd1")

OUTER = """\
#!/bin/sh
# podbridge test world: stage 1, outside. Generated; see bridge/sandbox/boot.py.
# Runs in a private mount namespace of its own (boot.start), so what it mounts stays here.
set -eu
for procs in {procs}; do echo $$ > "$procs"; done
# Hierarchies of controllers the machine mounts nowhere: Podman wants a cgroup in each.
# A hierarchy can only be made in the initial cgroup namespace, so here; joining the
# world's child roots the world's cgroup namespace there, as in the mounted ones.
HIDDEN=
{hidden}
export HIDDEN
exec unshare --pid --fork --mount --propagation private --mount-proc --cgroup --uts \\
    {inner}
"""

INNER = """\
#!/bin/sh
# podbridge test world: stage 2, PID 1 of the new namespaces until it execs systemd.
set -eu
ROOT={root}
# The outer stage's mounts of the hidden hierarchies show all of them: not in here.
for g in $HIDDEN; do umount -n "$ROOT/cgroupfs/$g"; done
# A private /tmp (memory) and /var/tmp (in ROOT); the world's folder stays visible at its
# own path even when it lives under /tmp.
# mount -n everywhere: libmount would otherwise keep /run/mount/utab on the machine.
exec 3<"$ROOT"
{keep_open}
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
# A /dev/shm of its own, as after a real boot: Podman keeps its container locks there
# (/dev/shm/libpod_lock, 2048 of them). Shared with the machine, every world's containers
# drew on one segment, and a world killed with its containers in it never gave theirs back:
# "allocating lock for new container: allocation failed; exceeded num_locks (2048)".
mount -n -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -n --no-canonicalize --bind /proc/self/fd/3/var-tmp /var/tmp
if [ ! -d "$ROOT/lib-units" ]; then
    mkdir -p "$ROOT"
    mount -n --no-canonicalize --bind /proc/self/fd/3 "$ROOT"
fi
exec 3<&-
{keep_bind}
# Fresh cgroup mounts: in this cgroup namespace they show the world's subtree only.
umount -n -R /sys/fs/cgroup
mount -n -t tmpfs -o mode=755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
{cgroup_mounts}
for g in $HIDDEN; do
    mkdir -p "/sys/fs/cgroup/$g"
    mount -n -t cgroup -o "nosuid,nodev,noexec,$g" cgroup "/sys/fs/cgroup/$g"
    case $g in *,*) for c in $(echo "$g" | tr , " "); do ln -s "$g" "/sys/fs/cgroup/$c"; done;; esac
done
{extra_early}
mount -n --bind "$ROOT/run" /run
mount -n --bind "$ROOT/etc-containers" /etc/containers
# What systemd persists (enable symlinks, set-property drop-ins, timer stamps) stays in
# ROOT: its /etc/systemd/system is the unit folder the bridge writes into.
mount -n --bind "$ROOT/etc-systemd" /etc/systemd
mount -n --bind "$ROOT/var-lib-systemd" /var/lib/systemd
# The persistent journal: on a machine that runs the world's Debian itself (debian13 on a
# Debian 13 host) the world's journald would write into the machine's journal, and every
# such world's Podman read the others' events from it.
if [ -d /var/log/journal ]; then
    mkdir -p "$ROOT/var-log-journal"
    mount -n --bind "$ROOT/var-log-journal" /var/log/journal
fi
hostname {hostname}
{enter_rootfs}
{extra_late}
# Never without SYSTEMD_UNIT_PATH (or with one ending in ":"): the distribution's units
# would run, and systemd-tmpfiles-setup empties the machine's /tmp.
# Generators: only the world's own (/etc/systemd/system-generators, in ROOT), never the
# machine's (fstab, sysv scripts, ...); their output folders are on the unit path.
exec env -i PATH={path} SYSTEMD_UNIT_PATH={unit_path} \\
    SYSTEMD_GENERATOR_PATH={generator_path} \\
    {systemd} --system --unit=default.target --log-target=console --log-level={log_level} \\
    --show-status=no --default-standard-output=inherit --default-standard-error=inherit
"""


# A flavour that does not run the machine's own Debian boots a root filesystem of its own
# (bridge.sandbox.rootfs): shared and read-only, under an overlay whose writable layer is
# in ROOT, with the world's view built above (the same mounts as without it) carried over.
ENTER_ROOTFS = """\
NEW="$ROOT/rootfs"
mkdir -p "$NEW" "$ROOT/rootfs-upper" "$ROOT/rootfs-work"
mount -n -t overlay -o "lowerdir={lower},upperdir=$ROOT/rootfs-upper,workdir=$ROOT/rootfs-work" \\
    overlay "$NEW"
mount -n -t proc -o nosuid,nodev,noexec proc "$NEW/proc"
mount -n -t sysfs -o ro,nosuid,nodev,noexec sysfs "$NEW/sys"
for d in /sys/fs/cgroup /dev /tmp /var/tmp /run /etc/containers /etc/systemd /var/lib/systemd \\
         /home; do
    mkdir -p "$NEW$d"
    mount -n --rbind "$d" "$NEW$d"
done
# ROOT at its own path (the graph root, the unit folders): already there when under /tmp.
if [ ! -d "$NEW$ROOT/lib-units" ]; then
    mkdir -p "$NEW$ROOT"
    mount -n --rbind "$ROOT" "$NEW$ROOT"
fi
# podbridge's checkout, read-only at its own path: `python -m bridge` inside the world
# (with the tree's virtualenv, bridge.sandbox.python).
SOURCE={source}
if [ -n "$SOURCE" ] && [ ! -d "$NEW$SOURCE/bridge" ]; then
    mkdir -p "$NEW$SOURCE"
    mount -n --rbind "$SOURCE" "$NEW$SOURCE"
    mount -n -o remount,bind,ro "$NEW$SOURCE"
fi
mkdir -p "$NEW/.oldroot"
cd "$NEW"
pivot_root . .oldroot
cd /
umount -n -l /.oldroot
rmdir /.oldroot
"""


def _cgroup_mount_lines(hierarchies: list[Hierarchy]) -> str:
    lines = []
    for h in hierarchies:
        target = shlex.quote(str(h.mountpoint))
        lines.append(f"mkdir -p {target}")
        if h.fstype == "cgroup2":
            lines.append(f"mount -n -t cgroup2 -o nosuid,nodev,noexec cgroup2 {target}")
        else:
            opts = shlex.quote("nosuid,nodev,noexec," + ",".join(h.options))
            lines.append(f"mount -n -t cgroup -o {opts} cgroup {target}")
    return "\n".join(lines)


def _hidden_join_lines(root: Path, name: str, hidden: list[Unmounted]) -> str:
    """Mount each hidden hierarchy at ROOT/cgroupfs/OPTION, join NAME/world in it."""
    lines = []
    for h in hidden:
        mnt = root / "cgroupfs" / h.option
        child = mnt / name / "world"
        q = shlex.quote
        lines.append(f"if mkdir -p {q(str(mnt))} && "
                     f"mount -n -t cgroup -o {q(h.option)} cgroup {q(str(mnt))}; then")
        lines.append(f"    mkdir -p {q(str(child))}")
        if "cpuset" in h.controllers:
            for level in (child.parent, child):
                for f in ("cpuset.cpus", "cpuset.mems"):
                    lines.append(f"    cat {q(str(level.parent / f))} > {q(str(level / f))}")
        lines.append(f"    echo $$ > {q(str(child / 'cgroup.procs'))}")
        lines.append(f'    HIDDEN="$HIDDEN {h.option}"')
        lines.append("else")
        lines.append(f'    echo "podbridge: cannot mount the {h.option} cgroup hierarchy:'
                     ' Podman pods will fail" >&2')
        lines.append("fi")
    return "\n".join(lines)


def _hidden_by_private_tmp(root: Path) -> list[Path]:
    """podbridge's own folders (its checkout, its virtualenv) that the world's private /tmp
    and /var/tmp would hide: a generator or command of podbridge run inside the world (say,
    from a checkout in /tmp, as CI may make) must still find them."""
    own = {Path(sys.prefix).resolve(), Path(__file__).resolve().parents[2]}
    tmps = (Path("/tmp"), Path("/var/tmp"))
    kept: list[Path] = []
    for path in sorted(own, key=lambda p: len(p.parts)):
        if not any(t in path.parents for t in tmps) or not path.is_dir():
            continue
        if path == root or root in path.parents or any(k in path.parents for k in kept):
            continue
        kept.append(path)
    return kept[:5]


def _keep_lines(keep: list[Path]) -> tuple[str, str]:
    """Shell lines that hold each folder open (fds 4..) before the private /tmp is mounted,
    and bind it back at its own path after."""
    opened, bound = [], []
    for fd, path in enumerate(keep, start=4):
        q = shlex.quote(str(path))
        opened.append(f"exec {fd}<{q}")
        bound.append(f"mkdir -p {q} && mount -n --no-canonicalize --bind /proc/self/fd/{fd} "
                     f"{q}; exec {fd}<&-")
    return "\n".join(opened), "\n".join(bound)


def write_scripts(root: Path, procs_files: list[Path], hierarchies: list[Hierarchy],
                  unit_path: list[Path], hostname: str, log_level: str = "info", *,
                  name: str = "world", hidden: list[Unmounted] | None = None,
                  rootfs: Path | None = None, generators: list[Path] | None = None,
                  extra: tuple[str, str] = ("", ""), source: Path | None = None) -> Path:
    """Write the two boot scripts into ROOT/boot; return the outer one.

    ``hidden`` are the hierarchies the machine does not mount; the world joins a child
    ``name/world`` in each. ``rootfs``: boot that root filesystem (under an overlay)
    instead of the machine's own. ``generators``: more generator folders, after the
    world's /etc/systemd/system-generators (whose files mask theirs of the same name).
    ``source``: a folder bound read-only at its own path into a ``rootfs`` world (the
    podbridge checkout). ``extra`` are lines before the world's /run, /etc/containers and
    /etc/systemd are bound, and the last ones before systemd starts (see bridge.sandbox.users)."""
    if rootfs and not re.fullmatch(r"[\w./+-]+", str(rootfs)):
        raise ValueError(f"unusable path for an overlay's lower layer: {rootfs}")
    folder = root / "boot"
    folder.mkdir(exist_ok=True)
    inner = folder / "inner.sh"
    outer = folder / "outer.sh"
    assert unit_path and all(p.is_absolute() for p in unit_path)
    keep_open, keep_bind = _keep_lines(_hidden_by_private_tmp(root))
    inner.write_text(INNER.format(
        keep_open=keep_open, keep_bind=keep_bind, root=shlex.quote(str(root)),
        cgroup_mounts=_cgroup_mount_lines(hierarchies),
        path=PATH, unit_path=shlex.quote(":".join(str(p) for p in unit_path)),
        systemd=SYSTEM_SYSTEMD if rootfs else SYSTEMD, log_level=log_level,
        hostname=shlex.quote(hostname),
        enter_rootfs=ENTER_ROOTFS.format(lower=rootfs, source=shlex.quote(str(source or "")))
        if rootfs else "",
        generator_path=shlex.quote(":".join(
            ["/etc/systemd/system-generators", *(str(g) for g in generators or [])])),
        extra_early=extra[0], extra_late=extra[1]))
    outer.write_text(OUTER.format(procs=" ".join(shlex.quote(str(p)) for p in procs_files),
                                  hidden=_hidden_join_lines(root, name, hidden or []),
                                  inner=shlex.quote(str(inner))))
    inner.chmod(0o755)
    outer.chmod(0o755)
    return outer


def start(outer: Path, log: Path) -> subprocess.Popen[bytes]:
    """Run the outer script in a new session and mount namespace, with a clean environment.

    `unshare --mount` execs the script: the pid stays the one `find_pid1` looks under."""
    with log.open("ab") as out:
        return subprocess.Popen([*UNSHARE_MOUNT, str(outer)], stdin=subprocess.DEVNULL, stdout=out,
                                stderr=out, env={"PATH": PATH}, cwd="/",
                                start_new_session=True)


def find_pid1(unshare_pid: int, timeout: float = 10.0) -> int:
    """The host pid of the namespace's PID 1: the forked child of `unshare --fork`.

    The same pid first runs `unshare --mount` and the outer script, whose children
    (mkdir, mount) are not it: only a child of the final `unshare --pid --fork` counts."""
    proc = Path(f"/proc/{unshare_pid}")
    children = proc / "task" / str(unshare_pid) / "children"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            final = b"--fork" in (proc / "cmdline").read_bytes().split(b"\0")
            kids = children.read_text().split()
        except OSError as exc:
            raise RuntimeError(f"unshare ({unshare_pid}) exited before PID 1 ran") from exc
        if final and kids:
            return int(kids[0])
        time.sleep(0.005)
    raise TimeoutError("unshare did not fork PID 1")


def wait_for_systemd(bus_address: str, pid1: int, timeout: float = 30.0) -> None:
    """Wait until org.freedesktop.systemd1 has an owner on the world's bus.

    Calling systemd before that makes dbus-daemon try to activate it and stall for 25 s,
    so only NameHasOwner (which never activates) is asked until it says yes.
    """
    deadline = time.monotonic() + timeout
    socket = Path(bus_address.removeprefix("unix:path="))
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid1}").exists():
            raise RuntimeError("the world's systemd died while booting")
        if socket.exists():
            done = subprocess.run(["busctl", f"--address={bus_address}", *SYSTEMD_ON_BUS],
                                  capture_output=True, text=True, env={"PATH": PATH},
                                  check=False)
            if done.stdout.strip() == "b true":
                return
        time.sleep(0.02)
    raise TimeoutError(f"org.freedesktop.systemd1 did not appear on {bus_address}")
