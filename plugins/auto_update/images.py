"""What an update does to local images, through Podman's API: the facts of an image. (A
rollback's re-tag is ``PodmanClient.tag_image``, no pull; the pull is
``PodmanClient.pull_image``: policy always, as Podman's auto-update; ``tlsVerify`` only
when the user chose it, so that otherwise Podman applies registries.conf itself -- an
explicit ``tlsVerify=true`` would override ``insecure = true``.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.podman import PodmanClient

logger = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class LocalImage:
    id: str
    digest: str
    digests: frozenset[str]  # Digest and the RepoDigests' digests
    os: str
    architecture: str
    variant: str

    @classmethod
    def from_inspect(cls, data: dict[str, Any]) -> LocalImage:
        digest = str(data.get("Digest") or "")
        repo_digests = (str(rd).partition("@")[2] for rd in data.get("RepoDigests") or [])
        return cls(str(data.get("Id", "")), digest,
                   frozenset(d for d in (digest, *repo_digests) if d),
                   str(data.get("Os") or "linux"), str(data.get("Architecture") or ""),
                   str(data.get("Variant") or ""))


async def inspect(podman: PodmanClient, name: str) -> LocalImage:
    return LocalImage.from_inspect(await podman.inspect_image(name))
