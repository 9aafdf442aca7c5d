"""A container's CPU, memory, network and block I/O from libpod
(``/containers/stats?containers=NAME``): one sample, or a stream of them.

A sample is worth little once a newer one exists: the stream drops (``gap`` frames)
rather than holding up Podman when the client is slow.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from bridge.errors import BridgeError, Conflict
from bridge.podman import PodmanClient
from bridge.podman_http_stream import HttpStream
from bridge.streams import End, Policy, Put, StreamSource

logger = logging.getLogger(__name__)


def sample(stats: dict[str, Any]) -> dict[str, Any]:
    """One libpod stats record in the protocol's shape (Podman 4 and 5 alike)."""
    return {
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "cpu_percent": float(stats.get("CPU") or 0.0),
        "mem_usage": int(stats.get("MemUsage") or 0),
        "mem_limit": int(stats.get("MemLimit") or 0),
        "mem_percent": float(stats.get("MemPerc") or 0.0),
        "net_in": int(stats.get("NetInput") or 0),
        "net_out": int(stats.get("NetOutput") or 0),
        "block_in": int(stats.get("BlockInput") or 0),
        "block_out": int(stats.get("BlockOutput") or 0),
        "pids": int(stats.get("PIDs") or 0),
    }


def _error_of(record: dict[str, Any], name: str) -> BridgeError | None:
    err = record.get("Error")
    if not err:
        return None
    text = err if isinstance(err, str) else str(err.get("message") if isinstance(err, dict)
                                                 else err)
    if "not running" in text or "stopped" in text or "state improper" in text:
        return Conflict(f"stats of container {name!r}: {text}")
    return BridgeError(f"stats of container {name!r}: {text}")


class StatsStream(StreamSource):
    policy: Policy = "drop"

    def __init__(self, podman: PodmanClient, name: str, owner_uid: int | None, *,
                 follow: bool, interval: int) -> None:
        self.podman = podman
        self.name = name
        self.owner_uid = owner_uid
        self._http = HttpStream(podman, "GET", "/containers/stats",
                                f"stats of container {name!r}",
                                {"containers": name, "stream": follow, "interval": interval})

    async def open(self) -> None:
        info = await self.podman.inspect_container(self.name)
        self.container = (str(info.get("Id")), self.owner_uid)
        if not (info.get("State") or {}).get("Running"):
            raise Conflict(f"stats of container {self.name!r}: it is not running")
        await self._http.open()

    async def produce(self, put: Put) -> End:
        async for record in self._http.json_lines():
            if not isinstance(record, dict):
                continue
            err = _error_of(record, self.name)
            if err is not None:
                if isinstance(err, Conflict):
                    return End("eof")   # the container stopped
                raise err
            for stats in record.get("Stats") or []:
                await put(sample(stats))
        return End("eof")

    async def one(self) -> dict[str, Any]:
        got: list[dict[str, Any]] = []

        async def put(item: dict[str, Any]) -> None:
            got.append(item)

        await self.open()
        try:
            end = await self.produce(put)
        finally:
            await self.aclose()
        if not got:
            raise Conflict(f"stats of container {self.name!r}: no sample ({end.reason})")
        return got[-1]

    async def aclose(self) -> None:
        await self._http.aclose()
