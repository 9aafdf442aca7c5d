"""What an update check knows of a registry's answer, whoever asks the registry
(plugins/auto_update/skopeo.py): manifest media types, the platform an image is for, the
entry of a manifest list for a platform, the error of a check that could not be made, and
Go's RFC 3339 times."""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
LISTS = (DOCKER_LIST, OCI_INDEX)
SINGLE = (DOCKER_V2, OCI_MANIFEST)
ACCEPT = ", ".join((OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_V2))

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "armv6l": "arm", "i386": "386", "i686": "386",
         "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


class RegistryError(Exception):
    """A check that could not be made; the text is the reason shown to the user,
    ``podman`` the words containers/image (so Podman) uses for it, where we know them."""

    def __init__(self, message: str, podman: str | None = None) -> None:
        super().__init__(message)
        self.podman = podman if podman is not None else message


@dataclass(frozen=True, slots=True)
class Platform:
    os: str = "linux"
    architecture: str = "amd64"
    variant: str = ""

    @classmethod
    def this_machine(cls) -> Platform:
        machine = platform.machine()
        variant = {"armv7l": "v7", "armv6l": "v6"}.get(machine, "")
        return cls("linux", _ARCH.get(machine, machine), variant)


@dataclass(frozen=True, slots=True)
class RemoteImage:
    digest: str              # the manifest of this platform's image
    list_digest: str | None  # the list (or index) it came from, if any
    media_type: str


def pick_platform(index: dict[str, Any], want: Platform) -> str:
    """The digest of ``want``'s image in a manifest list / OCI index."""
    manifests = index.get("manifests")
    if not isinstance(manifests, list):
        raise RegistryError("bad manifest list: no manifests")
    candidates = []
    for m in manifests:
        plat = m.get("platform") or {} if isinstance(m, dict) else {}
        if plat.get("os") == want.os and plat.get("architecture") == want.architecture:
            candidates.append((plat.get("variant", "") == want.variant, m))
    if not candidates:
        raise RegistryError(f"no image for {want.os}/{want.architecture} in the manifest list")
    digest = min(candidates, key=lambda c: not c[0])[1].get("digest")  # an exact variant first
    if not isinstance(digest, str) or not digest.startswith("sha256:"):
        raise RegistryError("bad manifest list: an entry has no digest")
    return digest


def parse_time(value: str) -> datetime | None:
    """RFC 3339 with up to nanoseconds (Go's format) -> an aware datetime."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", value.strip())
    if not m:
        return None
    frac = (m.group(2) or "")[:7].ljust(7, "0") if m.group(2) else ""
    tz = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(m.group(1) + frac + tz)
    except ValueError:
        return None
