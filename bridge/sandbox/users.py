"""Users of the test world: rootless Podman under a user manager, as on a real host.

``World(root, users=["alice"])`` makes ``alice`` inside the world only (an overlay over the
world's /etc, /home bound from ``root/home``), with subuid/subgid ranges, lingering (the
world's systemd starts ``user@UID.service`` at boot, as logind does for a lingering
user), the user's bus and rootless Podman behind the user's ``podman.socket``.

The user manager runs without PAM and logind (there are none in the world): the system
unit ``user@.service`` sets what pam_systemd would (``XDG_RUNTIME_DIR``,
``DBUS_SESSION_BUS_ADDRESS``), and a per-user drop-in gives the manager a curated unit path
(``~/.config/systemd/user`` then the world's /etc/systemd/user), never the distribution's
user units. ``/run/user/UID`` is a plain folder on the world's /run, so a process outside
sees it at ``root/run/user/UID``.

Layout added to ``root``::

    users.json          the world's users (name, uid, gid, subuid start)
    etc-upper/, etc-work/  the overlay's upper and work folders over the world's /etc
    home/               bound over /home inside
    etc-systemd/user/   the curated user units (the world's /etc/systemd/user)
    etc-systemd/user-generators/  the user managers' only generators
"""

from __future__ import annotations

import functools
import json
import logging
import os
import pwd
import shlex
import time
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bridge.sandbox import boot, images

if TYPE_CHECKING:
    from bridge.sandbox.world import World

logger = logging.getLogger(__name__)

USERS_FILE = "users.json"
FIRST_UID = 1601
SUBID_COUNT = 65536
FIRST_SUBID = 200000
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")

# System units of the world that run a user manager (adapted from Debian's: no PAMName=,
# since there is neither logind nor /etc/pam.d/systemd-user in a world).
USER_SERVICE = """\
[Unit]
Description=User manager for UID %i (podbridge test world)
After=user-runtime-dir@%i.service dbus.service
Requires=user-runtime-dir@%i.service
IgnoreOnIsolate=yes

[Service]
User=%i
Type=notify
ExecStart=/lib/systemd/systemd --user
Environment=XDG_RUNTIME_DIR=/run/user/%i
Environment=DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/%i/bus
Environment=SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/nonexistent
Environment=SYSTEMD_GENERATOR_PATH=/etc/systemd/user-generators
Slice=user-%i.slice
KillMode=mixed
Delegate=pids memory cpu
TasksMax=infinity
TimeoutStopSec=30s
KeyringMode=inherit
"""

RUNTIME_DIR_SERVICE = """\
[Unit]
Description=User runtime directory /run/user/%i (podbridge test world)
After=dbus.service
StopWhenUnneeded=yes
IgnoreOnIsolate=yes

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'install -d -m 0700 -o %i -g "$(id -g %i)" /run/user/%i'
ExecStop=/bin/rm -rf /run/user/%i
Slice=user-%i.slice
"""

UNIT_PATH_DROPIN = """\
[Service]
# The user's own units first, then the world's curated ones; the generators' output
# folders around them, as on a real host.
Environment=SYSTEMD_UNIT_PATH={path}
"""


class UserError(RuntimeError):
    pass


@dataclass(frozen=True)
class WorldUser:
    name: str
    uid: int
    gid: int
    subid: int

    @property
    def home(self) -> Path:
        """The home folder inside the world."""
        return Path("/home") / self.name

    @property
    def runtime_dir(self) -> Path:
        """``XDG_RUNTIME_DIR`` inside the world."""
        return Path("/run/user") / str(self.uid)

    def env(self) -> dict[str, str]:
        """What a login of the user would have, inside the world."""
        return {
            "PATH": boot.PATH, "HOME": str(self.home), "USER": self.name,
            "LOGNAME": self.name, "SHELL": "/bin/sh", "LANG": "C.UTF-8",
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            "DBUS_SESSION_BUS_ADDRESS": f"unix:path={self.runtime_dir}/bus",
        }


def check_name(name: str) -> str:
    if not name or not set(name) <= NAME_CHARS or not name[0].isalpha() or len(name) > 31:
        raise UserError(f"user name {name!r}: use lower-case letters, digits, '-' and '_', "
                        "starting with a letter (at most 31)")
    return name


def load(root: Path) -> list[WorldUser]:
    try:
        data = json.loads((root / USERS_FILE).read_text())
    except FileNotFoundError:
        return []
    return [WorldUser(**entry) for entry in data]


def save(root: Path, users: list[WorldUser]) -> None:
    path = root / USERS_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps([asdict(u) for u in users], indent=2) + "\n")
    tmp.replace(path)


def _subid_end(path: Path) -> int:
    """The first id after every range in an /etc/subuid-style file."""
    end = FIRST_SUBID
    for line in path.read_text().splitlines() if path.exists() else ():
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            end = max(end, int(parts[1]) + int(parts[2]))
    return end


def plan(root: Path, names: list[str]) -> list[WorldUser]:
    """Uids and subordinate ranges for ``names``, clear of the machine's own."""
    taken = {p.pw_uid for p in pwd.getpwall()}
    subid = max(_subid_end(Path("/etc/subuid")), _subid_end(Path("/etc/subgid")))
    users: list[WorldUser] = []
    uid = FIRST_UID
    for name in names:
        check_name(name)
        if any(u.name == name for u in users):
            raise UserError(f"user {name!r} is given twice")
        while uid in taken:
            uid += 1
        users.append(WorldUser(name, uid, uid, subid))
        taken.add(uid)
        subid += SUBID_COUNT
    return users


# -- before the first boot ------------------------------------------------------------------
def prepare(world: World, names: list[str]) -> list[WorldUser]:
    """Folders, units and the users' record; the users themselves are made after boot."""
    root = world.root
    users = plan(root, names)
    for sub in ("etc-upper", "etc-work", "home", "etc-systemd/user",
                "etc-systemd/user-generators"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # The world's /var/tmp, where Podman stages imports and pulls: everyone's, as on a host.
    (root / "var-tmp").chmod(0o1777)
    (world.lib_unit_dir / "user@.service").write_text(USER_SERVICE)
    (world.lib_unit_dir / "user-runtime-dir@.service").write_text(RUNTIME_DIR_SERVICE)
    units = resources.files("bridge.sandbox") / "user_units"
    for unit in units.iterdir():
        if unit.is_file() and not unit.name.startswith("."):
            (root / "etc-systemd" / "user" / unit.name).write_bytes(unit.read_bytes())
    save(root, users)
    return users


def boot_lines(root: Path) -> tuple[str, str]:
    """Shell lines for the world's PID 1: mounts before /etc/containers and /etc/systemd
    are bound (an overlay over /etc keeps useradd's edits in ``root``), and the last one
    before systemd (rootless Podman wants / shared; it stays inside the world's private
    mount namespace)."""
    q = shlex.quote
    early = "\n".join([
        f"mount -n -t overlay overlay -o lowerdir=/etc,upperdir={q(str(root / 'etc-upper'))},"
        f"workdir={q(str(root / 'etc-work'))} /etc",
        f"mount -n --bind {q(str(root / 'home'))} /home",
    ])
    late = "mount -n --make-rshared /"
    return early, late


# -- after boot ---------------------------------------------------------------------------------
def create(world: World, users: list[WorldUser], timeout: float = 60.0) -> None:
    """Make each user inside the booted world, let it linger, start its manager and wait
    until its bus and rootless Podman answer."""
    for user in users:
        script = (
            f"id -u {user.name} >/dev/null 2>&1 || "
            f"useradd -m -u {user.uid} -U -s /bin/sh {user.name}\n"
            f"grep -q '^{user.name}:' /etc/subuid || "
            f"echo '{user.name}:{user.subid}:{SUBID_COUNT}' >> /etc/subuid\n"
            f"grep -q '^{user.name}:' /etc/subgid || "
            f"echo '{user.name}:{user.subid}:{SUBID_COUNT}' >> /etc/subgid\n"
            "mkdir -p /var/lib/systemd/linger\n"
            f"touch /var/lib/systemd/linger/{user.name}\n")
        world.run(["sh", "-ec", script])
        # useradd may have given the ranges itself (SUB_UID_MIN of login.defs): record
        # what the world holds.
        gid = int(world.run(["id", "-g", user.name]).stdout.strip())
        line = world.run(["grep", f"^{user.name}:", "/etc/subuid"]).stdout.splitlines()[0]
        made = WorldUser(user.name, user.uid, gid, int(line.split(":")[1]))
        users = [made if u == user else u for u in users]
        _linger(world, made)
    save(world.root, users)
    world.systemctl("daemon-reload")
    for user in users:
        world.systemctl("start", "--no-block", f"user@{user.uid}.service")
    for user in users:
        wait_ready(world, user, timeout)
        images.import_images(functools.partial(world.podman, user=user.name))


def _linger(world: World, user: WorldUser) -> None:
    """What logind does for a lingering user: ``user@UID.service`` at boot; plus the
    manager's unit path, which needs the home folder (``%h`` of a system unit is root's)."""
    world.enable(f"user@{user.uid}.service", world.lib_unit_dir / "user@.service")
    dropin = world.unit_dir / f"user@{user.uid}.service.d"
    dropin.mkdir(exist_ok=True)
    gen = user.runtime_dir / "systemd"
    path = [gen / "generator.early", user.home / ".config/systemd/user", gen / "generator",
            Path("/etc/systemd/user"), gen / "generator.late"]
    (dropin / "unitpath.conf").write_text(
        UNIT_PATH_DROPIN.format(path=":".join(str(p) for p in path)))


def host_runtime_dir(world: World, user: WorldUser) -> Path:
    """``/run/user/UID`` as a process outside the world sees it."""
    return world.run_dir / "user" / str(user.uid)


def wait_ready(world: World, user: WorldUser, timeout: float = 60.0) -> None:
    """Until the user manager owns its name on the user's bus and Podman answers."""
    from bridge.sandbox.world import ping_podman

    deadline = time.monotonic() + timeout
    runtime = host_runtime_dir(world, user)
    manager_up = False
    while True:
        if not manager_up and (runtime / "bus").exists():
            done = world.run_as(user.name, ["busctl", "--user", *boot.SYSTEMD_ON_BUS],
                                check=False, timeout=30)
            manager_up = done.stdout.strip() == "b true"
        socket = runtime / "podman" / "podman.sock"
        if manager_up and socket.exists() and ping_podman(socket, 10):
            return
        if time.monotonic() > deadline:
            state = world.systemctl("is-active", f"user@{user.uid}.service", check=False)
            raise TimeoutError(
                f"the user manager of {user.name} (user@{user.uid}.service: "
                f"{state.stdout.strip()}) did not bring up its bus and Podman in {timeout:.0f} s")
        time.sleep(0.05)


def find(world: World, name: str) -> WorldUser:
    for user in load(world.root):
        if user.name == name:
            return user
    known = ", ".join(u.name for u in load(world.root)) or "none"
    raise UserError(f"no user {name!r} in the world in {world.root} (its users: {known}); "
                    f"make it with `podbridge sandbox up DIR --user {name}`")


def command(world: World, user: WorldUser | None, argv: list[str]) -> list[str]:
    """An argv that runs ``argv`` inside the world, as root or as ``user`` with the user's
    environment, in a cgroup of the world's own (so what it leaves dies with the world)."""
    cgroups = world.exec_cgroups()
    # -r -w: PID 1's root, which a flavour with a root filesystem of its own pivoted to.
    inner = ["nsenter", "-t", str(world.pid1), "-m", "-p", "-u", "-C", "-r", "-w", "--"]
    if user is None:
        inner += ["env", "-i", *(f"{k}={v}" for k, v in {
            **world.flavour.env, "PATH": boot.PATH, "HOME": "/root", "LANG": "C.UTF-8"}.items())]
    else:
        inner += ["setpriv", f"--reuid={user.uid}", f"--regid={user.gid}", "--init-groups",
                  "--reset-env", "env", "-i",
                  *(f"{k}={v}" for k, v in {**world.flavour.env, **user.env()}.items()),
                  "sh", "-c", 'cd "$HOME" && exec "$@"', "sh"]
    join = "; ".join(f"echo $$ > {shlex.quote(str(p))}" for p in cgroups)
    return ["sh", "-c", f'{join}; exec "$@"', "sh", *inner, *argv]


def host_env(world: World, user: WorldUser) -> dict[str, str]:
    """What a bridge outside the world needs to serve ``user`` (paths the machine sees)."""
    runtime = host_runtime_dir(world, user)
    return {
        "CONTAINER_HOST": f"unix://{runtime}/podman/podman.sock",
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime}/bus",
        "XDG_RUNTIME_DIR": str(runtime),
        "PODBRIDGE_SYSTEMD": "user",
        "PODBRIDGE_UNIT_DIR": str(world.root / "home" / user.name / ".config/systemd/user"),
    }
