"""What an update does to local images, through Podman's API: the facts of an image, a pull
(policy always, as Podman's auto-update), and a re-tag for a rollback.

The pull passes ``tlsVerify`` only when the user chose it, so that otherwise Podman applies
registries.conf itself (an explicit ``tlsVerify=true`` would override ``insecure = true``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bridge.errors import Timeout
from bridge.podman import API, PodmanClient, PodmanError

logger = logging.getLogger(__name__)

PULL_TIMEOUT = 600.0


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
        digests = {digest} if digest else set()
        for rd in data.get("RepoDigests") or []:
            _, _, d = str(rd).partition("@")
            if d:
                digests.add(d)
        return cls(str(data.get("Id", "")), digest, frozenset(digests),
                   str(data.get("Os") or "linux"), str(data.get("Architecture") or ""),
                   str(data.get("Variant") or ""))


def split_name(image: str) -> tuple[str, str]:
    """``host:5000/a/b:tag`` -> (``host:5000/a/b``, ``tag``); no tag means ``latest``."""
    name = image.removeprefix("docker://")
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"


async def inspect(podman: PodmanClient, name: str) -> LocalImage:
    return LocalImage.from_inspect(await podman.inspect_image(name))


async def pull(podman: PodmanClient, reference: str, *, tls_verify: bool | None = None,
               auth: str | None = None, timeout: float = PULL_TIMEOUT) -> str:
    """Pull ``reference`` (policy always); the image ID. Errors may come after a 200."""
    params = {"reference": reference, "policy": "always", "quiet": "true"}
    if tls_verify is not None:
        params["tlsVerify"] = "true" if tls_verify else "false"
    headers = {"X-Registry-Auth": auth} if auth else {}
    what = f"pull {reference}"
    image_id = ""
    try:
        async with podman.session.post(
                API + "/images/pull", params=params, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout, connect=5)) as resp:
            if resp.status >= 400:
                raise PodmanError(f"{what}: {_message(await resp.text())}")
            async for line in resp.content:
                if not line.strip():
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if msg.get("error"):
                    raise PodmanError(f"{what}: {str(msg['error']).strip()}")
                if msg.get("id"):
                    image_id = str(msg["id"])
    except TimeoutError:
        raise Timeout(f"{what}: no answer in {timeout:.0f} s") from None
    except aiohttp.ClientConnectionError as exc:
        raise PodmanError(f"{what}: cannot reach Podman at {podman.url}: {exc}") from None
    if not image_id:
        raise PodmanError(f"{what}: Podman reported no image")
    return image_id


def _message(body: str) -> str:
    try:
        return str(json.loads(body).get("message") or body).strip()
    except (ValueError, AttributeError):
        return body.strip()


async def retag(podman: PodmanClient, image_id: str, name: str) -> None:
    """Point ``name`` at ``image_id`` again (a rollback: no pull)."""
    repo, tag = split_name(name)
    # raw: Podman answers 201 with a body of one newline, which PodmanClient.tag_image
    # tries to read as JSON.
    await podman.request("POST", f"/images/{quote(image_id, safe='')}/tag",
                         params={"repo": repo, "tag": tag}, raw=True,
                         what=f"tag {image_id[:12]} as {name}")
