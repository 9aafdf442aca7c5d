"""The boot pass: after a reboot, start what Podman 4.3 leaves stopped (thin I/O).

Which containers to start is :func:`policy.boot_decision`; this module reads Podman, reads
the user stops the manager recorded, starts the chosen containers a few at a time and says
what it did. Which boot a pass belongs to is Podman's ``refresh`` event (the first event
after a reboot): its time is the boot's marker, kept in the store so that a bridge restart
within the same boot does not start again what a user stopped since.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.container_info import restart_policy
from bridge.errors import BridgeError
from bridge.events import iso_from_ns
from bridge.podman import PodmanClient
from bridge.tasks import within
from plugins.restart_manager.engine import BootData
from plugins.restart_manager.policy import BootCandidate, BootDecision, boot_decision
from plugins.restart_manager.userstops import UserStops

logger = logging.getLogger(__name__)

START_CONCURRENCY = 4


@dataclass
class BootReport:
    trigger: str  # start | refresh
    boot: str | None  # the marker: time of Podman's refresh event
    conservative: bool
    started: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> BootData:
        return {"trigger": self.trigger, "boot": self.boot, "conservative": self.conservative,
                "started": sorted(self.started), "failed": self.failed,
                "skipped": dict(sorted(self.skipped.items()))}


async def refresh_marker(podman: PodmanClient, timeout: float = 10) -> str | None:
    """The time of Podman's newest ``refresh`` event (RFC 3339, as the bus writes event
    times), or None when its event log no longer holds one."""
    events = await podman.events_written(
        None, filters={"type": ["system"], "event": ["refresh"]}, timeout=timeout,
        what="refresh events")
    newest = max((int(e.get("timeNano") or 0) for e in events if e.get("Action") == "refresh"),
                 default=0)
    return iso_from_ns(newest) if newest else None


def started_before(entry: dict[str, Any]) -> bool:
    """From a ``containers/json`` entry: did it ever start? (Unix seconds; Go's zero time
    is a large negative number.)"""
    started = entry.get("StartedAt")
    return isinstance(started, int | float) and started > 0


class BootPass:
    def __init__(self, podman: PodmanClient, user_stops: UserStops,
                 before_start: Callable[[str], None], action_timeout: float = 120) -> None:
        self.podman = podman
        self.user_stops = user_stops
        self.before_start = before_start
        self.action_timeout = action_timeout

    async def candidates(self) -> list[BootCandidate]:
        listed = await self.podman.containers(all=True)
        out = []
        for entry in listed:
            name = (entry.get("Names") or [entry.get("Id", "")])[0]
            labels = entry.get("Labels") or {}
            state = str(entry.get("State") or "")
            policy: str | None = None
            if state not in ("running", "paused") and started_before(entry):
                try:
                    info = await self.podman.inspect_container(entry["Id"])
                except BridgeError as exc:
                    logger.info("boot pass: cannot inspect %s: %s", name, exc)
                    continue
                policy = restart_policy(info)
            exited_at = entry.get("ExitedAt")
            out.append(BootCandidate(
                name=name, state=state, started_before=started_before(entry),
                podman_policy=policy, labels=labels,
                user_stopped=self.user_stops.stopped(
                    entry.get("Id", ""), exited_at if isinstance(exited_at, int) else None)))
        return out

    async def run(self, trigger: str, boot: str | None, conservative: bool) -> BootReport:
        report = BootReport(trigger, boot, conservative)
        chosen: list[str] = []
        for cand in await self.candidates():
            decision: BootDecision = boot_decision(cand, conservative=conservative)
            if decision.start:
                chosen.append(cand.name)
            else:
                report.skipped[cand.name] = decision.reason
        sem = asyncio.Semaphore(START_CONCURRENCY)

        async def start(name: str) -> None:
            async with sem:
                self.before_start(name)
                try:
                    await within(self.podman.start_container(name),
                                 self.action_timeout)
                except (BridgeError, TimeoutError) as exc:
                    logger.warning("boot pass: cannot start %s: %s", name, exc)
                    report.failed[name] = str(exc) or type(exc).__name__
                else:
                    report.started.append(name)

        await asyncio.gather(*(start(n) for n in chosen))
        logger.info("boot pass (%s, boot %s): started %s, failed %s", trigger, boot,
                    sorted(report.started), sorted(report.failed))
        return report
