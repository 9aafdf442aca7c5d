"""A container's CPU, memory, network and block I/O from libpod
(``/containers/stats?containers=NAME``): one sample, or a stream of them.

A sample is worth little once a newer one exists: the stream drops (``gap`` frames)
rather than holding up Podman when the client is slow.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bridge.errors import BridgeError, Conflict
from bridge.events import rfc3339
from bridge.podman import PodmanClient
from bridge.podman_http_stream import HttpSource, HttpStream
from bridge.streams import End, Policy, Put

logger = logging.getLogger(__name__)


def cpu_percent(stats: dict[str, Any], prev: dict[str, Any] | None) -> float:
    """The CPU used since the previous sample, in percent of one CPU.

    Podman's own ``CPU`` field is not that in every version: 4.3.1 gives the use since the
    previous read, 5.4.2 an average since the container started (a busy loop's climbs
    4, 7, 10, 12 ... % over seconds). ``CPUNano`` (the container's CPU time) and
    ``SystemNano`` (the clock) are the same in both: the difference of two samples is."""
    if prev is not None:
        cpu = int(stats.get("CPUNano") or 0) - int(prev.get("CPUNano") or 0)
        clock = int(stats.get("SystemNano") or 0) - int(prev.get("SystemNano") or 0)
        if clock > 0 and cpu >= 0:
            return 100.0 * cpu / clock
    return float(stats.get("CPU") or 0.0)


def sample(stats: dict[str, Any], prev: dict[str, Any] | None = None) -> dict[str, Any]:
    """One libpod stats record in the protocol's shape (Podman 4 and 5 alike)."""
    return {
        "time": rfc3339(time.time()),
        "cpu_percent": cpu_percent(stats, prev),
        "mem_usage": int(stats.get("MemUsage") or 0),
        "mem_limit": int(stats.get("MemLimit") or 0),
        "mem_percent": float(stats.get("MemPerc") or 0.0),
        "net_in": int(stats.get("NetInput") or 0),
        "net_out": int(stats.get("NetOutput") or 0),
        "block_in": int(stats.get("BlockInput") or 0),
        "block_out": int(stats.get("BlockOutput") or 0),
        "pids": int(stats.get("PIDs") or 0),
    }


CGROUP_V2_ONLY = "only available for cgroup v2"


def host_limit(exc: BridgeError) -> BridgeError:
    """Rootless Podman reads stats only from cgroup v2: elsewhere it is not a failure of
    the call but a limit of the host."""
    if CGROUP_V2_ONLY in exc.message:
        return BridgeError(f"{exc.message} (rootless containers have stats only on a host "
                           "with cgroup v2)", "not-supported")
    return exc


def record_error(record: dict[str, Any]) -> str | None:
    """The error text of a libpod stats record, None when it has none."""
    err = record.get("Error")
    if not err:
        return None
    if isinstance(err, dict):
        return str(err.get("message") or err)
    return str(err)


def _error_of(record: dict[str, Any], name: str) -> BridgeError | None:
    text = record_error(record)
    if text is None:
        return None
    if CGROUP_V2_ONLY in text:
        return host_limit(BridgeError(f"stats of container {name!r}: {text}"))
    if "not running" in text or "stopped" in text or "state improper" in text:
        return Conflict(f"stats of container {name!r}: {text}")
    return BridgeError(f"stats of container {name!r}: {text}")


class StatsStream(HttpSource):
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
        try:
            await self._http.open()
        except BridgeError as exc:
            raise host_limit(exc) from None

    async def produce(self, put: Put) -> End:
        prev: dict[str, Any] | None = None
        async for record in self._http.json_lines():
            if not isinstance(record, dict):
                continue
            err = _error_of(record, self.name)
            if err is not None:
                if isinstance(err, Conflict):
                    return End("eof")   # the container stopped
                raise err
            for stats in record.get("Stats") or []:
                if not stats.get("SystemNano") and not stats.get("PIDs"):
                    # Podman 4.3.1 goes on sending zeros once the container stopped
                    # (and for a removed one): the stream is over.
                    return End("eof")
                await put(sample(stats, prev))
                prev = stats
        return End("eof")

    async def one(self) -> dict[str, Any]:
        last, end = await self.read_last()
        if last is None:
            raise Conflict(f"stats of container {self.name!r}: no sample ({end.reason})")
        return last
