"""What an update does to local images, through Podman's API: the facts of an image and a
re-tag for a rollback. (The pull is ``PodmanClient.pull_image``: policy always, as Podman's
auto-update; ``tlsVerify`` only when the user chose it, so that otherwise Podman applies
registries.conf itself -- an explicit ``tlsVerify=true`` would override ``insecure = true``.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bridge.names import split_name
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


async def retag(podman: PodmanClient, image_id: str, name: str) -> None:
    """Point ``name`` at ``image_id`` again (a rollback: no pull)."""
    repo, tag = split_name(name)
    await podman.tag_image(image_id, repo, tag)
