"""The verdict on one restart of one unit: pure logic, fed observations, asked at a time.

A restart passes when its job ended ``done``, the unit is active (ready, for Type=notify),
and for the probation window after that nothing went wrong: no watched container died, the
unit did not leave ``active`` or enter ``auto-restart``, NRestarts did not rise, and every
container with a health check reported ``healthy`` (a check still ``starting`` when the
window closes gets ``health_grace`` more seconds, then fails).

With ``Restart=always`` (or ``on-failure``) a failed start loops through
``activating/auto-restart`` and may never reach ``failed``; and NRestarts is reset to 0 by
an explicit restart. So a failure is any rise of NRestarts between two observations, any
``auto-restart`` sub-state, or a job result other than ``done`` -- never a wait for
``ActiveState=failed``.

What the unit is comes from *reads* of systemd (``unit_state``: GetAll answers, each one
snapshot at one moment), never from the order in which signals arrive: under load a signal
queued before a reply can be handled after it, and a stale ``activating`` then looks like a
unit that left ``active`` (a false rollback). So a read requested before the job's end is
no evidence about the restarted unit (``job_done`` forgets what it said), the run on
probation is named by its InvocationID (a new one is a new start, whatever the signals
said), and a restart passes only on a read made after its window closed.

Every method takes ``now`` (wall-clock seconds): the watch passes real time, the tests their
own. The whole state round-trips through ``to_json``/``from_json`` so that a bridge
restarted mid-probation resumes where it was.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bridge.timespan import TimespanError, parse_timespan

logger = logging.getLogger(__name__)

PROBATION_LABEL = "io.podbridge.rollback.probation"
DEFAULT_PROBATION = 30.0

PENDING: Literal["pending"] = "pending"
PASSED: Literal["passed"] = "passed"
FAILED: Literal["failed"] = "failed"
Outcome = Literal["pending", "passed", "failed"]

ACTIVE_STATES = frozenset({"active", "reloading"})


def probation_from_labels(labels: dict[str, str] | None) -> float | None:
    """The probation a container asks for with its label, or None (bad values are logged)."""
    value = (labels or {}).get(PROBATION_LABEL)
    if value is None:
        return None
    try:
        return parse_timespan(value)
    except TimespanError as exc:
        logger.warning("label %s: %s; using the default", PROBATION_LABEL, exc)
        return None


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    reason: str = ""

    @property
    def done(self) -> bool:
        return self.outcome != PENDING


@dataclass
class Probation:
    """What is known about one restart, and what it means."""

    begun_at: float                      # when the restart was (about to be) issued
    probation: float = DEFAULT_PROBATION
    job_timeout: float = 300.0           # for the job result, and for the unit to be active
    health_grace: float = 30.0           # for a health check still "starting" at the end
    job_result: str | None = None
    active: bool = False                 # the unit's ActiveState is active now
    active_at: float | None = None       # probation began (job done and unit active)
    n_restarts: int | None = None        # the last NRestarts seen
    invocation: str | None = None        # the InvocationID of the run on probation
    read_at: float | None = None         # when the last read of the unit was made
    containers: list[str] = field(default_factory=list)   # the new containers' IDs
    health_checked: list[str] = field(default_factory=list)
    health: dict[str, str] = field(default_factory=dict)  # container ID -> last status
    failure: str | None = None
    passed_at: float | None = None

    # -- observations
    def fail(self, reason: str) -> None:
        if self.failure is None and self.passed_at is None:
            self.failure = reason

    def job_done(self, result: str, now: float) -> None:
        if self.job_result is not None:
            return
        self.job_result = result
        # What reads said before the job ended is about the unit on its way down or up,
        # not about the restarted unit: only a read made after this counts.
        self.active = False
        if result != "done":
            self.fail(f"the restart job ended {result!r}, not 'done'")
        else:
            self._maybe_begin(now)

    def unit_state(self, active_state: str | None, sub_state: str | None,
                   n_restarts: int | None, now: float, invocation: str | None = None
                   ) -> None:
        """A read of the unit (ActiveState, SubState, NRestarts, InvocationID) made at
        ``now``. Call it only with answers read after every earlier observation."""
        self.read_at = now
        if n_restarts is not None:
            if self.n_restarts is not None and n_restarts > self.n_restarts:
                self.fail(f"systemd restarted the unit (NRestarts {self.n_restarts} -> "
                          f"{n_restarts})")
            self.n_restarts = n_restarts
        if sub_state == "auto-restart":
            self.fail("the unit failed and systemd is restarting it (auto-restart)")
        if active_state is None:
            return
        self.active = active_state in ACTIVE_STATES
        if self.active:
            if self.active_at is None:
                self._maybe_begin(now)
                if self.active_at is not None:
                    self.invocation = invocation or None
            elif invocation and self.invocation and invocation != self.invocation:
                self.fail(f"the unit was started again (invocation {self.invocation[:12]} "
                          f"-> {invocation[:12]})")
        elif self.active_at is not None:
            self.fail(f"the unit left active: {active_state}/{sub_state or '?'}")
        # Before that, ``failed`` is no verdict: a restart queued while the unit was still
        # going down from a crash passes through it; the job's result tells.

    def set_containers(self, ids: list[str], with_health_check: list[str]) -> None:
        self.containers = list(ids)
        self.health_checked = [c for c in with_health_check if c in ids]

    def died(self, container_id: str, exit_code: int | None, now: float) -> None:
        """A container of the unit died. Only the new containers count: Podman's events
        come on another stream than systemd's, and the old container's death can arrive
        after the restart job is done."""
        if container_id in self.containers:
            code = "" if exit_code is None else f" (exit code {exit_code})"
            self.fail(f"container {container_id[:12]} died{code}")

    def health_status(self, container_id: str, status: str, now: float) -> None:
        if container_id not in self.containers:
            return
        self.health[container_id] = status
        if status == "unhealthy":
            self.fail(f"container {container_id[:12]} is unhealthy")

    def _maybe_begin(self, now: float) -> None:
        if self.active_at is None and self.job_result == "done" and self.active:
            self.active_at = now

    # -- the verdict
    def verdict(self, now: float) -> Verdict:
        if self.failure is not None:
            return Verdict(FAILED, self.failure)
        if self.passed_at is not None:
            return Verdict(PASSED)
        if self.active_at is None:
            if now - self.begun_at > self.job_timeout:
                what = ("no result of the restart job" if self.job_result is None
                        else "the unit did not become active")
                self.fail(f"{what} within {self.job_timeout:g} s")
                return Verdict(FAILED, self.failure or "")
            return Verdict(PENDING)
        end = self.active_at + self.probation
        if now < end or self.needs_read(now):
            return Verdict(PENDING)
        waiting = [c for c in self.health_checked if self.health.get(c) != "healthy"]
        if waiting:
            if now < end + self.health_grace:
                return Verdict(PENDING)
            status = self.health.get(waiting[0]) or "starting"
            self.fail(f"container {waiting[0][:12]} did not report healthy within "
                      f"{self.probation + self.health_grace:g} s (it is {status!r})")
            return Verdict(FAILED, self.failure or "")
        self.passed_at = now
        return Verdict(PASSED)

    def needs_read(self, now: float) -> bool:
        """The window has closed but no read of the unit was made since: a pass is
        decided on what systemd says at decision time."""
        if self.active_at is None or self.failure is not None:
            return False
        return now >= self.active_at + self.probation and (
            self.read_at is None or self.read_at < self.active_at + self.probation)

    def next_deadline(self, now: float) -> float:
        """When the verdict may change with no new observation."""
        if self.active_at is None:
            return self.begun_at + self.job_timeout
        end = self.active_at + self.probation
        return end if now < end else end + self.health_grace

    # -- persistence
    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Probation:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
