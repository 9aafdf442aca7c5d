"""Volume methods: list (with the containers using each), create, remove, prune
(docs/protocol.md, section 10)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bridge.errors import BridgeError, Conflict
from bridge.events import rfc3339
from bridge.methods import MethodRegistry
from bridge.owners import Owned, podman_of
from bridge.podman import PodmanError, object_path

if TYPE_CHECKING:
    from bridge.app import Bridge

# Podman's rule for volume names (libpod/define: NameRegex).
VOLUME_NAME = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"


class VolumeRef(Owned):
    name: str = Field(min_length=1, max_length=256)


class VolumeRemoveParams(VolumeRef):
    force: bool = Field(default=False, description="also when containers use it: Podman "
                        "then removes those containers first")


class VolumeCreateParams(Owned):
    name: str | None = Field(default=None, min_length=1, max_length=256, pattern=VOLUME_NAME,
                             description="default: Podman picks a random one")
    driver: str = Field(default="local", min_length=1, max_length=256,
                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
    labels: dict[str, str] = Field(default_factory=dict, max_length=256)
    options: dict[str, str] = Field(default_factory=dict, max_length=64,
                                    description="the driver's options (podman volume create "
                                    "--opt): for local, type, device, o")


def pruned(reports: list[dict[str, Any]] | None, what: str) -> dict[str, Any]:
    """A prune's answer from libpod's reports (images and volumes alike); any report's
    error raised."""
    reports = reports or []
    errors = [str(r["Err"]) for r in reports if r.get("Err")]
    if errors:
        raise BridgeError(f"{what}: {'; '.join(errors)}")
    return {"removed": [r.get("Id") for r in reports],
            "space_reclaimed": sum(int(r.get("Size") or 0) for r in reports)}


def volume_row(v: dict[str, Any], users: list[str]) -> dict[str, Any]:
    return {"name": v.get("Name"), "driver": v.get("Driver"),
            "mountpoint": v.get("Mountpoint"), "created": rfc3339(v.get("CreatedAt")),
            "labels": v.get("Labels") or {}, "in_use_by": users}


def register_volume_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def list_(p: Owned) -> list[dict[str, Any]]:
        podman = podman_of(bridge, p.owner)
        vols = await podman.request("GET", "/volumes/json", what="volumes") or []

        async def users(name: str) -> list[str]:
            rows = await podman.containers(all=True, filters={"volume": [name]})
            return sorted(str((c.get("Names") or [c.get("Id")])[0]) for c in rows)

        in_use = await asyncio.gather(*(users(str(v.get("Name"))) for v in vols))
        return [volume_row(v, u) for v, u in zip(vols, in_use, strict=True)]

    async def create(p: VolumeCreateParams) -> dict[str, Any]:
        for key in p.labels:
            if not key or "=" in key or key != key.strip():
                raise BridgeError(f"labels: {key!r} is not a label name", "invalid-params")
        body: dict[str, Any] = {"Driver": p.driver, "Label": p.labels, "Options": p.options}
        if p.name:
            body["Name"] = p.name
        try:
            made = await podman_of(bridge, p.owner).request(
                "POST", "/volumes/create", json_body=body,
                what=f"create volume {p.name or '(unnamed)'!r}", timeout=60)
        except PodmanError as exc:
            # Podman answers 500 for a name in use; for a client it is a conflict.
            if "already exists" in exc.message:
                raise Conflict(exc.message) from None
            raise
        return volume_row(made or {}, [])

    async def remove(p: VolumeRemoveParams) -> None:
        await podman_of(bridge, p.owner).request(
            "DELETE", object_path("volumes", p.name), params={"force": p.force},
            what=f"remove volume {p.name!r}", timeout=120)

    async def prune(p: Owned) -> dict[str, Any]:
        return pruned(await podman_of(bridge, p.owner).request(
            "POST", "/volumes/prune", what="prune volumes", timeout=300), "prune volumes")

    methods.register_table((
        ("volumes.list", list_, Owned, "viewer", "volumes, with the containers using each"),
        ("volumes.create", create, VolumeCreateParams, "admin",
         "create a volume: name, driver, labels, driver options"),
        ("volumes.remove", remove, VolumeRemoveParams, "admin", "remove a volume"),
        ("volumes.prune", prune, Owned, "admin", "remove every volume no container uses"),
    ))
