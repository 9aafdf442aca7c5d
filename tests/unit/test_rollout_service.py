"""Starting a rollout: which hosts, in which order, the digest resolved once, and bad
requests refused with a clear error (the fleet faked at its documented API; the real one
is tested in tests/integration/test_rollout_fleet.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.errors import BridgeError
from bridge.fleet.api import Fleet, KVEntry
from bridge.timespan import parse_timespan
from plugins.rollout.engine import Spec
from plugins.rollout.kvstate import MemoryKV
from plugins.rollout.service import RolloutService, matches, repository, status_json

REPO = "reg:5000/demo/app"
DIGEST = "sha256:" + "a" * 64


def container(image: str = f"{REPO}:latest", **labels: str) -> dict[str, Any]:
    return {"name": "c", "image": image, "labels": {"app": "demo", **labels}}


class JsonKV:
    """The fleet's KV contract (JSON values) over MemoryKV."""

    def __init__(self) -> None:
        self.mem = MemoryKV()

    async def get(self, key: str) -> KVEntry | None:
        if key not in self.mem.data:
            return None
        raw, rev = self.mem.data[key]
        return KVEntry(key, json.loads(raw), rev)

    async def create(self, key: str, value: Any) -> int:
        return await self.mem.create(key, json.dumps(value).encode())

    async def update(self, key: str, value: Any, revision: int) -> int:
        return await self.mem.update(key, json.dumps(value).encode(), revision)

    async def keys(self) -> list[str]:
        return await self.mem.keys()


class FakeFleet:
    def __init__(self, hosts: dict[str, tuple[bool, list[dict[str, Any]]]]) -> None:
        self._hosts = hosts
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.bucket = JsonKV()

    async def hosts(self) -> list[dict[str, Any]]:
        return [{"host": h, "online": on} for h, (on, _) in self._hosts.items()]

    async def summaries(self) -> dict[str, dict[str, Any]]:
        return {h: {"container_list": cs} for h, (_, cs) in self._hosts.items()}

    async def call(self, host: str, method: str, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        self.calls.append((host, method, params or {}))
        return {"digest": DIGEST}

    async def kv(self, bucket: str) -> JsonKV:
        assert bucket == "rollout"
        return self.bucket


def spec(**kw: Any) -> Spec:
    return Spec(**{"image": f"{REPO}:latest", "selector": "app=demo", **kw})


async def test_start_picks_matching_hosts_online_first_and_resolves_once() -> None:
    fleet = FakeFleet({
        "a": (False, [container()]),                      # offline: last, deferred later
        "b": (True, [container()]),
        "c": (True, [container(image="reg:5000/other:1")]),  # another repository
        "d": (True, [container(app="web")]),               # another label value
        "e": (True, [container()]),
    })
    r = await RolloutService(fleet, settle=0).start(spec(max_unavailable=1))
    assert r.waves == [["b"], ["e"], ["a"]]
    assert r.digest == DIGEST
    assert fleet.calls == [("b", "autoupdate.resolve", {"image": f"{REPO}:latest"})]
    again = await RolloutService(fleet, settle=0).get(r.id)
    assert status_json(again)["hosts"] == {"a": "pending", "b": "pending", "e": "pending"}
    assert list(status_json(again))[:4] == ["id", "phase", "digest", "hosts"]


async def test_start_refuses_what_cannot_run() -> None:
    svc = RolloutService(FakeFleet({"a": (False, [container()])}), settle=0)
    with pytest.raises(BridgeError, match="no online host"):
        await svc.start(spec())
    with pytest.raises(BridgeError, match="give a tag"):
        await svc.start(spec(image=f"{REPO}@{DIGEST}"))
    with pytest.raises(BridgeError, match="canary"):
        await svc.start(spec(canary=0))
    with pytest.raises(BridgeError, match="no rollout"):
        await svc.get("nope")


async def test_halt_resume_rollback_by_hand_are_confirmed_in_the_record() -> None:
    fleet = FakeFleet({"a": (True, [container()]), "b": (True, [container()])})
    svc = RolloutService(fleet, settle=0)
    r = await svc.start(spec())
    assert (await svc.halt(r.id, "look first")).phase == "halted"
    with pytest.raises(BridgeError, match="only a running"):
        await svc.halt(r.id, "again")
    assert (await svc.resume(r.id)).phase == "canary"
    done = await svc.rollback(r.id, "changed my mind")
    assert done.phase == "rolling-back" and done.reason == "changed my mind"
    assert [x["id"] for x in await svc.history(10)] == [r.id]


def test_helpers() -> None:
    assert repository("reg:5000/demo/app:latest") == REPO
    assert repository(f"{REPO}@{DIGEST}") == REPO
    assert repository("reg:5000/demo/app") == REPO
    assert matches({"container_list": [container()]}, "app=demo", REPO)
    assert not matches({"container_list": [container()]}, "app=web", REPO)
    assert not matches({}, "app=demo", REPO)
    # Rollout's durations are the core's time spans (systemd's grammar, bridge/timespan.py).
    assert parse_timespan("1m30s") == 90 and parse_timespan("500ms") == 0.5
    assert parse_timespan("7") == 7
    for bad in ("", "5x", "-1"):
        with pytest.raises(ValueError):
            parse_timespan(bad)


async def test_outside_a_fleet_every_request_says_so() -> None:
    svc = RolloutService(Fleet("default", "", None), settle=0)
    with pytest.raises(BridgeError, match="in no fleet") as info:
        await svc.start(spec())
    assert info.value.code == "unreachable"
    with pytest.raises(BridgeError, match="in no fleet"):
        await svc.get("x")
