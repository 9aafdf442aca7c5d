"""The restart manager's decisions, kept from events (pure: no I/O; time is passed in).

The plugin feeds the engine container events, unit states and the outcome of the restarts
it performed. The engine keeps one record per container name and answers with effects
(events to publish, user stops to persist). A restart it wants sits in the record as
``pending``; the plugin keeps one timer per pending restart and asks ``begin`` when it
fires, so a restart cancelled meanwhile (by a user stop, a user start, a reset, a removal)
simply finds nothing to do.

How Podman's events read (seen on Podman 4.3.1):

- ``podman stop`` (CLI or REST): ``died`` and two ``cleanup`` events, conmon's and the
  stopper's own. The ``stop`` event is written only when the stopper wins a race with
  conmon's cleanup (libpod's ``c.stop()`` skips it when the state changed meanwhile), so
  it is often missing; when present it may come before or after ``died``. A crash gets
  conmon's ``cleanup`` only.
- ``podman kill``: ``kill``, then ``died`` (137 for SIGKILL).
- ``podman restart`` (and the manager's health restart): ``restart``, (``stop``,)
  ``died``, ``init``, ``start``. Podman's own policy restart: ``died``, then
  ``restart`` ... ``start``.
- A crash: ``died`` alone.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from typing_extensions import TypedDict

from bridge.container_info import UNIT_LABEL
from bridge.contracts import Topic
from bridge.store import JournalEntry
from plugins.restart_manager.backoff import BackoffPolicy, BackoffState
from plugins.restart_manager.crashloop import CrashWindow, UnitRestarts
from plugins.restart_manager.policy import (
    ManagedPolicy,
    managed_policy,
    podman_policy_name,
    restarts_on_unhealthy,
    wants_restart,
)

logger = logging.getLogger(__name__)



# Events the manager publishes, and their data.
class RestartData(TypedDict, total=False):
    """``restart.scheduled|performed|failed|gave_up|cancelled|reset`` of one container."""

    reason: str                 # exit | unhealthy | reset | ...
    exit_code: int | None
    policy: str | None
    attempt: int
    attempts: int
    delay: float
    action: str                 # restart | start
    max_retries: int | None
    error: str


class CrashloopData(TypedDict):
    unit: str | None
    reason: str
    count: int
    threshold: int
    window: float


class BootData(TypedDict):
    """The boot pass: what it started, what failed, what it skipped and why."""

    trigger: str
    boot: str | None            # the time of Podman's refresh event (RFC 3339)
    conservative: bool
    started: list[str]
    failed: dict[str, str]
    skipped: dict[str, str]


class BootEntry(JournalEntry, BootData):
    """A boot pass, as the journal keeps it (kind ``boot``, subject the refresh's time)."""


SCHEDULED = Topic("restart.scheduled", RestartData, owner="restart_manager")
PERFORMED = Topic("restart.performed", RestartData, owner="restart_manager")
FAILED = Topic("restart.failed", RestartData, owner="restart_manager")
GAVE_UP = Topic("restart.gave_up", RestartData, owner="restart_manager")
CANCELLED = Topic("restart.cancelled", RestartData, owner="restart_manager")
CRASHLOOP = Topic("restart.crashloop", CrashloopData, owner="restart_manager")
RESET = Topic("restart.reset", RestartData, owner="restart_manager")
BOOT = Topic("restart.boot", BootData, owner="restart_manager")


@dataclass(frozen=True)
class EngineConfig:
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    crashloop_count: int = 5
    crashloop_window: float = 60.0
    # A died this soon after a kill (or a kill this soon after a died) is the user's doing.
    kill_window: float = 10.0
    # A start event this soon after the manager started a container is the manager's own.
    own_start_window: float = 30.0


class Publish(NamedTuple):
    type: str
    subject: str
    data: dict[str, Any]


class PersistUserStop(NamedTuple):
    """Record (True/False) or forget (None) whether the user stopped container ``cid``."""

    cid: str
    name: str
    stopped: bool | None
    via: str


Effect = Publish | PersistUserStop
Action = Literal["start", "restart"]


@dataclass
class Pending:
    token: int
    due: float
    attempt: int
    delay: float
    reason: str  # exit | unhealthy | start-failed
    action: Action


@dataclass
class Record:
    name: str
    cid: str
    labels: dict[str, str] = field(default_factory=dict)
    podman_policy: str | None = None
    state: str = ""
    last_exit_code: int | None = None
    last_died: float | None = None
    backoff: BackoffState = field(default_factory=BackoffState)
    crash: CrashWindow = field(default_factory=CrashWindow)
    pending: Pending | None = None
    in_flight: Pending | None = None
    own_start_until: float | None = None
    restarting: bool = False  # a restart event was seen, its start not yet
    cleanups: int = 0  # cleanup events since the last died
    kill_at: float | None = None
    user_stopped: bool = False
    gave_up: bool = False

    @property
    def unit(self) -> str | None:
        return self.labels.get(UNIT_LABEL) or None

    @property
    def managed(self) -> ManagedPolicy | None:
        return managed_policy(self.labels)

    @property
    def conflict(self) -> str | None:
        """Why the manager leaves the label alone, if it does."""
        if self.managed is None:
            return None
        if self.unit:
            return f"run by the systemd unit {self.unit}"
        podman = podman_policy_name(self.podman_policy)
        if podman != "no":
            return f"Podman's own restart policy {self.podman_policy} applies"
        return None

    @property
    def managed_active(self) -> ManagedPolicy | None:
        return self.managed if self.conflict is None else None


@dataclass
class UnitTrack:
    restarts: UnitRestarts
    crash: CrashWindow


class Engine:
    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self.records: dict[str, Record] = {}
        self.unit_containers: dict[str, str] = {}  # unit -> container name
        self.units: dict[str, UnitTrack] = {}
        self._tokens = itertools.count(1)

    # -- records
    def _window(self) -> CrashWindow:
        return CrashWindow(self.config.crashloop_count, self.config.crashloop_window)

    def record(self, name: str, cid: str = "", labels: dict[str, str] | None = None
               ) -> Record:
        """The record of ``name``; a new one when ``cid`` names another container."""
        rec = self.records.get(name)
        if rec is None or (cid and rec.cid and rec.cid != cid):
            rec = Record(name, cid, dict(labels or {}), crash=self._window())
            self.records[name] = rec
        else:
            if cid and not rec.cid:
                rec.cid = cid
            if labels:
                rec.labels = dict(labels)
        if rec.unit:
            self.unit_containers[rec.unit] = name
        return rec

    def note_unit(self, unit: str, container: str) -> None:
        self.unit_containers[unit] = container

    def set_podman_policy(self, name: str, policy: str | None) -> None:
        rec = self.records.get(name)
        if rec is not None and policy is not None:
            rec.podman_policy = policy

    # -- container events
    def on_container(self, action: str, name: str, data: Mapping[str, Any], now: float
                     ) -> list[Effect]:
        cid = str(data.get("id") or "")
        if action == "remove":
            return self._on_remove(name, cid)
        if action == "rename":
            self._on_rename(name, cid)
            return []
        rec = self.record(name, cid, data.get("labels") or None)
        if action == "create":
            rec.state = "created"
            return []
        if action == "start":
            return self._on_start(rec, now)
        if action == "restart":
            rec.restarting = True
            rec.kill_at = None
            return self._clear_user_stop(rec, "restart")
        if action == "stop":
            if rec.restarting or rec.in_flight is not None:
                return []  # the stop half of a restart (the REST API's writes one)
            return self._user_stop(rec, "stop")
        if action == "kill":
            rec.kill_at = now
            if (rec.state == "exited" and not rec.restarting and rec.last_died is not None
                    and now - rec.last_died <= self.config.kill_window):
                return self._user_stop(rec, "kill")  # the died came first
            return []
        if action == "died":
            return self._on_died(rec, data.get("exit_code"), now)
        if action == "cleanup":
            rec.cleanups += 1
            if (rec.state == "exited" and not rec.restarting and rec.in_flight is None
                    and rec.cleanups >= 2):
                return self._user_stop(rec, "stop")  # the stopper's own cleanup
            return []
        if action == "health_status":
            return self._on_health(rec, data.get("health"), now)
        return []

    def _on_remove(self, name: str, cid: str) -> list[Effect]:
        rec = self.records.get(name)
        if rec is not None and (not cid or not rec.cid or rec.cid == cid):
            del self.records[name]
        return [PersistUserStop(cid, name, None, "remove")] if cid else []

    def _on_rename(self, name: str, cid: str) -> None:
        for old, rec in list(self.records.items()):
            if cid and rec.cid == cid and old != name:
                del self.records[old]
                rec.name = name
                self.records[name] = rec
                if rec.unit:
                    self.unit_containers[rec.unit] = name

    def _clear_user_stop(self, rec: Record, via: str) -> list[Effect]:
        # Persisted even when memory says so already: the store may hold a stop from
        # before a bridge restart.
        rec.user_stopped = False
        return [PersistUserStop(rec.cid, rec.name, False, via)]

    def _cancel(self, rec: Record, reason: str) -> list[Effect]:
        if rec.pending is None:
            return []
        pending, rec.pending = rec.pending, None
        return [Publish(CANCELLED, rec.name, {"attempt": pending.attempt, "reason": reason})]

    def _user_stop(self, rec: Record, via: str) -> list[Effect]:
        rec.kill_at = None
        effects = self._cancel(rec, f"user-{via}")
        if not rec.user_stopped:
            rec.user_stopped = True
            effects.append(PersistUserStop(rec.cid, rec.name, True, via))
        return effects

    def _on_start(self, rec: Record, now: float) -> list[Effect]:
        was_restarting, rec.restarting = rec.restarting, False
        rec.state = "running"
        rec.kill_at = None
        own = rec.own_start_until is not None and now <= rec.own_start_until
        if own:
            rec.own_start_until = None
        effects = self._clear_user_stop(rec, "start")
        rec.backoff.started(now)
        if not own and not was_restarting:
            # Someone else started it: like Podman resetting RestartCount at a user start,
            # this is a fresh run.
            rec.backoff.reset()
            rec.gave_up = False
            effects += self._cancel(rec, "started")
        return effects

    def _on_died(self, rec: Record, exit_code: int | None, now: float) -> list[Effect]:
        rec.state = "exited"
        rec.last_exit_code = exit_code
        rec.last_died = now
        rec.cleanups = 0
        if rec.restarting or (rec.in_flight is not None and rec.in_flight.action == "restart"):
            return []  # the stop half of a restart
        if rec.user_stopped:
            return self._cancel(rec, "user-stop")
        if rec.kill_at is not None and now - rec.kill_at <= self.config.kill_window:
            return self._user_stop(rec, "kill")
        rec.kill_at = None
        # Nothing is persisted: a user stop may still show (a late stop event or cleanup).
        effects: list[Effect] = []
        if rec.unit is None and rec.crash.record(now):
            effects.append(self._crashloop_event(rec.name, None, rec.crash, "deaths"))
        managed = rec.managed_active
        if managed is None:
            return effects
        if not wants_restart(managed, exit_code):
            rec.backoff.reset()
            return effects
        return effects + self._schedule(rec, now, "exit", "start")

    def _on_health(self, rec: Record, health: str | None, now: float) -> list[Effect]:
        if health != "unhealthy" or rec.unit or not restarts_on_unhealthy(rec.labels):
            return []
        if rec.state not in ("running", ""):
            return []
        return self._schedule(rec, now, "unhealthy", "restart")

    def _schedule(self, rec: Record, now: float, reason: str, action: Action) -> list[Effect]:
        if rec.pending is not None or rec.in_flight is not None:
            return []
        managed = rec.managed_active
        limit = managed.max_retries if managed is not None and reason != "unhealthy" else 0
        decision = rec.backoff.next(self.config.backoff, now, limit)
        base = {"reason": reason, "exit_code": rec.last_exit_code,
                "policy": str(managed) if managed else None}
        if decision.kind == "give_up":
            rec.gave_up = True
            return [Publish(GAVE_UP, rec.name, {**base, "attempts": decision.attempt})]
        rec.pending = Pending(next(self._tokens), now + decision.delay, decision.attempt,
                              decision.delay, reason, action)
        return [Publish(SCHEDULED, rec.name, {**base, "attempt": decision.attempt,
                                              "delay": decision.delay, "action": action,
                                              "max_retries": limit or None})]

    def _crashloop_event(self, name: str, unit: str | None, window: CrashWindow,
                         reason: str) -> Publish:
        logger.warning("%s is crash-looping (%s)", name, reason)
        return Publish(CRASHLOOP, name, {"unit": unit, "reason": reason,
                                         "count": len(window.deaths),
                                         "threshold": window.count, "window": window.window})

    # -- unit events
    def on_unit_state(self, unit: str, data: Mapping[str, Any], now: float) -> list[Effect]:
        container = self.unit_containers.get(unit)
        if container is None:
            return []
        track = self.units.get(unit)
        if track is None:
            track = self.units[unit] = UnitTrack(UnitRestarts(), self._window())
        restarts = track.restarts.sample(data.get("n_restarts"))
        started = restarts > 0 and track.crash.record(now, restarts)
        if data.get("result") == "start-limit-hit" and data.get("active_state") == "failed":
            if track.crash.force(now):
                return [self._crashloop_event(container, unit, track.crash, "start-limit-hit")]
        if started:
            return [self._crashloop_event(container, unit, track.crash, "n-restarts")]
        return []

    # -- the restarts the plugin performs
    def expect_start(self, name: str, now: float) -> None:
        """The plugin is about to start ``name`` itself (boot pass)."""
        self.record(name).own_start_until = now + self.config.own_start_window

    def begin(self, name: str, token: int, now: float) -> Pending | None:
        """A timer fired: the restart to perform now, or None if it was called off."""
        rec = self.records.get(name)
        if rec is None or rec.pending is None or rec.pending.token != token:
            return None
        rec.in_flight, rec.pending = rec.pending, None
        rec.own_start_until = now + self.config.own_start_window
        return rec.in_flight

    def finish(self, name: str, token: int, now: float, error: str | None = None
               ) -> list[Effect]:
        rec = self.records.get(name)
        if rec is None or rec.in_flight is None or rec.in_flight.token != token:
            return []
        done, rec.in_flight = rec.in_flight, None
        data = {"attempt": done.attempt, "delay": done.delay, "reason": done.reason,
                "action": done.action}
        if error is None:
            return [Publish(PERFORMED, name, data)]
        rec.own_start_until = None
        effects: list[Effect] = [Publish(FAILED, name, {**data, "error": error})]
        if done.reason == "unhealthy" or rec.managed_active is not None:
            effects += self._schedule(rec, now, done.reason, done.action)
        return effects

    def reset(self, name: str) -> list[Effect]:
        rec = self.records.get(name)
        if rec is None:
            rec = self.record(name)
        effects = self._cancel(rec, "reset")
        rec.backoff.reset()
        rec.crash.reset()
        rec.gave_up = False
        if rec.unit and rec.unit in self.units:
            self.units[rec.unit].crash.reset()
        return [*effects, Publish(RESET, name, {})]

    # -- status
    def crashlooping(self, name: str, now: float) -> bool:
        rec = self.records.get(name)
        if rec is None:
            return False
        if rec.unit and rec.unit in self.units:
            return self.units[rec.unit].crash.active(now)
        return rec.crash.active(now)

    def status(self, name: str, now: float) -> dict[str, Any]:
        """The engine's part of ``restart.status`` for one container (times relative to
        ``now``: ``next_in`` seconds)."""
        rec = self.records.get(name)
        if rec is None:
            return {"restart_count": 0, "last_exit_code": None, "next_in": None,
                    "crashloop": False, "gave_up": False, "pending_reason": None,
                    "recent_deaths": 0}
        pending = rec.pending
        return {
            "restart_count": rec.backoff.attempts,
            "last_exit_code": rec.last_exit_code,
            "next_in": max(0.0, pending.due - now) if pending else None,
            "pending_reason": pending.reason if pending else None,
            "crashloop": self.crashlooping(name, now),
            "gave_up": rec.gave_up,
            "recent_deaths": rec.crash.recent(now),
        }


def user_stop_in_record(written: list[dict[str, Any]], died_ns: int, kill_window: float
                        ) -> str | None:
    """Whether Podman's own record of a container's events (``written``: the raw events
    of one container, as ``GET /events?stream=false`` answers) shows that the death at
    ``died_ns`` was a user's stop or kill: ``"stop"`` for a ``stop`` event or the stopper's
    second ``cleanup`` after it, ``"kill"`` for a ``kill`` at most ``kill_window`` seconds
    before it, else None (a crash, as far as Podman has written so far)."""
    seen: set[tuple[Any, ...]] = set()
    events: list[tuple[int, str]] = []
    for raw in written:
        action = str(raw.get("Action") or raw.get("status") or "")
        at = int(raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000)
        key = (at, action, (raw.get("Actor") or {}).get("ID"))
        if key in seen:  # a reader of a rotating log may be handed a line twice
            continue
        seen.add(key)
        events.append((at, action))
    events.sort()
    deaths = [at for at, action in events if action == "died" and at >= died_ns]
    if not deaths:
        return None
    death = deaths[0]
    window_ns = int(kill_window * 1_000_000_000)
    if any(action == "kill" and death - window_ns <= at <= death for at, action in events):
        return "kill"
    after = [action for at, action in events if at >= death]
    if "restart" in after or "start" in after:
        return None  # restarted or started since: not a death waiting for a restart
    if "stop" in after or after.count("cleanup") >= 2:
        return "stop"
    return None
