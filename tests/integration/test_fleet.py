"""The fleet against the real thing: a 3-node NATS cluster (nats-server), two test worlds,
each with its own `podbridge serve` joined (bridge.sandbox.fleet, as `podbridge sandbox
fleet up` starts it). The fleet is shared by the module; each test leaves it whole.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.credentials import Credentials
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.fleet import Fleet
from bridge.sandbox.images import SLEEP
from bridge.sandbox.leftovers import HostSnapshot, leftovers
from tests.helpers import unique
from tests.integration.bridgefix import refused

# The NATS nodes and bridges a test restarts belong to the module's fleet, which reaps them
# and checks, at its end, that nothing of it is left.
pytestmark = [pytest.mark.world, pytest.mark.timeout(600), pytest.mark.allow_children]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    from bridge.sandbox import unavailable_reason

    if reason := unavailable_reason():
        pytest.skip(f"no test world on this machine: {reason}")
    before = HostSnapshot.take()
    f = Fleet.up(tmp_path_factory.mktemp("fleet"), 2)
    worlds: list[World] = [h.world() for h in f.hosts]
    procs = {f"nats-server {n.name}": n.proc for n in (f.nats.nodes if f.nats else [])}
    procs["registry"] = f.registry
    try:
        yield f
    finally:
        procs.update({f"bridge {h.name}": h.bridge for h in f.hosts})
        f.down()
    left = [item for w in worlds for item in leftovers(w, before)]
    left += [name for name, p in procs.items() if p is not None and p.alive()]
    assert not left, f"the fleet left behind: {left}"


def client(fleet: Fleet, host: str) -> BridgeClient:
    h = fleet.host(host)
    return BridgeClient(f"unix:{h.socket}", h.token, timeout=60)


async def wait_until(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    """Poll the async or plain ``check`` until it returns something true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while True:
        try:
            last = check()
            if asyncio.iscoroutine(last):
                last = await last
            if last:
                return last
        except (BridgeError, ConnectionError, OSError) as exc:
            last = exc
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})")
        await asyncio.sleep(0.2)


def tag_events(world: World, count: int) -> str:
    """``count`` image tag events (and as many untags) on ``world``; returns the tag's repo."""
    repo = f"localhost/{unique('fleetmark')}"
    for i in range(count):
        world.podman("tag", SLEEP, f"{repo}:{i}")
    for i in range(count):
        world.podman("untag", SLEEP, f"{repo}:{i}")
    return repo


@contextlib.asynccontextmanager
async def collecting(c: BridgeClient, topics: list[str], fleet: bool
                     ) -> AsyncIterator[list[dict[str, Any]]]:
    """Events of a websocket subscription (``fleet``: of every host) gathered in a list."""
    got: list[dict[str, Any]] = []
    queue: asyncio.Queue[Any] = asyncio.Queue()
    frame = await c.request({"type": "subscribe", "topics": topics, "fleet": fleet})
    assert frame["ok"], frame
    sub_id = frame["id"]
    c._subs[sub_id] = queue

    async def pump() -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            if item.get("type") == "event":
                got.append(item["event"])

    task = asyncio.create_task(pump())
    try:
        yield got
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def subjects_of(events: list[dict[str, Any]], repo: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"].startswith("image.") and repo in str(e)]


async def test_events_from_every_host_reach_one_websocket(fleet: Fleet) -> None:
    async with client(fleet, "h1") as c, collecting(c, ["image.*"], fleet=True) as seen, \
            collecting(c, ["image.*"], fleet=False) as local:
        repos = {h.name: tag_events(h.world(), 2) for h in fleet.hosts}
        for name, repo in repos.items():
            await wait_until(lambda repo=repo: len(subjects_of(seen, repo)) >= 4,
                             f"the image events of {name} through the fleet")
        for name, repo in repos.items():
            mine = subjects_of(seen, repo)
            assert {e["host"] for e in mine} == {name}
            seqs = [e["seq"] for e in seen]
            assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), \
                "fleet seqs are the stream's: strictly increasing"
        # This bridge's own bus: only h1's events, each carrying its host too.
        await wait_until(lambda: len(subjects_of(local, repos["h1"])) >= 4, "h1's own events")
        assert all(e["host"] == "h1" for e in local)
        assert not subjects_of(local, repos["h2"])


async def test_fleet_call_reaches_any_host_with_the_callers_role(fleet: Fleet) -> None:
    name = unique("fleetcall")
    world2 = fleet.host("h2").world()
    world2.podman("create", "--name", name, SLEEP, "sleep", "1000")
    try:
        async with client(fleet, "h1") as c:
            async def remote_names() -> set[str]:
                rows = await c.call("fleet.call", {"host": "h2", "method": "containers.list"})
                return {r["name"] for r in rows}

            assert name in await wait_until(
                lambda: _contains(remote_names(), name), "h2's container through h1")
            own = await c.call("fleet.call", {"host": "h1", "method": "containers.list"})
            assert name not in {r["name"] for r in own}
            err = await refused(c, "fleet.call", {"host": "nosuchhost", "method": "state.get"})
            assert err.code == "unreachable"
            err = await refused(c, "fleet.call", {"host": "h2", "method": "no.such.method"})
            assert err.code == "unknown-method"
        # A viewer of h1 may read h2 through the fleet (fleet.get), and may not change it.
        h1 = fleet.host("h1")
        token = Credentials(h1.token, h1.state_dir / "tokens.json").add(
            unique("viewer"), "viewer")
        async with BridgeClient(f"unix:{h1.socket}", token, timeout=60) as viewer:
            rows = await viewer.call("fleet.get", {"host": "h2", "method": "containers.list"})
            assert name in {r["name"] for r in rows}
            err = await refused(viewer, "fleet.get", {"host": "h2", "method": "units.remove",
                                                      "params": {"unit": "x.service"}})
            assert err.code == "access-denied" and "fleet.call" in err.message
            err = await refused(viewer, "fleet.call", {"host": "h2", "method": "containers.list"})
            assert err.code == "access-denied"
        # An operator's call through the fleet runs as the operator there: units.remove
        # needs admin, and h2 says so, naming the caller as h2 sees it.
        op_token = Credentials(h1.token, h1.state_dir / "tokens.json").add(
            unique("operator"), "operator")
        async with BridgeClient(f"unix:{h1.socket}", op_token, timeout=60) as op:
            with pytest.raises(BridgeError) as err:
                await op.call("fleet.call", {"host": "h2", "method": "units.remove",
                                             "params": {"unit": "x.service"}})
            assert err.value.code == "access-denied"
            assert "@h1" in err.value.message and "'operator'" in err.value.message
    finally:
        world2.podman("rm", "-f", name)


async def _contains(coro: Any, name: str) -> set[str] | None:
    names: set[str] = await coro
    return names if name in names else None


async def test_hosts_lists_every_host_online(fleet: Fleet) -> None:
    rows = await fleet.hosts_view()
    assert [r["host"] for r in rows] == ["h1", "h2"]
    assert all(r["online"] and r["last_seen"] for r in rows)
    assert all(r["units"] > 0 for r in rows)


async def test_a_nats_node_killed_the_fleet_goes_on(fleet: Fleet) -> None:
    assert fleet.nats is not None
    # The node h2's bridge is connected to: it must move to another and go on.
    async with client(fleet, "h2") as c2:
        server = (await c2.call("fleet.status"))["server"]
    node = next(i for i, n in enumerate(fleet.nats.nodes) if n.url == server)
    fleet.nats.kill_node(node)
    try:
        async with client(fleet, "h1") as c, collecting(c, ["image.*"], fleet=True) as seen:
            repo = tag_events(fleet.host("h2").world(), 3)
            await wait_until(lambda: len(subjects_of(seen, repo)) >= 6,
                             "h2's events with a NATS node gone")
            rows = await c.call("fleet.call", {"host": "h2", "method": "containers.list"})
            assert isinstance(rows, list)
            # Heartbeats go on through the other nodes (one may come late while a host
            # moves to another node: wait for the state, not a duration).
            async def all_online() -> bool:
                return all(h["online"] for h in await c.call("fleet.hosts"))

            await wait_until(all_online, "every host online with a node gone")
        async with client(fleet, "h2") as c2:
            assert (await c2.call("fleet.status"))["server"] != server
    finally:
        fleet.nats.start_node(node)


async def test_nats_down_then_back_loses_no_event(fleet: Fleet) -> None:
    assert fleet.nats is not None
    async with client(fleet, "h1") as c1, client(fleet, "h2") as c2:
        await wait_until(lambda: _outbox_empty(c2), "h2's outbox empty before")
        async with collecting(c2, ["**"], fleet=False) as local:
            for i in range(len(fleet.nats.nodes)):
                fleet.nats.kill_node(i)
            try:
                repo = tag_events(fleet.host("h2").world(), 20)
                # h2 goes on with its own work: its own websocket sees every event...
                await wait_until(lambda: len(subjects_of(local, repo)) >= 40,
                                 "h2's own events while NATS is down")
                status = await c2.call("fleet.status")
                assert not status["connected"] and status["outbox"] > 0, status
            finally:
                for i in range(len(fleet.nats.nodes)):
                    fleet.nats.start_node(i, wait=False)
                for i in range(len(fleet.nats.nodes)):
                    fleet.nats.wait_node(i)
            await wait_until(lambda: _outbox_empty(c2), "h2's outbox sent after", 180)
            wanted = {e["seq"] for e in local}
        # ... and the stream has each of them, once, in order, from h2.
        stream = await _read_stream(c1, "h2")
        host_seqs = [e["host_seq"] for e in stream]
        assert wanted <= set(host_seqs), f"lost: {sorted(wanted - set(host_seqs))[:10]}"
        assert len(host_seqs) == len(set(host_seqs)), "an event twice in the stream"
        assert host_seqs == sorted(host_seqs)
        assert len(subjects_of(stream, repo)) == 40


async def test_a_bridge_restarted_while_nats_is_down_loses_no_event(fleet: Fleet) -> None:
    """The outbox is on disk (STATE_DIR/fleet-outbox.db): events h2 made while NATS was
    down, before and after its bridge restarted, all reach the stream once NATS is back."""
    assert fleet.nats is not None
    async with client(fleet, "h2") as c2:
        await wait_until(lambda: _outbox_empty(c2), "h2's outbox empty before")
    for i in range(len(fleet.nats.nodes)):
        fleet.nats.kill_node(i)
    try:
        world = fleet.host("h2").world()
        async with client(fleet, "h2") as c2, collecting(c2, ["image.*"], False) as local:
            before = tag_events(world, 10)
            await wait_until(lambda: len(subjects_of(local, before)) >= 20,
                             "h2's bridge has seen the first run's events")
            await wait_until(lambda: _outbox_holds(c2, 20), "h2's events in its outbox")
        fleet.stop_bridge("h2")
        fleet.start_bridge("h2")
        await wait_until(lambda: _answers(fleet, "h2"), "h2's bridge back")
        async with client(fleet, "h2") as c2, collecting(c2, ["**"], False) as local:
            # The new run follows Podman's events once its source says so.
            await wait_until(lambda: _podman_followed(c2), "h2's Podman source connected")
            after = tag_events(world, 10)
            await wait_until(lambda: len(subjects_of(local, after)) >= 20,
                             "h2's bridge has seen the second run's events")
            await wait_until(lambda: _outbox_holds(c2, 40), "both runs' events waiting")
    finally:
        for i in range(len(fleet.nats.nodes)):
            fleet.nats.start_node(i, wait=False)
        for i in range(len(fleet.nats.nodes)):
            fleet.nats.wait_node(i)
    async with client(fleet, "h1") as c1, client(fleet, "h2") as c2:
        await wait_until(lambda: _outbox_empty(c2), "h2's outbox sent after", 180)
        stream = await _read_stream(c1, "h2")
    host_seqs = [e["host_seq"] for e in stream]
    assert len(host_seqs) == len(set(host_seqs)), "an event twice in the stream"
    assert host_seqs == sorted(host_seqs)
    for repo in (before, after):
        got = subjects_of(stream, repo)
        tags = [e for e in got if e["type"] == "image.tag"]
        assert len(tags) == 10, f"{repo}: {len(tags)} tag events of 10 in the stream"
        assert len(got) == 20, f"{repo}: {len(got)} events of 20 in the stream"


async def _answers(fleet: Fleet, host: str) -> bool:
    async with client(fleet, host) as c:
        return bool(await c.call("bridge.status"))


async def _podman_followed(c: BridgeClient) -> bool:
    status = await c.call("bridge.status")
    return bool(status["podman"]["connected"])


async def _outbox_holds(c: BridgeClient, n: int) -> bool:
    status = await c.call("fleet.status")
    return bool(not status["connected"] and status["outbox"] >= n)


async def _read_stream(c: BridgeClient, host: str) -> list[dict[str, Any]]:
    stream: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await wait_until(lambda since=since: c.call(
            "fleet.events", {"since": since, "hosts": [host], "limit": 10_000}),
            "the stream read")
        stream += page["events"]
        if page["last"] == since:
            return stream
        since = page["last"]


async def _outbox_empty(c: BridgeClient) -> bool:
    status = await c.call("fleet.status")
    return bool(status["connected"] and status["outbox"] == 0)


async def test_a_host_down_and_back(fleet: Fleet) -> None:
    async with client(fleet, "h1") as c:
        async def h2_online() -> bool:
            rows = {r["host"]: r for r in await c.call("fleet.hosts")}
            return "h2" in rows and bool(rows["h2"]["online"])

        await wait_until(h2_online, "h2 online before it goes down")
        fleet.stop_bridge("h2")
        try:
            async def h2_offline() -> bool:
                rows = {r["host"]: r for r in await c.call("fleet.hosts")}
                return not rows["h2"]["online"]

            await wait_until(h2_offline, "h2 seen offline")
            err = await refused(c, "fleet.call", {"host": "h2", "method": "state.get"})
            assert err.code == "unreachable"
        finally:
            fleet.start_bridge("h2")

        await wait_until(h2_online, "h2 back online")

        # Online is h2's heartbeat; its Podman stream opens on its own schedule, and a
        # fresh bridge follows Podman from the moment its stream opens, not before.
        async def h2_follows_podman() -> bool:
            status = await c.call("fleet.call", {"host": "h2", "method": "bridge.status"})
            return bool(status["podman"]["connected"])

        await wait_until(h2_follows_podman, "h2's Podman source connected")
        async with collecting(c, ["image.*"], fleet=True) as seen:
            repo = tag_events(fleet.host("h2").world(), 1)
            await wait_until(lambda: len(subjects_of(seen, repo)) >= 2, "h2's events again")
        rows = await c.call("fleet.call", {"host": "h2", "method": "containers.list"})
        assert isinstance(rows, list)


def test_cli_fleet_hosts_json(fleet: Fleet, tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "bridge", "fleet", "hosts", "--format", "json",
                          "--config", str(tmp_path / "none.toml")],
                         capture_output=True, text=True, timeout=120, check=True,
                         env={**os.environ, "PODBRIDGE_FLEET": fleet.url})
    rows = json.loads(out.stdout)
    assert [r["host"] for r in rows] == ["h1", "h2"]
    for r in rows:
        assert {"host", "online", "last_seen", "containers"} <= set(r)
        assert isinstance(r["containers"], int)
