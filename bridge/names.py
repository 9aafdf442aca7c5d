"""Image names: the one place a reference is split into its repository and tag."""

from __future__ import annotations

from bridge.errors import InvalidParams


def split_name(image: str) -> tuple[str, str]:
    """``host:5000/a/b:tag`` -> (``host:5000/a/b``, ``tag``); no tag means ``latest``.

    A name that pins a digest (``a/b@sha256:...``) has no tag to point elsewhere: it is
    refused (``invalid-params``) rather than split at the digest's colon."""
    name = image.removeprefix("docker://")
    if "@" in name:
        raise InvalidParams(f"{image!r} names a digest, not a tag")
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"
