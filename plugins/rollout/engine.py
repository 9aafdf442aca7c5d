"""The rollout engine: pure state and decisions, no I/O.

A rollout is one JSON-able record (``Rollout``), kept in JetStream KV and changed only by
compare-and-swap. The controller loads it, feeds it what it learnt (``report``,
``host_seen``, ``plan``) and asks ``step(now)`` what to do; every action ``step`` returns is
already written into the record (the host's state is ``updating`` / ``reverting`` with the
action's token) *before* the controller performs it. So a controller that dies after the
write and before the call leaves a record saying what was asked; its successor repeats the
call with the same token, and the host, which keeps what it did per token, does it once.

Phases: ``canary`` -> ``wave`` -> ``done``; a failure over the budget (0 for the canary) or
a host silent past the progress deadline -> ``halted`` -> ``rolling-back`` ->
``rolled-back``. A halt by hand stops at ``halted`` (``resume`` continues, ``rollback``
reverts).

Host states: ``pending`` (planned), ``deferred`` (offline when its wave came; updated
when it returns), ``updating`` (asked), ``passed``, ``rolled-back`` (its own watcher rolled
it back), ``failed``, ``timed-out`` (silent past the deadline), ``skipped`` (nothing
matched on it), ``reverting`` (asked to go back), ``reverted``, ``revert-failed``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PENDING = "pending"
DEFERRED = "deferred"
UPDATING = "updating"
PASSED = "passed"
ROLLED_BACK = "rolled-back"
FAILED = "failed"
TIMED_OUT = "timed-out"
SKIPPED = "skipped"
REVERTING = "reverting"
REVERTED = "reverted"
REVERT_FAILED = "revert-failed"

# What a host may report for an update, and what each counts as.
VERDICTS = {PASSED, ROLLED_BACK, FAILED, SKIPPED}
BAD = {ROLLED_BACK, FAILED, TIMED_OUT}
# Hosts that may be running the new digest: a rollback reverts them.
TOOK_DIGEST = {UPDATING, PASSED, FAILED, TIMED_OUT}
ACTIVE = {"canary", "wave", "rolling-back"}


class RolloutError(ValueError):
    """A request that does not fit the rollout's phase; the text says why."""


@dataclass
class Spec:
    image: str
    selector: str
    canary: int = 1
    max_unavailable: int = 1
    probation: float = 30.0
    failure_budget: int = 0
    progress_deadline: float = 120.0

    def check(self) -> None:
        if self.canary < 1:
            raise RolloutError("canary: must be at least 1")
        if self.max_unavailable < 1:
            raise RolloutError("max_unavailable: must be at least 1")
        if self.failure_budget < 0:
            raise RolloutError("failure_budget: must be >= 0")
        if self.probation < 0 or self.progress_deadline <= 0:
            raise RolloutError("probation must be >= 0 and progress_deadline > 0")
        if "=" not in self.selector or not self.selector.partition("=")[0]:
            raise RolloutError(f"selector {self.selector!r}: must be LABEL=VALUE")


@dataclass
class Host:
    state: str = PENDING
    wave: int = 0
    token: str = ""          # the update's token, once asked
    asked_at: float | None = None
    seen_at: float | None = None   # the host last answered about this rollout
    reason: str = ""
    revert_token: str = ""
    tries: int = 0           # how many times the same token was (re)sent
    done_at: float | None = None   # when its verdict came


@dataclass
class Action:
    kind: Literal["update", "revert"]
    host: str
    token: str


@dataclass
class Rollout:
    id: str
    spec: Spec
    digest: str = ""              # the pinned reference: repository@sha256:...
    phase: str = "canary"
    waves: list[list[str]] = field(default_factory=list)
    wave: int = 0                 # the wave being run (0: the canary)
    hosts: dict[str, Host] = field(default_factory=dict)
    failures: int = 0             # bad verdicts in the waves after the canary
    reason: str = ""
    created: float = 0.0
    updated: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)  # phase changes

    # -- (de)serialising: the KV value
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rollout:
        d = dict(data)
        d["spec"] = Spec(**d["spec"])
        d["hosts"] = {k: Host(**v) for k, v in d.get("hosts", {}).items()}
        return cls(**d)

    def summary(self) -> dict[str, Any]:
        """The fixed-point shape: ``{id, phase, digest, hosts: {NAME: state}}`` and more."""
        return {"id": self.id, "phase": self.phase, "digest": self.digest,
                "hosts": {n: h.state for n, h in sorted(self.hosts.items())},
                "image": self.spec.image, "selector": self.spec.selector,
                "wave": self.wave, "waves": self.waves, "failures": self.failures,
                "reason": self.reason, "created": self.created, "updated": self.updated,
                "spec": asdict(self.spec),
                "details": {n: asdict(h) for n, h in sorted(self.hosts.items())}}

    # -- planning
    def plan(self, hosts: list[str], now: float) -> None:
        """The canary hosts first (the first ``canary`` of ``hosts``, in the order given),
        then waves of at most ``max_unavailable``."""
        self.spec.check()
        if not hosts:
            raise RolloutError("no host runs a container matching the selector")
        names = list(dict.fromkeys(hosts))
        n = min(self.spec.canary, len(names))
        self.waves = [names[:n]]
        rest = names[n:]
        size = self.spec.max_unavailable
        self.waves += [rest[i:i + size] for i in range(0, len(rest), size)]
        self.hosts = {}
        for i, wave in enumerate(self.waves):
            for name in wave:
                self.hosts[name] = Host(wave=i)
        self.created = self.created or now
        self.updated = now
        self._note(now, "canary", f"planned {len(names)} hosts in {len(self.waves)} waves")

    def _note(self, now: float, phase: str, reason: str = "") -> None:
        if phase != self.phase or not self.history:
            self.history.append({"time": now, "phase": phase, "reason": reason})
        self.phase = phase
        self.updated = now
        if reason:
            self.reason = reason

    # -- what the controller learnt
    def report(self, host: str, state: str, now: float, token: str, reason: str = ""
               ) -> bool:
        """A host's answer about the action ``token``. True if it changed the record.
        An answer about an older token, or after the host's verdict, changes nothing."""
        h = self.hosts.get(host)
        if h is None:
            return False
        if h.state == UPDATING and token == h.token:
            h.seen_at = now
            if state in VERDICTS:
                h.state, h.reason, h.done_at = state, reason, now
                if h.wave > 0 and state in BAD:
                    self.failures += 1
                return True
            return state == UPDATING
        if h.state == REVERTING and token == h.revert_token:
            h.seen_at = now
            if state in (REVERTED, REVERT_FAILED):
                h.state, h.reason, h.done_at = state, reason, now
                return True
        return False

    def host_seen(self, host: str, now: float, token: str) -> None:
        """The host answered (``updating``, still working) about ``token``."""
        h = self.hosts.get(host)
        if h is not None and token in (h.token, h.revert_token):
            h.seen_at = now

    # -- the decisions
    def step(self, now: float, online: set[str]) -> list[Action]:
        """Advance the record as far as it can go now, and say what to ask of which host.
        ``online``: the hosts the fleet sees alive (an offline host is deferred, not asked)."""
        actions: list[Action] = []
        if self.phase in ("canary", "wave"):
            self._deadlines(now)
            if self._over_budget():
                reason = self._failure_reason()
                self._note(now, "halted", reason)
                self._start_rollback(now, reason)
            else:
                actions += self._advance(now, online)
        if self.phase == "rolling-back":
            actions += self._revert(now, online)
        return actions

    def _deadlines(self, now: float) -> None:
        limit = self.spec.progress_deadline
        for h in self.hosts.values():
            if h.state != UPDATING or h.asked_at is None:
                continue
            silent = now - (h.seen_at if h.seen_at is not None else h.asked_at)
            overdue = now - h.asked_at - self.spec.probation
            if silent > limit or overdue > limit:
                h.state = TIMED_OUT
                h.reason = (f"silent for {silent:.0f}s" if silent > limit else
                            f"no verdict {overdue:.0f}s after its probation")
                if h.wave > 0:
                    self.failures += 1

    def _over_budget(self) -> bool:
        """Halt: a bad canary, more failures than the budget, or any host silent past the
        deadline. A silent host is not a verdict: it may still be updating (offline, or
        slow), so the budget cannot absorb it, and the next wave would put more hosts
        than max_unavailable under update at once."""
        canary_bad = any(self.hosts[n].state in BAD for n in self.waves[0])
        silent = any(h.state == TIMED_OUT for h in self.hosts.values())
        return canary_bad or silent or self.failures > self.spec.failure_budget

    def _failure_reason(self) -> str:
        bad = [f"{n} {h.state}" + (f" ({h.reason})" if h.reason else "")
               for n, h in sorted(self.hosts.items()) if h.state in BAD]
        if any(self.hosts[n].state in BAD for n in self.waves[0]):
            where = "the canary"
        elif any(h.state == TIMED_OUT for h in self.hosts.values()):
            where = "a host silent past the progress deadline"
        else:
            where = f"{self.failures} failures over the budget of {self.spec.failure_budget}"
        return f"{where}: " + "; ".join(bad)

    def _advance(self, now: float, online: set[str]) -> list[Action]:
        actions: list[Action] = []
        while True:
            wave = self.waves[self.wave]
            # Room counts every host under update, not only this wave's: in the last wave
            # a host caught up from an earlier one may still be on probation. The canary
            # wave is as large as asked.
            room = len(wave) if self.wave == 0 else self.spec.max_unavailable - sum(
                1 for h in self.hosts.values() if h.state == UPDATING)
            for name in wave:
                h = self.hosts[name]
                if h.state in (PENDING, DEFERRED):
                    if name in online and room > 0:
                        actions.append(self._ask(name, h, now))
                        room -= 1
                    else:
                        h.state = DEFERRED  # asked when it is back and there is room
            busy = [n for n in wave if self.hosts[n].state == UPDATING]
            if busy:
                return actions
            if self.wave == 0 and any(self.hosts[n].state == DEFERRED for n in wave):
                # The canary must pass before anyone else gets the digest.
                return actions
            if self.wave + 1 >= len(self.waves):
                deferred = [n for n, h in self.hosts.items() if h.state == DEFERRED]
                if deferred:
                    # Catch-up: a host that was offline is updated when it returns, at most
                    # max_unavailable at a time.
                    room = self.spec.max_unavailable - sum(
                        1 for h in self.hosts.values() if h.state == UPDATING)
                    for name in [n for n in deferred if n in online][:max(0, room)]:
                        actions.append(self._ask(name, self.hosts[name], now))
                    return actions
                if any(h.state == UPDATING for h in self.hosts.values()):
                    return actions  # a caught-up host is still on probation
                self._note(now, "done", "every host has its verdict")
                return actions
            self.wave += 1
            self._note(now, "wave", f"wave {self.wave} of {len(self.waves) - 1}")

    def _ask(self, name: str, h: Host, now: float) -> Action:
        h.state = UPDATING
        h.token = f"{self.id}/u/{name}"
        h.asked_at = now
        h.seen_at = None
        h.tries = 1
        return Action("update", name, h.token)

    def resend(self, now: float, online: set[str]) -> list[Action]:
        """The calls a new controller repeats: each host asked (update or revert) whose
        verdict is not known yet, with the same token (the host does it once)."""
        out: list[Action] = []
        for name, h in sorted(self.hosts.items()):
            if name not in online:
                continue
            if h.state == UPDATING:
                h.tries += 1
                out.append(Action("update", name, h.token))
            elif h.state == REVERTING:
                h.tries += 1
                out.append(Action("revert", name, h.revert_token))
        return out

    def _revert(self, now: float, online: set[str]) -> list[Action]:
        actions: list[Action] = []
        for name, h in sorted(self.hosts.items()):
            if h.state in TOOK_DIGEST and h.token:
                if name not in online:
                    continue  # asked when it returns
                h.state = REVERTING
                h.revert_token = f"{self.id}/r/{name}"
                h.asked_at = now
                h.seen_at = None
                actions.append(Action("revert", name, h.revert_token))
        if not any(h.state == REVERTING or (h.state in TOOK_DIGEST and h.token)
                   for h in self.hosts.values()):
            self._note(now, "rolled-back", self.reason)
        return actions

    def _start_rollback(self, now: float, reason: str) -> None:
        self._note(now, "rolling-back", reason)
        for h in self.hosts.values():
            if h.state in (PENDING, DEFERRED):
                h.state = SKIPPED
                h.reason = "not updated: the rollout was rolled back"

    # -- what a user asks
    def halt(self, now: float, reason: str = "halted by hand") -> None:
        if self.phase not in ("canary", "wave"):
            raise RolloutError(f"rollout {self.id} is {self.phase}: only a running "
                               f"rollout can be halted")
        self._note(now, "halted", reason)

    def resume(self, now: float) -> None:
        if self.phase != "halted":
            raise RolloutError(f"rollout {self.id} is {self.phase}, not halted")
        if self._over_budget():
            raise RolloutError(f"rollout {self.id} cannot resume: {self._failure_reason()}"
                               f"; roll it back")
        self._note(now, "canary" if self.wave == 0 else "wave", "resumed")

    def rollback(self, now: float, reason: str = "rolled back by hand") -> None:
        if self.phase in ("rolling-back", "rolled-back"):
            raise RolloutError(f"rollout {self.id} is already {self.phase}")
        self._start_rollback(now, reason)


def expected_time(hosts: int, canary: int, max_unavailable: int, probation: float) -> float:
    """The least time a rollout of ``hosts`` can take: one probation per wave."""
    waves = 1 + math.ceil(max(0, hosts - canary) / max_unavailable)
    return waves * probation
