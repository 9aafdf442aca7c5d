"""The flavours of the test world, and everything that differs between them.

- ``debian12``: Debian 12 "bookworm", systemd 252, Podman 4.3.1, runc, the file events
  logger (no journald). On a bookworm machine it boots the machine's own systemd and
  Podman; elsewhere a bookworm root filesystem built by :mod:`bridge.sandbox.rootfs`.
- ``debian13``: Debian 13 "trixie", systemd 257, Podman 5.4, crun, systemd-journald and
  Podman's default events backend and log driver (journald), Podman's own Quadlet
  generator: what a Debian 13 (or Fedora) host runs. Always a trixie root filesystem built
  once with debootstrap and cached (see :mod:`bridge.sandbox.rootfs`).

Nothing else in the sandbox names a flavour: it asks the :class:`Flavour`.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT = "debian12"
# The flavours a test run covers, narrowed by PODBRIDGE_FLAVOURS=debian12,debian13.
FLAVOURS_ENV = "PODBRIDGE_FLAVOURS"
ROOTFS_ENV = "PODBRIDGE_WORLD_ROOTFS"

# What a world's root filesystem needs beyond debootstrap's minbase: systemd (with
# journald) and the D-Bus system bus, Podman with both runtimes, its network stack
# (netavark with the iptables firewall driver the sandbox scrubs), catatonit for pods'
# infra containers, what rootless Podman uses (newuidmap, pasta), and skopeo (tests
# inspect and delete registry images with it inside the world, as on the machine).
_COMMON_PACKAGES = ("systemd", "dbus", "podman", "runc", "crun", "conmon", "netavark",
                    "aardvark-dns", "iptables", "catatonit", "uidmap", "passt", "skopeo",
                    "ca-certificates")
# Cockpit in every built tree: the browser tests run the world's own Cockpit inside it, as
# on a host of that release (a tree's binaries need the tree's libraries, so the machine's
# Cockpit cannot run in it). Installed with apt after debootstrap, not by --include:
# debootstrap cannot configure trixie's dconf-service, which Cockpit pulls in.
_APT_PACKAGES = ("cockpit-ws", "cockpit-bridge", "cockpit-system", "cockpit-podman")


@dataclass(frozen=True)
class Flavour:
    name: str
    suite: str                      # Debian's code name
    version_id: str                 # /etc/os-release VERSION_ID
    runtime: str                    # the OCI runtime Podman is told to use
    journald: bool                  # systemd-journald runs; Podman's defaults log to it
    native_quadlet: str | None      # Podman's Quadlet generator, a path inside the world
    # Netavark 1.12+ may use nftables; the sandbox scrubs a dead world's iptables rules.
    firewall_driver: str | None = None
    # Curated unit folders (packages under bridge/sandbox) beyond the common "units".
    unit_sets: tuple[str, ...] = ()
    packages: tuple[str, ...] = _COMMON_PACKAGES
    # Installed in a built tree with apt (in a chroot, no recommends) after debootstrap.
    apt_packages: tuple[str, ...] = _APT_PACKAGES
    # The environment of everything run inside (units and commands).
    env: dict[str, str] = field(default_factory=dict)

    @property
    def events_logger(self) -> str:
        """Podman's events backend in this world: its default where journald runs."""
        return "journald" if self.journald else "file"

    @property
    def log_driver(self) -> str:
        return "journald" if self.journald else "k8s-file"

    def uses_host_root(self) -> bool:
        """True when the machine itself runs this flavour's Debian: the world then boots
        the machine's own systemd and Podman, as the first test world always did.
        PODBRIDGE_WORLD_ROOTFS=always boots a built root filesystem anyway (what a machine
        of another Debian release does)."""
        if os.environ.get(ROOTFS_ENV) == "always":
            return False
        return host_codename() == self.suite

    def __str__(self) -> str:
        return self.name


FLAVOURS: dict[str, Flavour] = {
    # slirp4netns: Podman 4.3.1's rootless network (on a bookworm machine a Recommends of
    # podman; a built tree has no Recommends).
    "debian12": Flavour("debian12", "bookworm", "12", runtime="runc", journald=False,
                        native_quadlet=None, packages=(*_COMMON_PACKAGES, "slirp4netns")),
    # Podman 5 warns about cgroup v1 on every command; these machines run v1 controllers.
    "debian13": Flavour("debian13", "trixie", "13", runtime="crun", journald=True,
                        native_quadlet="/usr/lib/systemd/system-generators/"
                                       "podman-system-generator",
                        firewall_driver="iptables", unit_sets=("units-journald",),
                        # CRIU for checkpoint/restore (a Recommends of podman, which a built
                        # tree skips): criu, and libcriu2 that crun loads to call it.
                        apt_packages=(*_APT_PACKAGES, "criu", "libcriu2"),
                        env={"PODMAN_IGNORE_CGROUPSV1_WARNING": "1"}),
}


class UnknownFlavour(ValueError):
    pass


def get(name: str | Flavour | None) -> Flavour:
    """The flavour called ``name`` (the default for None)."""
    if isinstance(name, Flavour):
        return name
    try:
        return FLAVOURS[name or DEFAULT]
    except KeyError:
        raise UnknownFlavour(f"unknown world flavour {name!r}: choose one of "
                             f"{', '.join(FLAVOURS)}") from None


def selected() -> list[str]:
    """The flavours a test run covers: $PODBRIDGE_FLAVOURS (comma or space separated), or
    all of them."""
    text = os.environ.get(FLAVOURS_ENV, "").replace(",", " ").split()
    for name in text:
        get(name)
    return text or list(FLAVOURS)


def os_release(root: Path = Path("/")) -> dict[str, str]:
    """/etc/os-release (or /usr/lib/os-release) of ``root`` as a dict."""
    for rel in ("etc/os-release", "usr/lib/os-release"):
        try:
            text = (root / rel).read_text()
        except OSError:
            continue
        found = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                found[key.strip()] = value.strip().strip('"')
        return found
    return {}


def host_codename() -> str:
    """The machine's Debian code name (``bookworm``, ``trixie``), "" when not Debian."""
    rel = os_release()
    if rel.get("ID") != "debian" and "debian" not in rel.get("ID_LIKE", ""):
        return ""
    return rel.get("VERSION_CODENAME", "")


def host_flavour() -> str:
    """The flavour of the machine's own Debian (debian13 on trixie), else the default: the
    world that boots the machine's own systemd and Podman, with no tree to build."""
    codename = host_codename()
    for flav in FLAVOURS.values():
        if flav.suite == codename:
            return flav.name
    return DEFAULT


def flavour_unavailable_reason(name: str | Flavour | None) -> str | None:
    """Why a world of this flavour cannot boot here (beyond a world's own needs), or None."""
    flav = get(name)
    if flav.uses_host_root():
        return None
    from bridge.sandbox import rootfs
    from bridge.sandbox.boot import PATH

    if rootfs.path_of(flav).exists() or shutil.which("debootstrap", path=PATH) is not None:
        return None
    return (f"the {flav} world builds a {flav.suite} root filesystem with debootstrap: "
            "install the Debian package debootstrap (scripts/install-deps.sh)")
