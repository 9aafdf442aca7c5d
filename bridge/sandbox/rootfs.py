"""A flavour's root filesystem: built once with debootstrap, cached, shared read-only.

The tree lives under ``cache_root()/rootfs-FLAVOUR-KEY``; KEY hashes the suite, the
package lists (debootstrap's and apt's) and this recipe, so a changed list builds a new
tree (and removes the old one). A world never writes into it: it boots on an overlay
whose upper layer is in the world's own folder (see :mod:`bridge.sandbox.boot`). Two
worlds asking at once build it once (a lock file), and a half-built tree is never used
(built aside, then renamed).

Every tree also carries podbridge's Python: a virtualenv at :data:`VENV` made by the
tree's own python3 with podbridge's runtime dependencies (pyproject.toml) installed from
PyPI, so that ``podbridge`` runs inside the world as it would on a host of that release
(the checkout itself is bound read-only into each world: see
:mod:`bridge.sandbox.python`). The dependency list is part of KEY.

Packages whose maintainer scripts debootstrap cannot run (Cockpit's: trixie's
dconf-service fails to configure under debootstrap) are installed after it with apt in a
chroot of the tree (:attr:`Flavour.apt_packages`), with a ``policy-rc.d`` that starts no
service, as a Debian image build does.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import subprocess
import time
import tomllib
from importlib import metadata
from pathlib import Path

from bridge.sandbox.boot import PATH as _PATH
from bridge.sandbox.flavours import Flavour
from bridge.sandbox.images import cache_dir

logger = logging.getLogger(__name__)

RECIPE_VERSION = "3"
# podbridge's virtualenv inside every built tree (its python is the tree's python3).
VENV = "/opt/podbridge/venv"
# What a virtualenv needs in the tree beyond the flavour's packages.
PYTHON_PACKAGES = ("python3", "python3-venv")
DEFAULT_MIRROR = "http://deb.debian.org/debian"


class RootfsError(RuntimeError):
    pass


def cache_root() -> Path:
    """/var/cache/podbridge for root unless $PODBRIDGE_CACHE is set, else images' cache_dir()."""
    if os.geteuid() == 0 and not os.environ.get("PODBRIDGE_CACHE"):
        return Path("/var/cache/podbridge")
    return cache_dir()


def _apt_uris() -> list[str]:
    """The Debian archive URIs the machine's apt uses (one-line and deb822 sources)."""
    found: list[str] = []
    files = [Path("/etc/apt/sources.list"),
             *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
             *sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))]
    for path in files:
        try:
            text = path.read_text()
        except OSError:
            continue
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if path.suffix == ".sources":
                if words[:1] == ["URIs:"]:
                    found += words[1:]
            elif words[:1] == ["deb"]:
                found += [w for w in words[1:] if "://" in w][:1]
    return found


def mirror() -> str:
    """$PODBRIDGE_DEBIAN_MIRROR, else the machine's own Debian archive (not its security
    archive), else deb.debian.org: the mirror reachable here is the one apt uses."""
    if env := os.environ.get("PODBRIDGE_DEBIAN_MIRROR"):
        return env
    for uri in _apt_uris():
        tail = uri.rstrip("/").rsplit("/", 1)[-1]
        if tail == "debian" or tail.endswith("-debian"):
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def requirements() -> list[str]:
    """podbridge's runtime dependencies, as pyproject.toml (or the installed package's
    metadata) states them: what the tree's virtualenv gets."""
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    with contextlib.suppress(OSError, KeyError, tomllib.TOMLDecodeError):
        deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
        return sorted(str(d) for d in deps)
    try:
        return sorted(r for r in metadata.requires("podbridge") or [] if "extra ==" not in r)
    except metadata.PackageNotFoundError:
        raise RootfsError("podbridge's dependencies are unknown: neither its pyproject.toml "
                          "nor its installed metadata is there") from None


def packages(flavour: Flavour) -> list[str]:
    return sorted({*flavour.packages, *PYTHON_PACKAGES})


def key(flavour: Flavour) -> str:
    text = "\n".join([RECIPE_VERSION, flavour.suite, *packages(flavour), "-- apt",
                      *sorted(flavour.apt_packages), "--", *requirements()])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def path_of(flavour: Flavour) -> Path:
    return cache_root() / f"rootfs-{flavour.name}-{key(flavour)}"


def _ready(tree: Path) -> bool:
    return (tree / "usr" / "lib" / "systemd" / "systemd").exists() and \
        (tree / ".podbridge-rootfs").exists()


def ensure(flavour: Flavour, timeout: float = 1800) -> Path:
    """The flavour's root filesystem, built now when missing (needs root, debootstrap and
    the Debian mirror; a few minutes and about 450 MB the first time)."""
    tree = path_of(flavour)
    if _ready(tree):
        return tree
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with (root / f"rootfs-{flavour.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another world may be building it right now
        if _ready(tree):
            return tree
        _build(flavour, tree, timeout)
        for stale in root.glob(f"rootfs-{flavour.name}-*"):
            if stale != tree and stale.is_dir() and not stale.name.endswith(".tmp"):
                if _in_use(stale):
                    logger.info("keeping the outdated root filesystem %s: a world runs on "
                                "it", stale)
                    continue
                logger.info("removing the outdated root filesystem %s", stale)
                shutil.rmtree(stale, ignore_errors=True)
    return tree


def _in_use(tree: Path) -> bool:
    """True when some mount namespace has an overlay on ``tree`` (a world booted on it)."""
    needle = f"lowerdir={tree}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (proc / "mountinfo").read_bytes():
                return True
    return False


def _build(flavour: Flavour, tree: Path, timeout: float) -> None:
    if shutil.which("debootstrap", path=_PATH) is None:
        raise RootfsError(f"the {flavour} world needs debootstrap to build its root "
                          "filesystem (Debian package debootstrap; scripts/install-deps.sh)")
    work = tree.with_name(f"{tree.name}.{os.getpid()}.tmp")
    # What a build killed halfway left (we hold the lock: no build runs now).
    for left in tree.parent.glob(f"rootfs-{flavour.name}-*.tmp"):
        shutil.rmtree(left, ignore_errors=True)
    source = mirror()
    logger.info("building the %s root filesystem (%s from %s) in %s: once per package "
                "list", flavour, flavour.suite, source, tree)
    started = time.monotonic()
    # In a mount namespace of its own: the /proc and /sys debootstrap mounts in the tree
    # go with it, even when it is killed halfway.
    argv = ["debootstrap", "--variant=minbase", f"--include={','.join(packages(flavour))}",
            flavour.suite, str(work), source]
    log = tree.with_name(f"{tree.name}.log")
    log.write_text("")
    _step(f"debootstrap of {flavour.suite}", argv, {}, work, log, timeout)
    if flavour.apt_packages:
        _step(f"apt-get install of {' '.join(flavour.apt_packages)} in the {flavour} root "
              "filesystem", ["sh", "-c", _APT_SCRIPT, "sh", str(work),
                             *flavour.apt_packages],
              {"HOME": "/root", "DEBIAN_FRONTEND": "noninteractive"} | _env(_PROXY_ENV),
              work, log, timeout)
    reqs = requirements()
    _step(f"podbridge's virtualenv ({' '.join(reqs)}) in the {flavour} root filesystem "
          "(pip needs PyPI or PIP_INDEX_URL)",
          ["sh", "-c", _VENV_SCRIPT.format(venv=VENV), "sh", str(work), *reqs],
          {"HOME": "/root"} | {k: v for k, v in _env(_PIP_ENV).items() if "file:" not in v},
          work, log, timeout)
    # apt's downloaded packages and indexes are of no use to a world (about 170 MB).
    for deb in (work / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()
    for index in (work / "var" / "lib" / "apt" / "lists").glob("*_*"):
        index.unlink()
    (work / ".podbridge-rootfs").write_text(" ".join(argv) + "\n")
    work.rename(tree)
    logger.info("built the %s root filesystem in %.0fs", flavour, time.monotonic() - started)


# What apt and pip may need from the machine's environment to reach the mirror and an
# index (a proxy, a mirror); local find-links and file:// indexes are the machine's, not
# the tree's.
_PROXY_ENV = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "NO_PROXY")
_PIP_ENV = (*_PROXY_ENV, "PIP_INDEX_URL", "PIP_DEFAULT_TIMEOUT")

# Run in a mount namespace of its own, apt inside the tree (chroot) against the mirror
# debootstrap wrote into the tree's sources.list. policy-rc.d: a package's postinst starts
# no service (none could run in a chroot; cockpit-ws's only enables cockpit.socket, which a
# world never loads: its units come from SYSTEMD_UNIT_PATH).
_APT_SCRIPT = """\
set -eu
T="$1"; shift
mount -n --rbind /dev "$T/dev"
mount -n -t proc proc "$T/proc"
printf '#!/bin/sh\\nexit 101\\n' > "$T/usr/sbin/policy-rc.d"
chmod 755 "$T/usr/sbin/policy-rc.d"
chroot "$T" apt-get -q -o Acquire::Retries=3 update
chroot "$T" apt-get -q -y -o Acquire::Retries=3 install --no-install-recommends "$@"
chroot "$T" apt-get clean
rm -f "$T/usr/sbin/policy-rc.d"
"""


# Run inside the tree (chroot) in a mount namespace of its own: its /dev and /proc for
# python, the machine's CA bundle for pip (a proxy's CA may be only there).
_VENV_SCRIPT = """\
set -eu
T="$1"; shift
mount -n --rbind /dev "$T/dev"
mount -n -t proc proc "$T/proc"
mkdir -p "$T/run/podbridge-ca"
if [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$T/run/podbridge-ca/ca.crt"
else
    cp "$T/etc/ssl/certs/ca-certificates.crt" "$T/run/podbridge-ca/ca.crt"
fi
chroot "$T" python3 -m venv {venv}
chroot "$T" {venv}/bin/pip install --no-cache-dir --disable-pip-version-check \\
    --cert /run/podbridge-ca/ca.crt --only-binary=:all: "$@"
rm -rf "$T/run/podbridge-ca"
"""


def _env(names: tuple[str, ...]) -> dict[str, str]:
    """Those of ``names`` the machine's environment sets."""
    return {k: v for k in names if (v := os.environ.get(k, ""))}


def _step(what: str, argv: list[str], env: dict[str, str], work: Path, log: Path,
          timeout: float) -> None:
    """One step of the build, in a mount namespace of its own, its output appended to
    ``log``; a failed step removes the tree being built and says what failed."""
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"\n--- {what}\n")
        out.flush()
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", *argv],
                              stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                              env={"PATH": _PATH, "LANG": "C.UTF-8"} | env,
                              timeout=timeout, check=False)
    if done.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise RootfsError(f"{what} failed ({done.returncode}); see {log}: "
                          f"{' | '.join(tail)}")
    logger.info("%s: %.0fs", what, time.monotonic() - started)
