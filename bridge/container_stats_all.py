"""CPU and memory of every running container at once, for a list's columns (as Cockpit's
Podman page shows them): libpod's ``/containers/stats`` without a name lists the running
containers again at each interval, so one stream covers those started later too.

Each data item is ``{"samples": [sample + id + name, ...]}``, one per running container
(the same sample shape as ``containers.stats``). Like that stream it drops rather than
waits: only the newest samples matter to a list. A container's first sample in a stream
has ``cpu_percent`` null: Podman's own figure then covers the time since the container
started, or since some earlier read, and for one just started it reads 130 % when idle.
"""

from __future__ import annotations

import logging
from typing import Any

from bridge.container_stats import host_limit, record_error, sample
from bridge.errors import BridgeError
from bridge.podman import PodmanClient
from bridge.podman_http_stream import HttpSource, HttpStream
from bridge.streams import End, Policy, Put

logger = logging.getLogger(__name__)


class AllStatsStream(HttpSource):
    policy: Policy = "drop"

    def __init__(self, podman: PodmanClient, *, follow: bool, interval: int) -> None:
        self.podman = podman
        self._http = HttpStream(podman, "GET", "/containers/stats", "stats of all containers",
                                {"stream": follow, "interval": interval})
        self._prev: dict[str, dict[str, Any]] = {}
        self._follow = follow

    async def open(self) -> None:
        try:
            await self._http.open()
        except BridgeError as exc:
            raise host_limit(exc) from None

    def samples(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        out = []
        seen: dict[str, dict[str, Any]] = {}
        for stats in record.get("Stats") or []:
            cid = str(stats.get("ContainerID") or "")
            if not cid or (not stats.get("SystemNano") and not stats.get("PIDs")):
                continue   # a container that stopped between Podman's list and its read
            prev = self._prev.get(cid)
            item = {"id": cid, "name": str(stats.get("Name") or ""), **sample(stats, prev)}
            if prev is None and self._follow:
                item["cpu_percent"] = None
            out.append(item)
            seen[cid] = stats
        self._prev = seen
        return out

    async def produce(self, put: Put) -> End:
        async for record in self._http.json_lines():
            if not isinstance(record, dict):
                continue
            if (err := record_error(record)) is not None:
                raise host_limit(BridgeError(f"stats of all containers: {err}"))
            await put({"samples": self.samples(record)})
        return End("eof")

    async def one(self) -> dict[str, Any]:
        last, _ = await self.read_last()
        return last if last is not None else {"samples": []}
