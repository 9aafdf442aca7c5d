"""Image methods: list (with what uses each), inspect, history, pull (with progress as a
stream), remove, prune (docs/protocol.md, section 10)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field
from typing_extensions import TypedDict

from bridge.contracts import record
from bridge.errors import BridgeError
from bridge.events import rfc3339
from bridge.image_pull import PullStream
from bridge.methods import MethodRegistry
from bridge.methods_volumes import pruned
from bridge.owners import Owned, podman_of
from bridge.podman import object_path
from bridge.streams import StreamSource

if TYPE_CHECKING:
    from bridge.app import Bridge


path = partial(object_path, "images")


class ImageRef(Owned):
    name: str = Field(min_length=1, max_length=1024, description="image name or ID")


class PullParams(Owned):
    reference: str = Field(min_length=1, max_length=1024)
    tls_verify: bool | None = Field(default=None, description="null: registries.conf decides")
    progress: bool = False


class RemoveParams(ImageRef):
    force: bool = False


class PruneParams(Owned):
    all: bool = Field(default=False, description="also images no container uses, not only "
                      "dangling ones")


@record("images.list")
class ImageRow(TypedDict):
    """An image as ``images.list`` gives it."""

    id: str
    names: list[str]
    size: int
    created: str | None
    containers: int
    in_use_by: list[str]       # the containers (names) that use it
    dangling: bool


@record("images.history")
class ImageLayer(TypedDict):
    """One layer of an image as ``images.history`` gives it (``podman history``), newest
    first."""

    id: str                    # the layer's image ID, or "<missing>" (built elsewhere)
    created: str | None
    created_by: str            # the command that made it
    size: int
    comment: str
    tags: list[str]


def layer_of(x: dict[str, Any]) -> ImageLayer:
    return {"id": str(x.get("Id") or "<missing>"), "created": rfc3339(x.get("Created")),
            "created_by": str(x.get("CreatedBy") or ""), "size": int(x.get("Size") or 0),
            "comment": str(x.get("Comment") or ""), "tags": list(x.get("Tags") or [])}


def image_row(img: dict[str, Any], users: dict[str, list[str]]) -> ImageRow:
    iid = str(img.get("Id") or "")
    names = [n for n in (img.get("RepoTags") or img.get("Names") or [])
             if n and n != "<none>:<none>"]
    return {"id": iid, "names": names, "size": int(img.get("Size") or 0),
            "created": rfc3339(img.get("Created")), "containers": int(img.get("Containers") or 0),
            "in_use_by": sorted(users.get(iid, [])), "dangling": not names}


def register_image_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def list_(p: Owned) -> list[ImageRow]:
        podman = podman_of(bridge, p.owner)
        users: dict[str, list[str]] = {}
        for c in await podman.containers(all=True):
            names = c.get("Names") or [str(c.get("Id", ""))[:12]]
            users.setdefault(str(c.get("ImageID") or ""), []).append(str(names[0]))
        return [image_row(img, users) for img in await podman.images()]

    async def inspect(p: ImageRef) -> dict[str, Any]:
        return await podman_of(bridge, p.owner).inspect_image(p.name)

    async def history(p: ImageRef) -> list[ImageLayer]:
        layers = await podman_of(bridge, p.owner).request("GET", path(p.name, "history"),
                                                          what=f"image {p.name!r}")
        return [layer_of(x) for x in layers or []]

    async def pull(p: PullParams) -> dict[str, Any] | StreamSource:
        stream = PullStream(podman_of(bridge, p.owner), p.reference, p.tls_verify)
        return stream if p.progress else await stream.run()

    async def remove(p: RemoveParams) -> dict[str, Any]:
        report = await podman_of(bridge, p.owner).request(
            "DELETE", path(p.name), params={"force": p.force},
            what=f"remove image {p.name!r}", timeout=120) or {}
        errors = [e for e in report.get("Errors") or [] if e]
        if errors:
            raise BridgeError(f"remove image {p.name!r}: {'; '.join(map(str, errors))}")
        return {"removed": report.get("Deleted") or [],
                "untagged": report.get("Untagged") or []}

    async def prune(p: PruneParams) -> dict[str, Any]:
        return pruned(await podman_of(bridge, p.owner).request(
            "POST", "/images/prune", params={"all": p.all}, what="prune images",
            timeout=300), "prune images")

    methods.register_table((
        ("images.list", list_, Owned, "viewer", "images, with the containers using each"),
        ("images.inspect", inspect, ImageRef, "viewer", "Podman's inspect of an image"),
        ("images.history", history, ImageRef, "viewer", "an image's layers"),
        ("images.pull", pull, PullParams, "operator",
         "pull an image; with progress, a stream of Podman's progress lines"),
        ("images.remove", remove, RemoveParams, "admin", "remove an image"),
        ("images.prune", prune, PruneParams, "admin", "remove dangling (or all unused) images"),
    ))
