"""The rollout controller: holds the lease, and drives every running rollout one tick at a
time.

A tick of one rollout: read the record (and its revision); ask each host that was asked
something and has not answered yet where it stands (``autoupdate.applied`` with the token:
a host that never received the call says so, and gets it again with the same token, which
it carries out once); let the engine decide (``Rollout.step``); write the record by
compare-and-swap; only then make the calls the engine asked for. A controller killed at any
point leaves a record that says what was asked; the next one carries on from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from bridge.bus import Publish, no_publish
from bridge.errors import BridgeError
from bridge.tasks import TaskOwner, within
from plugins.rollout import engine
from plugins.rollout.engine import Action, Rollout
from plugins.rollout.kvstate import Conflict, Lease, Missing, Rollouts

logger = logging.getLogger(__name__)

APPLY = "autoupdate.apply"
APPLIED = "autoupdate.applied"
REVERT = "autoupdate.revert"


class Unreachable(Exception):
    """The host did not answer (offline, or NATS could not carry the call)."""


class HostError(Exception):
    """The host answered with an error: ``code`` and the message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class HostLink(Protocol):
    async def online(self) -> set[str]: ...
    async def call(self, host: str, method: str, params: dict[str, Any],
                   timeout: float) -> Any: ...


def publish_changes(publish: Publish, before: dict[str, Any] | None, seen_history: int,
                    after: Rollout) -> None:
    """``fleet.rollout.*`` events for what changed since ``before`` (a summary) and the
    first ``seen_history`` phase changes."""
    s = after.summary()
    old_hosts: dict[str, str] = before["hosts"] if before else {}
    changed = [(n, st) for n, st in s["hosts"].items() if old_hosts.get(n) != st]

    def host(name: str, state: str) -> None:
        publish("fleet.rollout.host", after.id, {
            "id": after.id, "host": name, "state": state, "wave": after.hosts[name].wave,
            "reason": after.hosts[name].reason, "digest": after.digest})

    # In the order it happened: verdicts, then the next wave, then the hosts it asks.
    asked = (engine.UPDATING, engine.REVERTING)
    for name, state in changed:
        if state not in asked:
            host(name, state)
    if before is not None and before["wave"] != after.wave:
        # One per wave begun (it stands for the phase "wave" too).
        publish("fleet.rollout.wave", after.id, {
            "id": after.id, "phase": after.phase, "wave": after.wave,
            "hosts": after.waves[after.wave]})
    for name, state in changed:
        if state in asked:
            host(name, state)
    # Every other phase passed through (an automatic halt goes straight on to the
    # rollback).
    for entry in after.history[seen_history:]:
        if entry["phase"] == "wave" and entry.get("reason") != "resumed":
            continue
        publish(f"fleet.rollout.{entry['phase'].replace('-', '_')}", after.id, {
            "id": after.id, "phase": entry["phase"], "reason": entry.get("reason", ""),
            "digest": after.digest, "wave": after.wave})


class Controller:
    def __init__(self, rollouts: Rollouts, lease: Lease, link: HostLink, *,
                 tick: float = 1.0, call_timeout: float = 10.0,
                 clock: Callable[[], float] = time.time,
                 publish: Publish = no_publish) -> None:
        self.rollouts = rollouts
        self.lease = lease
        self.link = link
        self.tick = tick
        self.call_timeout = call_timeout
        self.clock = clock
        self.publish = publish
        self._ended: set[str] = set()
        self._seen: dict[str, tuple[dict[str, Any], int]] = {}
        self._calls = TaskOwner("rollout")
        self.wake = asyncio.Event()

    async def run(self) -> None:
        """Contend for the lease; while held, drive the rollouts. Forever."""
        try:
            while True:
                try:
                    if await self.lease.renew():
                        await self.drive_all()
                except (Conflict, Missing, OSError, TimeoutError, BridgeError) as exc:
                    # NATS away or electing a leader: the next tick tries again.
                    logger.warning("rollout tick: %s", exc)
                except Exception as exc:
                    if type(exc).__module__.startswith("nats"):
                        logger.warning("rollout tick: NATS: %s", exc)
                    else:
                        raise
                # A bridge without the lease looks again a few times per lease time, not
                # every tick: a fleet of N bridges costs the KV N/ (ttl/3) reads a second.
                pause = self.tick if self.lease.held else max(self.tick, self.lease.ttl / 3)
                with contextlib.suppress(TimeoutError):
                    await within(self.wake.wait(), pause)
                self.wake.clear()
        finally:
            await self._calls.close()

    async def drive_all(self) -> None:
        for rid in await self.rollouts.ids():
            if rid in self._ended:
                continue
            if not self.lease.held:
                return
            await self.drive(rid)

    async def drive(self, rid: str) -> Rollout | None:
        """One tick of one rollout. Returns the record as written (None: not written)."""
        try:
            r, rev = await self.rollouts.load(rid)
        except Missing:
            return None
        self._note_seen(r)
        if r.phase in ("done", "rolled-back"):
            self._ended.add(rid)
            self._seen.pop(rid, None)
            return None
        if r.phase not in engine.ACTIVE:
            return None
        before = r.summary()
        seen_history = len(r.history)
        online = await self.link.online()
        resend = await self._poll(r, online)
        actions = r.step(self.clock(), online)
        changed = r.summary() != before
        if changed:
            try:
                await self.rollouts.save(r, rev)
            except Conflict:
                logger.info("rollout %s changed under this tick: read again", rid)
                return None
            publish_changes(self.publish, before, seen_history, r)
            self._seen[rid] = (r.summary(), len(r.history))
        for a in resend + actions:
            self._spawn_call(r, a)
        return r

    def _note_seen(self, r: Rollout) -> None:
        """Events for what others changed since this controller last looked (a new
        rollout, a user's halt, resume or rollback, another controller's ticks)."""
        seen = self._seen.get(r.id)
        if seen is None:
            if len(r.history) == 1 and all(h.state == engine.PENDING
                                           for h in r.hosts.values()):
                self.publish("fleet.rollout.started", r.id, {
                    "id": r.id, "image": r.spec.image, "digest": r.digest,
                    "selector": r.spec.selector, "waves": r.waves})
        else:
            publish_changes(self.publish, seen[0], seen[1], r)
        self._seen[r.id] = (r.summary(), len(r.history))

    async def _poll(self, r: Rollout, online: set[str]) -> list[Action]:
        """Ask the hosts with an open question where they stand; the unasked get the call
        again (same token)."""
        asked = [(n, h) for n, h in sorted(r.hosts.items())
                 if h.state in (engine.UPDATING, engine.REVERTING) and n in online]
        answers = await asyncio.gather(*(
            self._call(n, APPLIED, {"token": h.token if h.state == engine.UPDATING
                                    else h.revert_token}) for n, h in asked),
            return_exceptions=True)
        now = self.clock()
        resend: list[Action] = []
        for (name, h), answer in zip(asked, answers, strict=True):
            token = h.token if h.state == engine.UPDATING else h.revert_token
            kind = "update" if h.state == engine.UPDATING else "revert"
            if isinstance(answer, Unreachable):
                continue
            if isinstance(answer, HostError):
                if answer.code in ("not-found", "unknown-token"):
                    r.host_seen(name, now, token)
                    resend.append(Action(kind, name, token))  # type: ignore[arg-type]
                else:
                    r.report(name, engine.FAILED if kind == "update" else
                             engine.REVERT_FAILED, now, token, f"{answer.code}: {answer}")
                continue
            if isinstance(answer, BaseException):
                logger.warning("asking %s about %s: %s", name, token, answer)
                continue
            state = str(answer.get("state") or "")
            r.report(name, state, now, token, str(answer.get("reason") or ""))
            r.host_seen(name, now, token)
        return resend

    def _spawn_call(self, r: Rollout, a: Action) -> None:
        """The calls run beside the loop: a slow host never holds up a tick."""
        if a.kind == "update":
            params = {"token": a.token, "image": r.spec.image, "digest": r.digest,
                      "selector": r.spec.selector, "probation": r.spec.probation}
            method = APPLY
        else:
            params = {"token": a.token, "update_token": r.hosts[a.host].token}
            method = REVERT
        self._calls.create(self._fire(a.host, method, params), f"{a.kind}/{a.host}")

    async def _fire(self, host: str, method: str, params: dict[str, Any]) -> None:
        try:
            await self._call(host, method, params)
        except (Unreachable, HostError) as exc:
            # The next tick's question finds out what became of it.
            logger.info("%s on %s: %s", method, host, exc)

    async def _call(self, host: str, method: str, params: dict[str, Any]) -> Any:
        return await self.link.call(host, method, params, self.call_timeout)
