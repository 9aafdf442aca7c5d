"""The test world: a real systemd, D-Bus, Podman and registry in a folder of its own.

``World(root).up()`` boots it; ``down()`` leaves no process, mount, cgroup or file outside
``root`` (the image cache of :mod:`bridge.sandbox.images` aside); ``reboot()`` kills it and
boots again on the same storage; ``World.attach(root)`` rebuilds the object from
``root/world.json`` in another process.

Layout of ``root``::

    world.json      the record (pids, cgroups, registry port, network)
    unit-dir        the path of unit_dir, for shell scripts
    etc-systemd/    bound over /etc/systemd inside
      system/       unit_dir (also /etc/systemd/system inside): first on
                    SYSTEMD_UNIT_PATH (after generator.early); generated units and
                    enable symlinks go here
      system-generators/  the world's only generators (SYSTEMD_GENERATOR_PATH), if any
      podbridge-native-generators/  after those: the flavour's own (Podman's Quadlet)
      system.conf, user.conf, journald.conf   the flavour's manager environment (the
                    system's and the users' managers), journald settings
    lib-units/      the curated units (copied from bridge/sandbox/units), second
    var-lib-systemd/ bound over /var/lib/systemd inside
    run/            bound over /run inside; emptied on reboot
    etc-containers/ bound over /etc/containers inside
    storage/        Podman's graph root
    var-tmp/        bound over /var/tmp inside (/tmp inside is a tmpfs)
    var-log-journal/ bound over /var/log/journal inside (where the machine has one)
    cgroupfs/       private mount points of the cgroup hierarchies the machine does not
                    mount (net_cls, perf_event, ...), while booting or cleaning them
    registry/       the registry's config, data and log
    log/            systemd's console output
    rootfs/         (a flavour the machine does not run) the overlay mount point of the
                    flavour's cached root filesystem (bridge.sandbox.rootfs) inside the
                    world's namespaces; rootfs-upper/, rootfs-work/ its writable layer

``World(root, flavour="debian13")`` picks the flavour (bridge.sandbox.flavours).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import subprocess
import time
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

from bridge.podman_stream import UnixConnection
from bridge.sandbox import boot, flavours, images, network, python, rootfs, users
from bridge.sandbox.cgroups import (
    CgroupSet,
    hierarchies,
    remove_unmounted,
    unmounted_hierarchies,
)
from bridge.sandbox.containers_config import write_containers_config
from bridge.sandbox.flavours import Flavour
from bridge.sandbox.procs import ProcRef
from bridge.sandbox.record import RECORD, WorldRecord
from bridge.sandbox.registry import start_registry
from bridge.sandbox.users import check_name as check_user_name

logger = logging.getLogger(__name__)

RUN_ENV = {"PATH": boot.PATH, "HOME": "/root", "LANG": "C.UTF-8"}
UnixHTTPConnection = UnixConnection  # the name the tests know it by


class WorldError(RuntimeError):
    pass


def ping_podman(socket_path: Path, timeout: float) -> bool:
    """True when the Podman API at ``socket_path`` answers ``GET /_ping``."""
    with contextlib.closing(UnixConnection(socket_path, timeout)) as conn:
        try:
            conn.request("GET", "/_ping")
            return conn.getresponse().status == 200
        except OSError:
            return False


class World:
    """One world. Several can run side by side; each has its own folder."""

    def __init__(self, root: Path | str, *, flavour: Flavour | str | None = None,
                 users: Sequence[str] = ()) -> None:
        self.root = Path(root).absolute()
        self.flavour = flavours.get(flavour)
        self._record: WorldRecord | None = None
        self._children: list[subprocess.Popen[bytes]] = []
        # The users made at up() (bridge.sandbox.users); attach() reads them back.
        self.user_names: list[str] = [check_user_name(n) for n in users]

    # -- the description --------------------------------------------------------------
    @property
    def record(self) -> WorldRecord:
        if self._record is None:
            raise WorldError(f"no world in {self.root}")
        return self._record

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def unit_dir(self) -> Path:
        return self.root / "etc-systemd" / "system"

    @property
    def lib_unit_dir(self) -> Path:
        return self.root / "lib-units"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def podman_socket(self) -> Path:
        return self.run_dir / "podman" / "podman.sock"

    @property
    def podman_url(self) -> str:
        return f"unix://{self.podman_socket}"

    @property
    def dbus_address(self) -> str:
        return f"unix:path={self.run_dir / 'dbus' / 'system_bus_socket'}"

    @property
    def registry(self) -> str:
        """The registry as image references name it: ``127.0.0.1:PORT``."""
        if self.record.registry_port is None:
            raise WorldError("the world has no registry yet")
        return f"127.0.0.1:{self.record.registry_port}"

    @property
    def pid1(self) -> int:
        """The host pid of the world's systemd."""
        if self.record.pid1 is None:
            raise WorldError("the world is not booted")
        return self.record.pid1.pid

    @property
    def cgroups(self) -> list[Path]:
        return list(self.record.cgroups)

    @property
    def network(self) -> network.WorldNetwork:
        if self.record.network is None:
            raise WorldError("the world has no network yet")
        return self.record.network

    def env(self) -> dict[str, str]:
        """Environment that points a client (podbridge, podman-remote, busctl) at the world."""
        return {"CONTAINER_HOST": self.podman_url, "DBUS_SYSTEM_BUS_ADDRESS": self.dbus_address,
                "PODBRIDGE_QUADLET_DIR": str(self.quadlet_dir)}

    @property
    def quadlet_dir(self) -> Path:
        """/etc/containers/systemd inside: where Quadlet files are read from."""
        return self.root / "etc-containers" / "systemd"

    def is_up(self) -> bool:
        rec = self._record
        return bool(rec and rec.state == "up" and rec.pid1 and rec.pid1.alive())

    @classmethod
    def attach(cls, root: Path | str) -> World:
        """The world recorded in ``root/world.json`` (written by another process)."""
        world = cls(root)
        try:
            world._record = WorldRecord.load(world.root)
        except FileNotFoundError:
            raise WorldError(f"no world in {world.root} (no {RECORD})") from None
        world.user_names = [u.name for u in users.load(world.root)]
        world.flavour = flavours.get(world._record.flavour)
        return world

    # -- users (bridge.sandbox.users) --------------------------------------------------
    def world_users(self) -> list[users.WorldUser]:
        return users.load(self.root)

    def user(self, name: str) -> users.WorldUser:
        return users.find(self, name)

    def exec_cgroups(self) -> list[Path]:
        """cgroup.procs files of a child of the world's cgroups for commands run inside
        from outside (``podbridge sandbox exec``): what they leave is the world's."""
        return CgroupSet(self.name, self.record.cgroups).child("world").child(
            "podbridge-exec").procs_files()

    def run_as(self, user: str | None, argv: list[str], check: bool = True, *,
               input: str | None = None, stdin: IO[Any] | int | None = None,
               timeout: float | None = 120) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the world as ``user`` (or root), with the user's
        environment (HOME, XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS)."""
        who = self.user(user) if user is not None else None
        return self._run(users.command(self, who, argv), f"{' '.join(argv)} (as "
                         f"{user or 'root'})", check, input, stdin, timeout)

    # -- running things inside ---------------------------------------------------------
    def run(self, argv: list[str], check: bool = True, *, input: str | None = None,
            stdin: IO[Any] | int | None = None, timeout: float | None = 120,
            ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the world's namespaces, with a clean environment."""
        # -r -w: PID 1's root, which is not the mount namespace's first one when the world
        # boots a root filesystem of its own (pivot_root). Then ``env K=V ...`` for the
        # flavour's environment (nothing when it has none).
        extra = self.flavour.env
        env = ["env", *(f"{k}={v}" for k, v in extra.items())] if extra else []
        command = ["nsenter", "-t", str(self.pid1), "-m", "-p", "-u", "-r", "-w", "--", *env]
        return self._run([*command, *argv], " ".join(argv), check, input, stdin, timeout)

    @staticmethod
    def _run(command: list[str], what: str, check: bool, input: str | None,
             stdin: IO[Any] | int | None, timeout: float | None,
             ) -> subprocess.CompletedProcess[str]:
        if stdin is None and input is None:
            stdin = subprocess.DEVNULL
        done = subprocess.run(command, input=input, stdin=stdin, capture_output=True,
                              text=True, env=RUN_ENV, timeout=timeout, check=False)
        if check and done.returncode != 0:
            raise WorldError(f"{what} exited {done.returncode}: "
                             f"{done.stderr.strip() or done.stdout.strip()}")
        return done

    async def arun(self, argv: list[str], check: bool = True,
                   ) -> subprocess.CompletedProcess[str]:
        """:meth:`run` (with no timeout) without blocking the event loop."""
        return await asyncio.to_thread(self.run, argv, check, timeout=None)

    def podman(self, *args: str, check: bool = True, stdin: IO[Any] | int | None = None,
               timeout: float | None = 120, user: str | None = None,
               ) -> subprocess.CompletedProcess[str]:
        """The podman CLI inside the world (same /run, runroot and graph root as the API),
        or ``user``'s rootless one (the user's storage and runtime dir)."""
        if user is not None:
            return self.run_as(user, ["podman", *args], check, stdin=stdin, timeout=timeout)
        return self.run(["podman", *args], check=check, stdin=stdin, timeout=timeout)

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run(["systemctl", *args], check=check)

    def enable(self, unit: str, target: Path) -> None:
        """``unit`` wanted by default.target: a link to ``target``, as `systemctl enable`."""
        wants = self.unit_dir / "default.target.wants"
        wants.mkdir(exist_ok=True)
        if not (wants / unit).is_symlink():
            (wants / unit).symlink_to(target)

    def podman_version(self) -> str:
        """The world's Podman, as its API reports it (``4.3.1``, ``5.4.2``)."""
        with contextlib.closing(UnixConnection(self.podman_socket, 10)) as conn:
            conn.request("GET", "/version")
            return str(json.loads(conn.getresponse().read())["Version"])

    def ping_podman(self, timeout: float = 2.0) -> bool:
        """True when the API answers ``GET /_ping``."""
        return ping_podman(self.podman_socket, timeout)

    # -- life cycle --------------------------------------------------------------------
    def up(self, *, import_images: bool = True) -> World:
        """Make and boot a new world in ``root``; on any failure, tear down what was made."""
        self._prepare_folder()
        unique = secrets.token_hex(5)
        self._record = WorldRecord(self.root, f"podbridge-{unique}", state="booting",
                                   flavour=self.flavour.name)
        self.record.save()
        started = time.monotonic()
        try:
            cgroups = CgroupSet.create(self.name)
            self.record.cgroups = cgroups.paths
            self.record.save()
            self._start_registry(cgroups)
            self.record.network = network.choose_network(unique)
            write_containers_config(self.root / "etc-containers", self.root / "storage",
                                    self.registry, self.network.name, flavour=self.flavour)
            network.write_config(self.network, self.root / "etc-containers" / "networks")
            self._install_units()
            planned = users.prepare(self, self.user_names) if self.user_names else []
            seeded = import_images and images.seed_storage(self.root / "storage",
                                                           flavour=self.flavour.name)
            self._boot()
            if import_images and images.import_images(self.podman) and not seeded:
                images.save_storage_template(self.root / "storage", flavour=self.flavour.name)
            if planned:
                users.create(self, planned)
        except BaseException:
            logger.exception("the world in %s failed to come up; tearing it down", self.root)
            self.down()
            raise
        self.record.state = "up"
        self.record.save()
        logger.info("world %s (%s) up in %.2fs: podman %s, bus %s, registry %s", self.name,
                    self.flavour, time.monotonic() - started, self.podman_url,
                    self.dbus_address, self.registry)
        return self

    def reboot(self) -> None:
        """Kill PID 1, empty /run, clear the host's firewall state, boot on the same storage."""
        started = time.monotonic()
        self._kill_systemd()
        network.scrub(self.network)
        _empty(self.run_dir)
        self.record.state = "booting"
        self._boot()
        for user in users.load(self.root):
            users.wait_ready(self, user)
        self.record.state = "up"
        self.record.save()
        logger.info("world %s rebooted in %.2fs", self.name, time.monotonic() - started)

    def down(self) -> None:
        """Kill everything, remove the cgroups and the network: idempotent, safe after a
        partial :meth:`up`. The folder stays (logs, storage) and is reused by the next up."""
        rec = self._record
        if rec is None:
            with contextlib.suppress(WorldError):
                rec = World.attach(self.root).record
                self._record = rec
        if rec is None:
            return
        self._kill_systemd()
        cgroups = CgroupSet(rec.name, rec.cgroups)
        cgroups.kill_all()
        if rec.registry:
            rec.registry.kill()
            rec.registry.reap()
        for child in self._children:
            child.kill()
            child.wait()
        self._children.clear()
        cgroups.remove()
        if rec.network:
            network.scrub(rec.network)
        rec.state = "down"
        rec.pid1 = rec.unshare = rec.registry = None
        if self.root.exists():
            rec.save()
        logger.info("world %s down", rec.name)

    # -- the parts ---------------------------------------------------------------------
    def _prepare_folder(self) -> None:
        if (self.root / RECORD).exists():
            old = World.attach(self.root)
            if old.record.state != "down":
                old.down()
            _empty(self.root)
        elif self.root.exists() and any(self.root.iterdir()):
            raise WorldError(f"{self.root} is not empty and holds no world: refusing to use it")
        for sub in ("etc-systemd/system", "lib-units", "run", "etc-containers", "storage",
                    "var-tmp", "var-lib-systemd", "var-log-journal", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "unit-dir").write_text(f"{self.unit_dir}\n")

    def _start_registry(self, cgroups: CgroupSet) -> None:
        proc, port = start_registry(self.root / "registry", {"PATH": boot.PATH})
        self._children.append(proc)
        self.record.registry = ProcRef.of(proc.pid)
        self.record.registry_port = port
        self.record.save()
        for procs in cgroups.child("registry").procs_files():
            procs.write_text(str(proc.pid))

    def _install_units(self) -> None:
        """The curated units (the common set and the flavour's), the flavour's manager
        environment, and Podman's own Quadlet generator where the flavour has one."""
        for unit_set in ("units", *self.flavour.unit_sets):
            _copy_tree(resources.files("bridge.sandbox") / unit_set, self.lib_unit_dir)
        if self.flavour.env:
            env = " ".join(f"{k}={v}" for k, v in self.flavour.env.items())
            # The system manager's, and the users' managers' (their units: podman.socket).
            for conf in ("system.conf", "user.conf"):
                (self.root / "etc-systemd" / conf).write_text(
                    f"# podbridge test world ({self.flavour})\n[Manager]\n"
                    f"DefaultEnvironment={env}\n")
        if self.flavour.journald:
            # Not the machine's kernel log (the world's /dev is the machine's).
            (self.root / "etc-systemd" / "journald.conf").write_text(
                "# podbridge test world\n[Journal]\nReadKMsg=no\n")
        if self.flavour.native_quadlet:
            # A wrapper, not a symlink: a generator written into the world's
            # /etc/systemd/system-generators under the same name masks it, as on a host,
            # and never writes through a link into the machine's /usr. In /etc inside,
            # after the world's own generators: systemd 254+ runs generators with a
            # private /tmp (where ROOT may be).
            native = self.root / "etc-systemd" / "podbridge-native-generators"
            native.mkdir(exist_ok=True)
            wrapper = native / Path(self.flavour.native_quadlet).name
            wrapper.write_text(f'#!/bin/sh\nexec {self.flavour.native_quadlet} "$@"\n')
            wrapper.chmod(0o755)

    def _boot(self, timeout: float = 30.0) -> None:
        cgroups = CgroupSet(self.name, self.record.cgroups).child("world")
        tree = None if self.flavour.uses_host_root() else rootfs.ensure(self.flavour)
        outer = boot.write_scripts(
            self.root, cgroups.procs_files(), hierarchies(), self._unit_path(),
            hostname=f"world-{self.name.removeprefix('podbridge-')}", name=self.name,
            hidden=unmounted_hierarchies(), rootfs=tree,
            generators=[Path("/etc/systemd/podbridge-native-generators")]
            if self.flavour.native_quadlet else None,
            extra=users.boot_lines(self.root) if (self.root / users.USERS_FILE).exists()
            else ("", ""), source=python.source_tree())
        proc = boot.start(outer, self.root / "log" / "systemd.log")
        self._children.append(proc)
        self.record.unshare = ProcRef.of(proc.pid)
        self.record.pid1 = ProcRef.of(boot.find_pid1(proc.pid))
        self.record.boots += 1
        self.record.save()
        boot.wait_for_systemd(self.dbus_address, self.pid1, timeout)
        deadline = time.monotonic() + timeout
        while not self.ping_podman():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Podman API did not answer on {self.podman_socket}")
            time.sleep(0.02)

    def _unit_path(self) -> list[Path]:
        """Where the world's systemd loads units from, in a real host's order of priority:
        the generators' output folders (inside paths, under the world's /run) around the
        unit folder and the curated units."""
        gen = Path("/run/systemd")
        return [gen / "generator.early", self.unit_dir, gen / "generator", self.lib_unit_dir,
                gen / "generator.late"]

    def _kill_systemd(self) -> None:
        """SIGKILL PID 1 (everything in its pid namespace dies with it) and what is left in
        its cgroups (a conmon that escaped, a podman CLI run through nsenter)."""
        rec = self.record
        # PID 1 first: `unshare` then reaps it and exits. Killing both at once would
        # leave PID 1's zombie to the machine's init.
        if rec.pid1:
            rec.pid1.kill()
        if rec.unshare:
            with contextlib.suppress(TimeoutError):
                rec.unshare.reap(timeout=5)
            rec.unshare.kill()
            rec.unshare.reap()
        if rec.pid1:
            rec.pid1.reap()
        for child in [c for c in self._children if rec.unshare and c.pid == rec.unshare.pid]:
            child.wait()
            self._children.remove(child)
        if rec.cgroups:
            world = CgroupSet(rec.name, rec.cgroups).child("world", create=False)
            world.kill_all()
            world.remove_below()
        # The world's children in the hierarchies the machine does not mount; the next
        # boot makes them again.
        remove_unmounted(rec.name, self.root / "cgroupfs")
        rec.pid1 = rec.unshare = None


def _empty(folder: Path) -> None:
    """Remove everything in ``folder`` (a link itself, never what it points to)."""
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _copy_tree(source: Traversable, dest: Path) -> None:
    """Copy a folder of package data (files and drop-in folders) into ``dest``."""
    for entry in source.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir():
            (dest / entry.name).mkdir(exist_ok=True)
            _copy_tree(entry, dest / entry.name)
        elif entry.is_file():
            (dest / entry.name).write_bytes(entry.read_bytes())
