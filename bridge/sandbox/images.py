"""The world's test images, built from busybox-static: no network, about 2 MB each.

Each image is one root filesystem tar (busybox plus applet symlinks plus a few files),
imported with `podman import`. The tars are cached under ``cache_dir()`` keyed by the
busybox binary and the recipe, so a second world on this machine only imports them.

Images (all ``localhost/podbridge/...``):

- ``httpd:v1``, ``httpd:v2``: ``busybox httpd -f`` on port 80 serving a page that says
  ``podbridge httpd v1`` (or ``v2``); they stop at once on SIGTERM; ``/bin/healthcheck``
  fetches the page (use ``--health-cmd /bin/healthcheck``).
- ``httpd:broken``: its command prints an error and exits 1 at start.
- ``sleep:latest``: sleeps until SIGTERM, then exits 0.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger(__name__)

BUSYBOX = Path("/bin/busybox")
RECIPE_VERSION = "2"
PREFIX = "localhost/podbridge"

SERVE = """\
#!/bin/sh
# PID 1 ignores signals it has no handler for: trap them so a stop is immediate.
trap 'exit 0' TERM INT
httpd -f -p "${PORT:-80}" -h /var/www &
wait
"""

HEALTHCHECK = """\
#!/bin/sh
# Not `wget -T`: busybox 1.35's wget crashes with it.
exec timeout 3 wget -q -O /dev/null "http://127.0.0.1:${PORT:-80}/"
"""

PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
GROUP = "root:x:0:\nnobody:x:65534:\n"


@dataclass(frozen=True)
class ImageSpec:
    name: str  # repository and tag under PREFIX, e.g. "httpd:v1"
    files: dict[str, str] = field(default_factory=dict)  # path -> text (0755 if "#!")
    changes: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{PREFIX}/{self.name}"


def _httpd(version: str) -> ImageSpec:
    return ImageSpec(
        f"httpd:{version}",
        {"var/www/index.html": f"<h1>podbridge httpd {version}</h1>\n",
         "bin/serve": SERVE, "bin/healthcheck": HEALTHCHECK},
        ('CMD ["/bin/serve"]', "EXPOSE 80", f"ENV PODBRIDGE_VERSION={version}",
         f"LABEL org.opencontainers.image.version={version}"))


IMAGES: tuple[ImageSpec, ...] = (
    _httpd("v1"),
    _httpd("v2"),
    ImageSpec("httpd:broken", {"var/www/index.html": "<h1>never served</h1>\n"},
              ('CMD ["/bin/sh", "-c", "echo podbridge broken image: failing at start >&2;'
               ' exit 1"]', "LABEL org.opencontainers.image.version=broken")),
    ImageSpec("sleep:latest", {},
              ("CMD [\"/bin/sh\", \"-c\", \"trap 'exit 0' TERM INT; "
               "sleep 2147483647 & wait\"]",)),
)

HTTPD_V1, HTTPD_V2, HTTPD_BROKEN, SLEEP = (spec.ref for spec in IMAGES)


def cache_dir() -> Path:
    """Where built tars are kept: $PODBRIDGE_CACHE, else $XDG_CACHE_HOME or ~/.cache."""
    if env := os.environ.get("PODBRIDGE_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "podbridge"


def _applets() -> list[str]:
    out = subprocess.run([str(BUSYBOX), "--list"], check=True, capture_output=True,
                         text=True).stdout
    return sorted(a for a in out.split() if a and "/" not in a and a != "busybox")


def _add(tar: tarfile.TarFile, name: str, kind: bytes, data: bytes = b"", mode: int = 0o644,
         link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, 0, link
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def build_rootfs(spec: ImageSpec, busybox: bytes, applets: list[str]) -> bytes:
    """A root filesystem tar for ``spec``, byte-for-byte the same every time."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        dirs = {"bin", "etc", "root", "tmp", "var", "var/www", "proc", "sys", "dev", "run"}
        dirs |= {str(Path(p).parent) for p in spec.files if str(Path(p).parent) != "."}
        for d in sorted(dirs):
            _add(tar, d, tarfile.DIRTYPE, mode=0o1777 if d == "tmp" else 0o755)
        _add(tar, "bin/busybox", tarfile.REGTYPE, busybox, 0o755)
        own = set(spec.files)
        for applet in applets:
            if f"bin/{applet}" not in own:
                _add(tar, f"bin/{applet}", tarfile.SYMTYPE, link="busybox")
        files = {"etc/passwd": PASSWD, "etc/group": GROUP, **spec.files}
        for path, text in sorted(files.items()):
            mode = 0o755 if text.startswith("#!") else 0o644
            _add(tar, path, tarfile.REGTYPE, text.encode(), mode)
    return buf.getvalue()


def _cache_key() -> str:
    return hashlib.sha256(BUSYBOX.read_bytes() + RECIPE_VERSION.encode()).hexdigest()[:16]


def rootfs_tars() -> list[tuple[ImageSpec, Path]]:
    """Every image's tar, built into the cache when missing."""
    busybox = BUSYBOX.read_bytes()
    folder = cache_dir() / f"rootfs-{_cache_key()}"
    tars = [(spec, folder / (spec.name.replace(":", "_") + ".tar")) for spec in IMAGES]
    if all(p.exists() for _, p in tars):
        return tars
    for stale in [*folder.parent.glob("rootfs-*"), *folder.parent.glob("storage-*")]:
        # An older recipe or busybox: only names of ours (``rootfs-KEY``,
        # ``storage-KEY-FLAVOUR``), never a flavour's tree (``rootfs-debian13-KEY``,
        # bridge.sandbox.rootfs), which shares the cache folder.
        mine = re.fullmatch(r"(rootfs|storage)-([0-9a-f]{16})(-[\w.]+)?", stale.name)
        if mine and mine.group(2) != _cache_key():
            shutil.rmtree(stale, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    applets = _applets()
    for spec, path in tars:
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(build_rootfs(spec, busybox, applets))
            tmp.replace(path)  # atomic: a parallel world never reads half a tar
    logger.info("built image root filesystems in %s", folder)
    return tars


def import_images(podman: Callable[..., subprocess.CompletedProcess[str]]) -> list[str]:
    """Import every image missing from the world; ``podman`` runs the CLI inside it."""
    present = set(podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split())
    done = []
    for spec, tar in rootfs_tars():
        if spec.ref in present:
            continue
        args = ["import", "--quiet"]
        for change in spec.changes:
            args += ["--change", change]
        args += ["--change", "ENV PATH=/bin", "-", spec.ref]
        with tar.open("rb") as stdin:
            podman(*args, stdin=stdin)
        done.append(spec.ref)
    logger.info("imported images %s", done)
    return done


# Podman's own database records the graph root's path: 4.x's BoltDB (libpod/), 5.x's
# SQLite (db.sql). Never part of a template.
PODMAN_DATABASES = ("libpod", "db.sql")


def _template(flavour: str) -> Path:
    # Each flavour's Podman keeps its own storage format: one template per flavour.
    if flavour == "debian12":
        return cache_dir() / f"storage-{_cache_key()}"
    return cache_dir() / f"storage-{_cache_key()}-{flavour}"


def seed_storage(graphroot: Path, *, flavour: str = "debian12") -> bool:
    """Fill an empty graph root with the cached images; False when there is no cache yet.

    Podman's own database (see PODMAN_DATABASES) is not in the template: it records the
    graph root's path and is made afresh.
    """
    template = _template(flavour)
    if not template.is_dir() or any(graphroot.iterdir()):
        return False
    subprocess.run(["cp", "-a", "--reflink=auto", f"{template}/.", str(graphroot)],
                   check=True)
    return True


def save_storage_template(graphroot: Path, *, flavour: str = "debian12") -> None:
    """Keep a copy of a graph root holding just the images, for the next world."""
    template = _template(flavour)
    if template.exists():
        return
    tmp = template.with_name(f"{template.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for entry in graphroot.iterdir():
        if entry.name not in PODMAN_DATABASES:
            subprocess.run(["cp", "-a", "--reflink=auto", str(entry), str(tmp)], check=True)
    try:
        tmp.rename(template)  # atomic; a parallel world that won the race keeps its copy
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
    logger.info("cached the images' storage in %s", template)
