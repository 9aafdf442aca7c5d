"""What a user asks of rollouts, for the plugin's methods and the ``podbridge fleet``
commands alike: both hold a fleet (``ctx.fleet`` or a command's client; docs/fleet.md)
with ``hosts()``, ``summaries()``, ``call()`` and ``kv()``.

``start`` finds the hosts whose containers match the selector (from the hosts' summaries
in KV: labels and the image's repository), resolves the tag to a digest once (asking the
first canary host's auto-update, which knows its registries and credentials), plans the
waves and writes the record. The controller (whichever bridge holds the lease) does the
rest. ``halt``, ``resume`` and ``rollback`` change the record by compare-and-swap,
confirmed (kvstate's note on nats-server 2.9).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from bridge.errors import BridgeError, InvalidParams, NotFound
from plugins.rollout.controller import HostError, Unreachable
from plugins.rollout.engine import Rollout, RolloutError, Spec
from plugins.rollout.kvstate import Conflict, Missing, Rollouts

BUCKET = "rollout"


class FleetLike(Protocol):
    async def hosts(self) -> list[dict[str, Any]]: ...
    async def summaries(self) -> dict[str, dict[str, Any]]: ...
    async def call(self, host: str, method: str, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any: ...
    async def kv(self, bucket: str) -> Any: ...


@contextmanager
def _conflict(key: str) -> Iterator[None]:
    """The fleet's ``conflict`` as kvstate's ``Conflict``."""
    try:
        yield
    except BridgeError as exc:
        if exc.code == "conflict":
            raise Conflict(key) from None
        raise


class FleetKV:
    """The fleet's KV bucket (JSON values, ``KVConflict``) behind kvstate's ``KV``."""

    def __init__(self, kv: Any) -> None:
        self.kv = kv

    async def get(self, key: str) -> tuple[bytes, int]:
        entry = await self.kv.get(key)
        if entry is None or entry.value is None:
            raise Missing(key)
        return json.dumps(entry.value).encode(), int(entry.revision)

    async def create(self, key: str, value: bytes) -> int:
        with _conflict(key):
            return int(await self.kv.create(key, json.loads(value)))

    async def update(self, key: str, value: bytes, last: int) -> int:
        with _conflict(key):
            return int(await self.kv.update(key, json.loads(value), last))

    async def keys(self) -> list[str]:
        return list(await self.kv.keys())


class FleetHosts:
    """The controller's ``HostLink`` over the fleet."""

    def __init__(self, fleet: FleetLike) -> None:
        self.fleet = fleet

    async def online(self) -> set[str]:
        return {str(h["host"]) for h in await self.fleet.hosts() if h.get("online")}

    async def call(self, host: str, method: str, params: dict[str, Any],
                   timeout: float) -> Any:
        try:
            return await self.fleet.call(host, method, params, timeout=timeout)
        except BridgeError as exc:
            if exc.code in ("unreachable", "timeout"):
                raise Unreachable(f"{host}: {exc.message}") from None
            raise HostError(exc.code, exc.message) from None


def repository(image: str) -> str:
    """``host:5000/a/b:tag`` -> ``host:5000/a/b`` (a digest, too, is cut off)."""
    name = image.removeprefix("docker://").partition("@")[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


def matches(summary: dict[str, Any], selector: str, repo: str) -> bool:
    label, _, value = selector.partition("=")
    return any((c.get("labels") or {}).get(label) == value
               and repository(str(c.get("image") or "")) == repo
               for c in summary.get("container_list") or [])


def new_id(now: float) -> str:
    return time.strftime("%Y%m%d-%H%M%S", time.gmtime(now)) + "-" + uuid.uuid4().hex[:6]


class RolloutService:
    def __init__(self, fleet: FleetLike, settle: float = 0.5,
                 clock: Callable[[], float] = time.time) -> None:
        self.fleet = fleet
        self.settle = settle
        self.clock = clock
        self._rollouts: Rollouts | None = None

    async def rollouts(self) -> Rollouts:
        if self._rollouts is None:
            self._rollouts = Rollouts(FleetKV(await self.fleet.kv(BUCKET)))
        return self._rollouts

    async def start(self, spec: Spec) -> Rollout:
        try:
            spec.check()
        except RolloutError as exc:
            raise InvalidParams(str(exc)) from None
        if "@" in spec.image:
            raise InvalidParams(f"image {spec.image!r}: give a tag; the rollout pins its "
                                f"digest itself")
        repo = repository(spec.image)
        hosts = await self.fleet.hosts()
        summaries = await self.fleet.summaries()
        online = sorted(str(h["host"]) for h in hosts if h.get("online"))
        offline = sorted(str(h["host"]) for h in hosts if not h.get("online"))
        chosen = [h for h in online + offline
                  if matches(summaries.get(h) or {}, spec.selector, repo)]
        canary = [h for h in chosen if h in online][:1]
        if not canary:
            raise NotFound(f"no online host runs a container labelled {spec.selector} "
                           f"from {repo}")
        try:
            resolved = await self.fleet.call(canary[0], "autoupdate.resolve",
                                             {"image": spec.image})
        except BridgeError as exc:
            raise BridgeError(f"resolving {spec.image} on {canary[0]}: {exc.message}",
                              exc.code) from None
        now = self.clock()
        r = Rollout(id=new_id(now), spec=spec, digest=str(resolved["digest"]), created=now)
        try:
            r.plan(chosen, now)
        except RolloutError as exc:
            raise InvalidParams(str(exc)) from None
        await (await self.rollouts()).create(r)
        return r

    async def get(self, rollout_id: str) -> Rollout:
        try:
            return (await (await self.rollouts()).load(rollout_id))[0]
        except Missing:
            raise NotFound(f"no rollout {rollout_id!r}") from None

    async def history(self, limit: int) -> list[dict[str, Any]]:
        out = []
        for r in sorted(await (await self.rollouts()).all(), key=lambda r: r.created,
                        reverse=True)[:limit]:
            s = r.summary()
            s.pop("details", None)
            out.append(s)
        return out

    async def _change(self, rollout_id: str, change: Callable[[Rollout], None],
                      kept: Callable[[Rollout], bool]) -> Rollout:
        store = await self.rollouts()
        try:
            return await store.mutate(rollout_id, change, kept, settle=self.settle)
        except Missing:
            raise NotFound(f"no rollout {rollout_id!r}") from None
        except (RolloutError, Conflict) as exc:
            raise BridgeError(str(exc), "conflict") from None

    async def halt(self, rollout_id: str, reason: str) -> Rollout:
        return await self._change(
            rollout_id, lambda r: r.halt(self.clock(), reason),
            lambda r: r.phase not in ("canary", "wave"))

    async def resume(self, rollout_id: str) -> Rollout:
        return await self._change(
            rollout_id, lambda r: r.resume(self.clock()), lambda r: r.phase != "halted")

    async def rollback(self, rollout_id: str, reason: str) -> Rollout:
        return await self._change(
            rollout_id, lambda r: r.rollback(self.clock(), reason),
            lambda r: r.phase in ("rolling-back", "rolled-back"))


def status_json(r: Rollout) -> dict[str, Any]:
    """``podbridge fleet status --format json``: the fixed keys first."""
    s = r.summary()
    return {"id": s["id"], "phase": s["phase"], "digest": s["digest"], "hosts": s["hosts"],
            **{k: v for k, v in s.items() if k not in ("id", "phase", "digest", "hosts")}}

