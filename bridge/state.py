"""The live model of containers, pods, images and units, kept from the bus.

The model is updated by a bus *listener*, inline with ``publish``: a snapshot therefore
always matches the ``seq`` it reports. Details that events do not carry (a new container's
restart policy, ports, creation time) are filled in by a debounced inspect that never blocks
the event path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NotRequired

from typing_extensions import TypedDict

from bridge.container_info import UNIT_LABEL, health_status, restart_policy
from bridge.contracts import record
from bridge.events import Event, rfc3339
from bridge.tasks import TaskOwner

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.podman import PodmanClient

logger = logging.getLogger(__name__)

# The container state an action leaves behind, where it implies one.
ACTION_STATE = {
    "create": "created",
    "init": "initialized",
    "start": "running",
    "restart": "running",
    "unpause": "running",
    "pause": "paused",
    "died": "exited",
    "stop": "exited",
    # A restore starts the container; a checkpoint stops it unless left running, which
    # its event does not say: the source reads the state after it (container.state).
    "restore": "running",
    "kill": None,
    "remove": "removed",
}

UNIT_FIELDS = ("active_state", "sub_state", "result", "n_restarts")


# The records of the live state (``state.get`` and the panel's store): their contracts.
class PortRecord(TypedDict):
    host_ip: str
    host_port: int | None
    container_port: int | None
    protocol: str


@record("container")
class ContainerRecord(TypedDict):
    id: str
    name: str
    image: str
    image_id: str
    state: str
    health: str | None
    exit_code: int | None
    started_at: str | None     # RFC 3339 UTC, as every time on the wire
    created_at: str | None
    labels: dict[str, str]
    pod: str
    unit: str | None
    restart_policy: str | None
    restart_count: int
    ports: list[PortRecord]
    uid: NotRequired[int]      # the owner of a rootless container (a root bridge's users)
    user: NotRequired[str]


@record("pod")
class PodRecord(TypedDict):
    id: str
    name: str
    status: str
    containers: list[str]


@record("image")
class ImageRecord(TypedDict):
    id: str
    names: list[str]
    created: str | None
    size: int | None


@record("unit")
class UnitRecord(TypedDict):
    name: str
    description: str
    load_state: str
    active_state: str | None
    sub_state: str | None
    result: str | None
    n_restarts: int | None
    container: str | None      # the container the unit runs (state.get adds it)
    uid: NotRequired[int]
    user: NotRequired[str]


def container_from_list(c: dict[str, Any]) -> dict[str, Any]:
    """Our record from one entry of ``GET /libpod/containers/json``."""
    labels = c.get("Labels") or {}
    names = c.get("Names") or [""]
    ports = [{"host_ip": p.get("host_ip", ""), "host_port": p.get("host_port"),
              "container_port": p.get("container_port"), "protocol": p.get("protocol", "tcp")}
             for p in c.get("Ports") or []]
    return {
        "id": c.get("Id", ""),
        "name": names[0],
        "image": c.get("Image", ""),
        "image_id": c.get("ImageID", ""),
        "state": c.get("State", ""),
        "health": None,
        "exit_code": c.get("ExitCode"),
        "started_at": rfc3339(c.get("StartedAt")),
        "created_at": rfc3339(c.get("Created") or c.get("CreatedAt")),
        "labels": labels,
        "pod": c.get("Pod", ""),
        "unit": labels.get(UNIT_LABEL),
        "restart_policy": None,
        "restart_count": c.get("Restarts", 0),
        "ports": ports,
    }


def apply_inspect(record: dict[str, Any], info: dict[str, Any]) -> None:
    state = info.get("State") or {}
    record["restart_policy"] = restart_policy(info)
    record["restart_count"] = info.get("RestartCount", record.get("restart_count", 0))
    record["health"] = health_status(info)
    record["started_at"] = rfc3339(state.get("StartedAt")) or record.get("started_at")
    record["created_at"] = rfc3339(info.get("Created")) or record.get("created_at")
    record["exit_code"] = state.get("ExitCode", record.get("exit_code"))


class State:
    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.containers: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}
        self.units: dict[str, dict[str, Any]] = {}
        self.podman: PodmanClient | None = None
        self._to_inspect: set[str] = set()
        self._inspect_task: asyncio.Task[None] | None = None
        self._tasks = TaskOwner("state")
        self._images_dirty = False
        self._pods_dirty = False
        # One per re-list while Podman makes its container list (two can overlap: a gap's
        # and a reconnect's): each container an event touched meanwhile, and its record
        # after it (None: removed).
        self._listings: list[dict[str, dict[str, Any] | None]] = []
        # Set once Podman's lists were first read (a fleet host answers calls from then on).
        self.podman_synced = asyncio.Event()
        self._unlisten = bus.listen(["container.*", "pod.*", "image.*"], self._on_event)

    def close(self) -> None:
        self._unlisten()
        if self._inspect_task is not None:
            self._inspect_task.cancel()

    async def aclose(self) -> None:
        """``close``, and wait until a round of inspects it cancelled has ended."""
        self.close()
        await self._tasks.close()

    # -- snapshots
    def snapshot(self) -> dict[str, Any]:
        by_unit = {c["unit"]: c["name"] for c in self.containers.values() if c.get("unit")}
        units = [{**u, "container": by_unit.get(u["name"])} for u in self.units.values()]
        return {
            "seq": self.bus.seq,
            "containers": list(self.containers.values()),
            "pods": list(self.pods.values()),
            "images": list(self.images.values()),
            "units": units,
        }

    def find_container(self, name_or_id: str) -> dict[str, Any] | None:
        if name_or_id in self.containers:
            return self.containers[name_or_id]
        for c in self.containers.values():
            if c["name"] == name_or_id or (len(name_or_id) >= 4 and c["id"].startswith(
                    name_or_id)):
                return c
        return None

    # -- from podman
    async def resync_podman(self, podman: PodmanClient) -> None:
        """Replace the podman part of the model by fresh lists (after a (re)connect, or a
        suspected gap in the event stream).

        Events go on being handled while Podman makes the list (a gap's re-list runs beside
        the stream), and the list may be older than them: a container that an event created
        or removed meanwhile is taken as the event left it, not as the list had it."""
        self.podman = podman
        during: dict[str, dict[str, Any] | None] = {}
        self._listings.append(during)
        try:
            listed = await podman.containers(all=True)
        finally:
            self._listings.remove(during)
        fresh = {c["Id"]: container_from_list(c) for c in listed}
        for cid, rec in fresh.items():
            old = self.containers.get(cid)
            if old is not None and old.get("restart_policy") is not None:
                rec["restart_policy"] = old["restart_policy"]
                rec["health"] = old.get("health")
            else:
                self._to_inspect.add(cid)
        for cid, touched in during.items():
            if touched is None:
                fresh.pop(cid, None)
            else:
                fresh.setdefault(cid, touched)
                self._to_inspect.add(cid)   # the list or the event: inspect settles it
        self.containers = fresh
        await self._refresh_pods(podman)
        await self._refresh_images(podman)
        self._schedule_inspect()
        self.podman_synced.set()

    async def _refresh_pods(self, podman: PodmanClient) -> None:
        self.pods = {p["Id"]: {"id": p["Id"], "name": p.get("Name", ""),
                               "status": p.get("Status", ""),
                               "containers": [c.get("Id") for c in p.get("Containers") or []]}
                     for p in await podman.pods()}

    async def _refresh_images(self, podman: PodmanClient) -> None:
        self.images = {i["Id"]: {"id": i["Id"], "names": i.get("Names") or [],
                                 "created": rfc3339(i.get("Created")), "size": i.get("Size")}
                       for i in await podman.images()}

    def _on_event(self, event: Event, _raw: bytes) -> None:
        kind, _, action = event.type.partition(".")
        data = event.data
        if kind == "container":
            self._on_container(action, event.subject, data)
        elif kind == "pod":
            self._pods_dirty = True
            self._schedule_inspect()
        elif kind == "image":
            self._images_dirty = True
            self._schedule_inspect()

    def _on_container(self, action: str, name: str, data: Mapping[str, Any]) -> None:
        cid = data.get("id", "")
        if not cid:
            return
        self._apply_container(cid, action, name, data)
        for during in self._listings:
            during[cid] = self.containers.get(cid)

    def _apply_container(self, cid: str, action: str, name: str,
                         data: Mapping[str, Any]) -> None:
        if action == "remove":
            self.containers.pop(cid, None)
            self._to_inspect.discard(cid)
            return
        rec = self.containers.get(cid)
        if rec is None:
            # A container the lists have not shown yet: the record a list entry would give.
            rec = container_from_list({"Id": cid, "Names": [name], "Image": data.get("image", ""),
                                       "State": "created", "Labels": data.get("labels"),
                                       "Pod": data.get("pod_id", "")})
            self.containers[cid] = rec
            self._to_inspect.add(cid)
        new_state = data.get("state")
        if new_state:
            rec["state"] = new_state
        if action in ("start", "restart"):
            rec["started_at"] = rfc3339(data.get("time")) or rec.get("started_at")
            self._to_inspect.add(cid)
        if action == "rename":
            rec["name"] = name
        if data.get("exit_code") is not None:
            rec["exit_code"] = data["exit_code"]
        if data.get("health"):
            rec["health"] = data["health"]
        if action == "restart":
            rec["restart_count"] = (rec.get("restart_count") or 0) + 1
        if self._to_inspect:
            self._schedule_inspect()

    def _schedule_inspect(self) -> None:
        if self.podman is None:
            return
        if self._inspect_task is None or self._inspect_task.done():
            self._inspect_task = self._tasks.create(self._inspect_pending(), "inspect")

    async def _inspect_pending(self) -> None:
        assert self.podman is not None
        await asyncio.sleep(0.05)  # let a burst of events settle into one round
        while self._to_inspect or self._images_dirty or self._pods_dirty:
            if self._images_dirty:
                self._images_dirty = False
                await self._guard(self._refresh_images(self.podman))
            if self._pods_dirty:
                self._pods_dirty = False
                await self._guard(self._refresh_pods(self.podman))
            batch = list(self._to_inspect)[:32]
            self._to_inspect.difference_update(batch)
            results = await asyncio.gather(
                *(self.podman.inspect_container(cid) for cid in batch), return_exceptions=True)
            for cid, info in zip(batch, results, strict=True):
                rec = self.containers.get(cid)
                if rec is None or isinstance(info, BaseException):
                    continue
                apply_inspect(rec, info)
                rec["image_id"] = info.get("Image", rec.get("image_id", ""))

    @staticmethod
    async def _guard(coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            logger.warning("state refresh failed: %s", exc)

    # -- from systemd
    def set_unit(self, name: str, fields: dict[str, Any]) -> dict[str, Any] | None:
        """Merge fields into a unit's record; returns the previous values of the tracked
        fields if any of them changed, else None."""
        # A new unit's tracked fields start as None: they are its previous values.
        rec = self.units.setdefault(name, {
            "name": name, "description": "", "load_state": "", "active_state": None,
            "sub_state": None, "result": None, "n_restarts": None})
        before = {k: rec.get(k) for k in UNIT_FIELDS}
        changed = False
        for key, value in fields.items():
            if rec.get(key) != value:
                if key in UNIT_FIELDS:
                    changed = True
                rec[key] = value
        return before if changed else None

    def remove_unit(self, name: str) -> None:
        self.units.pop(name, None)
