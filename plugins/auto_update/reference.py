"""Image references as the docker transport reads them: registry, repository, tag."""

from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"

_TAG = re.compile(r"^[\w][\w.-]{0,127}$")


class BadReference(ValueError):
    """A name that is not a fully qualified, tagged docker reference."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    registry: str      # as written: "quay.io", "127.0.0.1:5000", "docker.io"
    repository: str    # "podman/stable", "library/alpine"
    tag: str           # "latest"

    @property
    def api_host(self) -> str:
        """The host that serves the v2 API (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def repo_name(self) -> str:
        """``registry/repository``, the name as podman stores it (without the tag)."""
        return f"{self.registry}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.registry}/{self.repository}:{self.tag}"


def parse_reference(name: str) -> ImageRef:
    """``[docker://]registry/repo[:tag]`` -> ImageRef. Like Podman's auto-update, a digest is
    refused (there is nothing to update), and a name without a registry is qualified as
    the docker transport does (docker.io, ``library/`` for one component)."""
    name = name.removeprefix("docker://")
    if not name or name != name.strip():
        raise BadReference(f"invalid image reference {name!r}")
    if "@" in name:
        raise BadReference(
            f"auto updates require fully-qualified image references without digest: {name!r}")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):  # a registry
        registry, remainder = first, rest
    else:
        registry, remainder = DOCKER_HUB, name
    repo, tag = remainder, "latest"
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        repo, tag = remainder[:colon], remainder[colon + 1:]
    if registry == DOCKER_HUB and "/" not in repo:
        repo = f"library/{repo}"
    if not repo or repo != repo.lower() or not _TAG.fullmatch(tag):
        raise BadReference(f"invalid image reference {name!r}")
    return ImageRef(registry, repo, tag)
