"""containers.stats_all against a real Podman: every running container's CPU and memory in
one stream, the list's columns (as Cockpit's Podman page has them); a container started
after the stream opened joins it, a stopped one leaves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bridge.client import BridgeClient
from bridge.client_stream import ClientStream
from bridge.errors import BridgeError
from bridge.tasks import within
from tests.helpers import unique

IMAGE = "localhost/podbridge/httpd:v1"
QUIET = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
BUSY = ["sh", "-c", "trap 'exit 0' TERM; while :; do :; done"]


async def next_until(items: AsyncIterator[dict[str, Any]], ok: Any, what: str,
                     limit: int = 40) -> dict[str, dict[str, Any]]:
    """Read items until ``ok(by_name)``; the samples of the last item, by name."""
    last: dict[str, dict[str, Any]] = {}
    for _ in range(limit):
        item = await within(anext(items), 30)
        last = {s["name"]: s for s in item["samples"]}
        if ok(last):
            return last
    raise AssertionError(f"no sample showed {what}: {last}")


async def test_every_running_container_in_one_stream(client: BridgeClient) -> None:
    quiet, busy, late = unique("sq"), unique("sb"), unique("sl")
    for name, command in ((quiet, QUIET), (busy, BUSY)):
        await client.call("containers.create", {"image": IMAGE, "name": name,
                                                "command": command})
    stream: ClientStream | None = None
    try:
        one = await client.call("containers.stats_all")
        names = {s["name"] for s in one["samples"]}
        assert {quiet, busy} <= names, names
        sample = next(s for s in one["samples"] if s["name"] == quiet)
        assert len(sample["id"]) == 64 and sample["mem_usage"] > 0, sample
        assert set(sample) >= {"cpu_percent", "mem_limit", "mem_percent", "pids", "time"}

        stream = await client.stream("containers.stats_all", {"follow": True, "interval": 1})
        items = aiter(stream)
        first = await next_until(items, lambda by: busy in by, "the busy container")
        # A first sample has no CPU figure (Podman's covers the time since some earlier read).
        assert first[busy]["cpu_percent"] is None, first[busy]
        got = await next_until(items, lambda by: busy in by and quiet in by
                               and (by[busy]["cpu_percent"] or 0) > 20,
                               "the busy container's CPU above 20 %")
        print(f"\nbusy {got[busy]['cpu_percent']:.1f} %, quiet "
              f"{got[quiet]['cpu_percent']:.1f} %")
        assert got[quiet]["cpu_percent"] < got[busy]["cpu_percent"]
        # Started later: it joins; stopped: it leaves (Podman lists the running ones anew).
        await client.call("containers.create", {"image": IMAGE, "name": late,
                                                "command": QUIET})
        await next_until(items, lambda by: late in by, "the container started later")
        await client.call("containers.stop", {"name": busy, "timeout": 0})
        await next_until(items, lambda by: busy not in by and late in by,
                         "the stopped container gone")
    finally:
        if stream is not None:
            await stream.close()
        for name in (quiet, busy, late):
            try:
                await client.call("containers.remove", {"name": name, "force": True})
            except BridgeError:  # not made if the test failed before it
                pass


async def test_a_viewer_may_read_it(client: BridgeClient) -> None:
    roles = {m["name"]: (m["role"], m["readonly"]) for m in await client.call("methods.list")}
    assert roles["containers.stats_all"] == ("viewer", True)
