"""Pod methods: list, create, start, stop, restart, pause, unpause, remove
(docs/protocol.md, section 10)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field
from typing_extensions import TypedDict

from bridge.contracts import record
from bridge.errors import BridgeError, NotSupported
from bridge.events import rfc3339
from bridge.methods import MethodRegistry
from bridge.methods_containers import NAME_PATTERN, Labels, Port, Volume, port_mappings, storage_of
from bridge.owners import Owned, podman_of
from bridge.podman import object_path

if TYPE_CHECKING:
    from bridge.app import Bridge


path = partial(object_path, "pods")


class PodRef(Owned):
    name: str = Field(min_length=1, max_length=256, description="pod name or ID")


class PodStopParams(PodRef):
    timeout: int = Field(default=10, ge=0, le=3600)


class PodRemoveParams(PodRef):
    force: bool = False


class PodCreateParams(Owned):
    name: str = Field(min_length=1, max_length=256, pattern=NAME_PATTERN)
    ports: list[Port] = Field(default_factory=list, max_length=256)
    volumes: list[Volume] = Field(default_factory=list, max_length=256,
                                  description="mounted into the pod's infra container; "
                                  "every container of the pod gets them too")
    labels: Labels = Field(default_factory=dict)


class PodMember(TypedDict):
    id: str
    name: str
    status: str


@record("pods.list")
class PodRow(TypedDict):
    """A pod as ``pods.list`` gives it."""

    id: str
    name: str
    status: str
    created: str | None
    infra_id: str | None
    labels: dict[str, str]
    containers: list[PodMember]


def pod_row(pod: dict[str, Any]) -> PodRow:
    def text(d: dict[str, Any], key: str) -> str:
        return str(d.get(key) or "")
    return {"id": text(pod, "Id"), "name": text(pod, "Name"), "status": text(pod, "Status"),
            "created": rfc3339(pod.get("Created")), "infra_id": pod.get("InfraId") or None,
            "labels": pod.get("Labels") or {},
            "containers": [{"id": text(c, "Id"), "name": text(c, "Names"),
                            "status": text(c, "Status")} for c in pod.get("Containers") or []]}


def _check_report(report: Any, what: str) -> None:
    errs = [str(e) for e in (report or {}).get("Errs") or [] if e] \
        if isinstance(report, dict) else []
    if errs:
        raise BridgeError(f"{what}: {'; '.join(errs)}")


def register_pod_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def list_(p: Owned) -> list[PodRow]:
        return [pod_row(x) for x in await podman_of(bridge, p.owner).pods()]

    async def create(p: PodCreateParams) -> dict[str, Any]:
        spec: dict[str, Any] = {"name": p.name, "labels": p.labels}
        if p.ports:
            spec["portmappings"] = port_mappings(p.ports)
        spec.update(storage_of(p.volumes))
        made = await podman_of(bridge, p.owner).request("POST", "/pods/create", json_body=spec,
                                                what=f"create pod {p.name!r}", timeout=120)
        return {"id": made.get("Id") if isinstance(made, dict) else None, "name": p.name}

    async def act(p: PodRef, verb: str, timeout: float, params: dict[str, Any] | None = None,
                  what: str = "") -> None:
        """POST the pod's ``verb``; an error in Podman's report raised as ``what``'s."""
        what = what or f"{verb} pod {p.name!r}"
        _check_report(await podman_of(bridge, p.owner).request(
            "POST", path(p.name, verb), params=params, what=what, timeout=timeout), what)

    async def start(p: PodRef) -> None:
        await act(p, "start", 180)

    async def stop(p: PodStopParams) -> None:
        await act(p, "stop", p.timeout + 120, {"t": p.timeout})

    async def restart(p: PodStopParams) -> None:
        await act(p, "stop", p.timeout + 120, {"t": p.timeout}, f"restart pod {p.name!r}")
        await act(p, "start", 180, what=f"restart pod {p.name!r}")

    async def pause(p: PodRef, verb: str = "pause") -> None:
        try:
            await act(p, verb, 120)
        except BridgeError as exc:
            # A rootless Podman on cgroup v1 has no freezer of its own: this host cannot.
            text = exc.message.lower()
            if exc.code == "failed" and "rootless" in text and "cgroup" in text:
                raise NotSupported(exc.message) from None
            raise

    async def remove(p: PodRemoveParams) -> None:
        report = await podman_of(bridge, p.owner).request(
            "DELETE", path(p.name), params={"force": p.force},
            what=f"remove pod {p.name!r}", timeout=180)
        if isinstance(report, dict) and report.get("Err"):
            raise BridgeError(f"remove pod {p.name!r}: {report['Err']}")

    methods.register_table((
        ("pods.list", list_, Owned, "viewer", "pods with their containers"),
        ("pods.create", create, PodCreateParams, "admin", "create a pod (with its infra)"),
        ("pods.start", start, PodRef, "operator", "start a pod's containers"),
        ("pods.stop", stop, PodStopParams, "operator", "stop a pod's containers"),
        ("pods.restart", restart, PodStopParams, "operator", "stop, then start a pod"),
        ("pods.pause", pause, PodRef, "operator", "pause every running container of a pod"),
        ("pods.unpause", partial(pause, verb="unpause"), PodRef, "operator",
         "unpause a pod's paused containers"),
        ("pods.remove", remove, PodRemoveParams, "admin", "remove a pod"),
    ))
