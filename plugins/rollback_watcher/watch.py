"""Judging one restart for real: bus events and polls of systemd and Podman feed a Probation
until it gives a verdict.

Events make it quick, reads make it right. ``job.done`` gives the job's result (systemd's
own word on the job); a ``unit.state`` of the unit only asks for a read at once. What the
unit *is* comes from reads alone: ActiveState/SubState/NRestarts/InvocationID/Job over
D-Bus, one at a time, every ``poll_interval`` and whenever a signal says something changed.
A read whose request was sent before the job's result arrived is thrown away and made again
(under load the reply and the signals around it are handled in any order). The containers'
``container.died`` and ``container.health_status`` count directly: they name the new
containers only. An inspect of each new container at every poll catches a missed event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from bridge import faults
from bridge.bus import Subscription
from bridge.container_info import UNIT_LABEL, has_healthcheck, health_status
from bridge.errors import BridgeError, NotFound
from bridge.events import JOB_DONE, UNIT_STATE, Event
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient
from bridge.tasks import within
from bridge.updates import AUTOUPDATE_FAILED, AUTOUPDATE_UPDATED
from plugins.rollback_watcher.verdict import Probation, Verdict, probation_from_labels

logger = logging.getLogger(__name__)

# What a watch listens to on the bus. Created before the restart, so nothing is missed.
PATTERNS = (JOB_DONE, UNIT_STATE, "container.died", "container.health_status",
            AUTOUPDATE_UPDATED, AUTOUPDATE_FAILED)

Clock = Callable[[], float]


class WatchEnded(Exception):
    """The watch's subscription was closed under it: whoever closed it ends the watch."""


def _hex(value: Any) -> str:
    """systemd's InvocationID (``ay``, 16 bytes) as the hex string journalctl shows."""
    if isinstance(value, bytes | bytearray):
        return value.hex()
    if isinstance(value, list):
        return bytes(int(b) & 0xFF for b in value).hex()
    return str(value or "")


class Judge:
    """Runs one Probation to its verdict. ``save`` is called whenever its state changed."""

    def __init__(self, unit: str, probation: Probation, sub: Subscription, *,
                 podman: PodmanClient, systemd: SystemdClient,
                 save: Callable[[], None], clock: Clock = time.time,
                 poll_interval: float = 1.0, probation_fixed: bool = False,
                 infer_job: bool = False, run: str = "", job: str = "") -> None:
        self.unit = unit
        self.p = probation
        self.sub = sub
        self.podman = podman
        self.systemd = systemd
        self._save = save
        self.clock = clock
        self.poll_interval = poll_interval
        self.probation_fixed = probation_fixed
        # A resumed watch may have missed the job's JobRemoved: with no job pending, the
        # unit's state then stands for the result.
        self.infer_job = infer_job
        self.run = run
        self.job = job      # when known, only this job's end counts
        # What an auto-update run said about this unit after its restart (if anything).
        self.autoupdate_result: str | None = None
        self._last_saved = ""
        self._read_now = False      # a signal said the unit changed: read it at once

    def save(self) -> None:
        now = json.dumps(self.p.to_json(), sort_keys=True)
        if now != self._last_saved:
            self._last_saved = now
            self._save()

    async def verdict(self) -> Verdict:
        loop = asyncio.get_running_loop()
        next_poll = 0.0
        while True:
            self._drain()
            now = self.clock()
            if loop.time() >= next_poll or self._read_now or self.p.needs_read(now):
                self._read_now = False
                await self.poll()
                next_poll = loop.time() + self.poll_interval
                now = self.clock()
            verdict = self.p.verdict(now)
            self.save()
            if verdict.done:
                return verdict
            # A signal asked for a read: soon, but at most every 50 ms (a unit looping
            # through restarts sends signals without pause).
            wait = 0.05 if self._read_now else max(
                0.01, min(next_poll - loop.time(), self.p.next_deadline(now) - now))
            try:
                item = await within(self.sub.next(), wait)
            except TimeoutError:
                continue
            if item is None:
                raise WatchEnded(f"{self.unit}: the watch's subscription was closed")
            self.on_event(item[0])

    def _drain(self) -> None:
        item = self.sub.get_nowait()
        while item is not None:
            self.on_event(item[0])
            item = self.sub.get_nowait()

    # -- events
    def on_event(self, ev: Event) -> None:
        data = ev.data
        now = self.clock()
        if ev.subject == self.unit or data.get("id") in self.p.containers:
            logger.debug("%s: %s %s", self.unit, ev.type, data)
        if ev.type == "job.done":
            if (data.get("unit") == self.unit and self.p.job_result is None
                    and (not self.job or data.get("job") == self.job)):
                logger.info("%s: restart job %s", self.unit, data.get("result"))
                self.p.job_done(str(data.get("result")), now)
                self._read_now = True
        elif ev.type == "unit.state":
            if ev.subject == self.unit:
                self._read_now = True
        elif ev.type == "container.died":
            if data.get("id") in self.p.containers:
                self.p.died(str(data["id"]), data.get("exit_code"), now)
        elif ev.type == "container.health_status":
            if data.get("id") in self.p.containers and data.get("health"):
                self.p.health_status(str(data["id"]), str(data["health"]), now)
        elif ev.type.startswith("autoupdate.") and ev.subject == self.unit:
            if not self.run or data.get("run") in ("", None, self.run):
                self.autoupdate_result = str(data.get("result") or "")

    # -- polls
    async def poll(self) -> None:
        try:
            await self._poll_unit()
            if self.p.active_at is not None:
                if not self.p.containers:
                    await self._discover()
                else:
                    await self._poll_containers()
        except BridgeError as exc:
            logger.warning("%s: poll failed: %s", self.unit, exc)

    async def _poll_unit(self) -> None:
        for _ in range(5):
            job_before = self.p.job_result
            props = await self.systemd.unit_properties(self.unit)
            # Signals queued while the reply was awaited are handled first: a job result
            # among them makes this read older than the job's end, so it is read again.
            self._drain()
            if self.p.job_result == job_before or self.p.failure is not None:
                break
            logger.debug("%s: the job ended during a read; reading again", self.unit)
        else:
            return
        self._read_now = False
        now = self.clock()
        active, sub = props.get("ActiveState"), props.get("SubState")
        job = props.get("Job") or (0, "/")
        invocation = _hex(props.get("InvocationID"))
        logger.debug("%s: read: %s/%s NRestarts=%s job=%s invocation=%s", self.unit, active,
                     sub, props.get("NRestarts"), job, invocation[:12])
        if self.infer_job and self.p.job_result is None and not job[0]:
            # Nothing pending: the job ended while we were away.
            self.p.job_done("done" if active == "active" else f"unknown ({active}/{sub})",
                            now)
        began = self.p.active_at
        self.p.unit_state(active, sub, props.get("NRestarts"), now, invocation)
        if began is None and self.p.active_at is not None:
            self.save()
            faults.point("rollback.mid_probation")

    async def _discover(self) -> None:
        """The unit's new containers: running, labelled with the unit."""
        rows = await self.podman.containers(
            all=False, filters={"label": [f"{UNIT_LABEL}={self.unit}"]})
        ids, with_health = [], []
        infos: dict[str, dict[str, Any]] = {}
        for row in rows:
            cid = str(row.get("Id") or "")
            try:
                info = infos[cid] = await self.podman.inspect_container(cid)
            except NotFound:
                continue
            ids.append(cid)
            config = info.get("Config") or {}
            if has_healthcheck(info):
                with_health.append(cid)
            if not self.probation_fixed:
                wanted = probation_from_labels(config.get("Labels"))
                if wanted is not None:
                    self.p.probation = wanted
        if ids:
            logger.info("%s: watching containers %s (health checks: %s), probation %g s",
                        self.unit, [i[:12] for i in ids], [i[:12] for i in with_health],
                        self.p.probation)
            self.p.set_containers(ids, with_health)
            for cid in ids:
                self._feed_inspect(cid, infos[cid])

    async def _poll_containers(self) -> None:
        for cid in list(self.p.containers):
            try:
                info = await self.podman.inspect_container(cid)
            except NotFound:
                self.p.died(cid, None, self.clock())
                continue
            self._feed_inspect(cid, info)

    def _feed_inspect(self, cid: str, info: dict[str, Any]) -> None:
        state = info.get("State") or {}
        now = self.clock()
        if cid in self.p.containers and state.get("Status") not in ("running", None):
            self.p.died(cid, state.get("ExitCode"), now)
        status = health_status(info)
        if status and cid in self.p.containers:
            self.p.health_status(cid, status, now)

    async def wait_autoupdate(self, timeout: float) -> str | None:
        """Wait (at most ``timeout``) for the auto-update run's own word on this unit (its
        result; None if it said nothing)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.autoupdate_result is None and loop.time() < deadline:
            try:
                item = await within(self.sub.next(), deadline - loop.time())
            except TimeoutError:
                break
            if item is None:
                break
            self.on_event(item[0])
        return self.autoupdate_result
