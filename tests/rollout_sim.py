"""Simulated hosts for the rollout controller: the host side of ``autoupdate.apply`` /
``applied`` / ``revert`` as a script (a token is carried out once; the verdict comes a
probation after the update), with the facts the tests check counted on the host's side:
how many times each host was updated, and how many hosts were updating at once.

Used by the unit tests of the rollout logic and by the benchmark only; the real host side
is the auto-update plugin, tested against real hosts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from plugins.rollout.controller import HostError, Unreachable


@dataclass
class SimHost:
    name: str
    online: bool = True
    bad: bool = False             # the new image fails on this host (its watcher rolls back)
    digest: str = "sha256:old"    # what it runs
    tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: int = 0              # updates carried out (a token's first arrival)
    pulled: list[str] = field(default_factory=list)


class SimFleet:
    """``HostLink`` over simulated hosts; time is ``clock()`` (real or a test's)."""

    def __init__(self, names: list[str], probation: float, clock: Callable[[], float],
                 latency: float = 0.0) -> None:
        self.hosts = {n: SimHost(n) for n in names}
        self.probation = probation
        self.clock = clock
        self.latency = latency
        self.max_updating = 0
        self.max_updating_after_canary = 0
        self.canary: set[str] = set()
        self.calls = 0

    async def online(self) -> set[str]:
        return {n for n, h in self.hosts.items() if h.online}

    def updating_now(self) -> int:
        self._settle()
        return sum(1 for h in self.hosts.values() for t in h.tokens.values()
                   if t["kind"] == "update" and t["state"] == "updating")

    def _settle(self) -> None:
        """Verdicts whose probation is over (a host decides even while cut off)."""
        now = self.clock()
        for h in self.hosts.values():
            for t in h.tokens.values():
                if t["kind"] == "update" and t["state"] == "updating" \
                        and now - t["at"] >= self.probation:
                    if h.bad:
                        t["state"] = "rolled-back"
                        h.digest = t["old"]
                    else:
                        t["state"] = "passed"

    async def call(self, host: str, method: str, params: dict[str, Any],
                   timeout: float) -> Any:
        self.calls += 1
        if self.latency:
            await asyncio.sleep(self.latency)
        h = self.hosts[host]
        if not h.online:
            raise Unreachable(host)
        self._settle()
        token = str(params["token"])
        if method == "autoupdate.applied":
            if token not in h.tokens:
                raise HostError("not-found", f"no action {token}")
            return {"token": token, **{k: v for k, v in h.tokens[token].items()
                                       if k in ("state", "reason")}}
        if token in h.tokens:
            return {"token": token, "state": h.tokens[token]["state"]}
        if method == "autoupdate.apply":
            h.updates += 1
            h.pulled.append(str(params["digest"]))
            h.tokens[token] = {"kind": "update", "state": "updating", "at": self.clock(),
                               "old": h.digest, "reason": ""}
            h.digest = str(params["digest"])
            n = self.updating_now()
            self.max_updating = max(self.max_updating, n)
            if host not in self.canary:
                self.max_updating_after_canary = max(self.max_updating_after_canary, n)
            return {"token": token, "state": "updating"}
        if method == "autoupdate.revert":
            upd = h.tokens.get(str(params["update_token"]))
            state = "reverted"
            if upd is not None:
                if upd["state"] in ("updating", "passed"):
                    h.digest = upd["old"]
                upd["state"] = "superseded" if upd["state"] == "updating" else upd["state"]
            h.tokens[token] = {"kind": "revert", "state": state, "at": self.clock(),
                               "reason": ""}
            return {"token": token, "state": state}
        raise HostError("unknown-method", method)
