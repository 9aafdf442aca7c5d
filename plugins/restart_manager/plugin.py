"""The restart manager plugin: wires the engine and the boot pass to the bridge (thin I/O).

One task reads container events, Podman's ``system.refresh`` and ``unit.state`` from the
bus, in order, and feeds them to the :class:`Engine`; its effects are published and
persisted here, and each restart it wants gets one timer task. Boot passes run at plugin
start and at every ``system.refresh``, one at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from bridge.backoff import Backoff, retrying
from bridge.bus import Subscription
from bridge.container_info import restart_policy
from bridge.errors import BridgeError, NotFound
from bridge.events import Event, iso_from_ns, ns_from_iso
from bridge.methods import method
from bridge.plugin import PluginConfig, PluginContext
from bridge.store import Journal, Records
from bridge.tasks import within
from plugins.restart_manager.backoff import BackoffPolicy
from plugins.restart_manager.boot import BootPass, refresh_marker
from plugins.restart_manager.engine import (
    BOOT,
    BootData,
    BootEntry,
    Effect,
    Engine,
    EngineConfig,
    Publish,
    user_stop_in_record,
)
from plugins.restart_manager.status import ResetParams, StatusParams, status_row
from plugins.restart_manager.userstops import UserStops

logger = logging.getLogger(__name__)

TOPICS = ("container.*", "system.refresh", "unit.state")
BOOT_KEY = "boot"
INSPECT_TIMEOUT = 10.0


class RestartManagerConfig(PluginConfig):
    # Start always/unless-stopped containers after a reboot.
    boot_restart: bool = Field(default=True)
    # Backoff: first delay, cap, and the uptime after which it starts over (seconds).
    base_delay: float = Field(default=1.0, gt=0)
    max_delay: float = Field(default=300.0, gt=0)
    reset_after: float = Field(default=600.0, ge=0)
    # A crash loop: this many deaths within this many seconds.
    crashloop_count: int = Field(default=5, ge=1)
    crashloop_window: float = Field(default=60.0, gt=0)
    # A died this soon after a kill (or a kill this soon after a died) is the user's stop.
    kill_window: float = Field(default=10.0, ge=0)
    # Timeout of one start or restart call.
    action_timeout: float = Field(default=120.0, gt=0)


class RestartManagerPlugin:
    name = "restart_manager"
    Config = RestartManagerConfig

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        cfg: RestartManagerConfig = ctx.config
        self._config = cfg
        self._sub: Subscription | None = None
        self._timers: dict[tuple[str, int], asyncio.Task[Any]] = {}
        self._boot_lock = asyncio.Lock()
        self.engine = Engine(EngineConfig(
            backoff=BackoffPolicy(cfg.base_delay, cfg.max_delay, cfg.reset_after),
            crashloop_count=cfg.crashloop_count, crashloop_window=cfg.crashloop_window,
            kill_window=cfg.kill_window))
        # Podman's time (ns) of each container's last death, by container ID.
        self._deaths: dict[str, int] = {}
        self.user_stops = UserStops(ctx.store, ctx.name)
        # Key ``boot``: the refresh event (its time) whose boot pass was made.
        self.boot_marker = Records(ctx.store, ctx.name, str)
        # The journal: each boot pass (kind ``boot``); the ``restart.gave_up`` and
        # ``restart.crashloop`` events' data (RestartData, CrashloopData), by their type.
        self.boots = Journal(ctx.store, ctx.name, BootData, BootEntry)

    async def start(self, ctx: PluginContext) -> None:
        for c in ctx.state.containers.values():
            if c.get("unit"):
                self.engine.note_unit(c["unit"], c["name"])
        # Subscribe before anything can happen that we should hear of.
        self._sub = ctx.subscribe(TOPICS, maxsize=50_000)
        ctx.create_task(self._consume(self._sub), name="restart_manager/events")
        if self._config.boot_restart:
            ctx.create_task(self._boot("start", None), name="restart_manager/boot")

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
            self._sub = None
        for task in self._timers.values():
            task.cancel()
        self._timers.clear()

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # -- events in
    async def _consume(self, sub: Subscription) -> None:
        async for event in sub.events():
            try:
                await self.do_event(event)
            except BridgeError as exc:
                logger.warning("restart manager: %s: %s", event.type, exc)

    async def do_event(self, event: Event) -> None:
        if event.type == "system.refresh":
            if self._config.boot_restart:
                marker = event.data.get("time") or event.time
                self.ctx.create_task(self._boot("refresh", marker),
                                     name="restart_manager/boot")
            return
        if event.type == "unit.state":
            self._apply(self.engine.on_unit_state(event.subject, event.data, self._now()))
            return
        action = event.type.removeprefix("container.")
        data = event.data
        if action not in ("remove", "rename"):
            await self._learn_policy(event.subject, data)
        if action == "died" and data.get("id") and (died := ns_from_iso(event.time)):
            self._deaths[str(data["id"])] = died
        elif action == "remove":
            self._deaths.pop(str(data.get("id") or ""), None)
        if action in ("died", "cleanup") and await self._stopped_by_user(data):
            # What a stop event would have said (Podman 5 writes none): before the died,
            # and again at the cleanup that follows (a restart scheduled meanwhile, when
            # the first look came too late, is cancelled).
            self._apply(self.engine.on_container("stop", event.subject, data, self._now()))
        self._apply(self.engine.on_container(action, event.subject, data, self._now()))

    async def _stopped_by_user(self, data: Mapping[str, Any]) -> bool:
        """A died that a user's stop or kill caused, as the container's inspect tells where
        Podman keeps that (bridge.podman_compat.inspect_shows_stopped_by_user)."""
        cid = str(data.get("id") or "")
        if not cid:
            return False
        try:
            compat = await self.ctx.podman.compat()
            if not compat.inspect_shows_stopped_by_user:
                return False
            info = await within(self.ctx.podman.inspect_container(cid),
                                INSPECT_TIMEOUT)
        except (BridgeError, TimeoutError) as exc:
            logger.debug("cannot tell whether a user stopped %s: %s", cid, exc)
            return False
        return bool((info.get("State") or {}).get("StoppedByUser"))

    async def _late_user_stop(self, name: str, token: int) -> str | None:
        """Before a restart after a death is performed: did a user stop or kill the
        container, as Podman answers now? The events that tell it on Podman 4 (a ``stop``,
        the stopper's own ``cleanup``) are written by the stopper and may reach the
        stream after the restart is due on a busy machine; so the decision reads
        Podman's state (``StoppedByUser`` on Podman 5, a stop under way) and Podman's
        own record of the container's events since the death, not the order in which
        the stream happened to bring them. "stop", "kill" or None."""
        rec = self.engine.records.get(name)
        if (rec is None or rec.pending is None or rec.pending.token != token
                or rec.pending.reason != "exit" or not rec.cid):
            return None
        cid = rec.cid
        try:
            compat = await self.ctx.podman.compat()
            info = await within(self.ctx.podman.inspect_container(cid),
                                INSPECT_TIMEOUT)
            state = info.get("State") or {}
            if state.get("StoppedByUser") or state.get("Status") == "stopping":
                return "stop"
            died = self._deaths.get(cid)
            if compat.inspect_shows_stopped_by_user or died is None:
                return None
            window = self._config.kill_window
            written = await self.ctx.podman.events_written(
                since=iso_from_ns(max(0, died - int((window + 1) * 1_000_000_000))),
                filters={"type": ["container"], "container": [cid]},
                timeout=INSPECT_TIMEOUT)
        except (BridgeError, TimeoutError) as exc:
            logger.debug("cannot tell whether a user stopped %s: %s", name, exc)
            return None
        return user_stop_in_record(written, died, window)

    async def _learn_policy(self, name: str, data: Mapping[str, Any]) -> None:
        """Podman's restart policy of a container, which events do not carry: from the
        live model, else (only when a decision hangs on it) from an inspect."""
        rec = self.engine.record(name, str(data.get("id") or ""), data.get("labels") or None)
        live = self.ctx.state.find_container(rec.cid or name)
        if live is not None and live.get("restart_policy"):
            rec.podman_policy = live["restart_policy"]
        if rec.podman_policy is None and rec.managed is not None and rec.cid:
            try:
                info = await within(
                    self.ctx.podman.inspect_container(rec.cid), INSPECT_TIMEOUT)
            except (BridgeError, TimeoutError) as exc:
                logger.debug("cannot inspect %s: %s", name, exc)
                return
            rec.podman_policy = restart_policy(info)

    # -- effects out
    def _apply(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Publish):
                self.ctx.publish(effect.type, effect.subject, effect.data)
                if effect.type in ("restart.gave_up", "restart.crashloop"):
                    self.ctx.store.append(self.ctx.name, effect.type, effect.subject,
                                          effect.data)
            elif effect.stopped is None:
                self.user_stops.forget(effect.cid)
            else:
                self.user_stops.record(effect.cid, effect.name, effect.stopped, effect.via)
        self._sync_timers()

    def _sync_timers(self) -> None:
        wanted = {(name, rec.pending.token): rec.pending.due
                  for name, rec in self.engine.records.items() if rec.pending is not None}
        for key in [k for k in self._timers if k not in wanted]:
            self._timers.pop(key).cancel()
        for key, due in wanted.items():
            if key not in self._timers:
                self._timers[key] = self.ctx.create_task(
                    self._fire(key, due), name=f"restart_manager/timer/{key[0]}")

    async def _fire(self, key: tuple[str, int], due: float) -> None:
        await asyncio.sleep(max(0.0, due - self._now()))
        name, token = key
        via = await self._late_user_stop(name, token)
        if via is not None:
            rec = self.engine.records.get(name)
            logger.info("%s: a user's %s, as Podman tells at decision time: no restart",
                        name, via)
            if rec is not None:
                self._apply(self.engine.on_container(via, name, {"id": rec.cid},
                                                     self._now()))
        # Off the timer table first: from here on, the restart is no longer cancellable.
        self._timers.pop(key, None)
        pending = self.engine.begin(name, token, self._now())
        if pending is None:
            return
        error: str | None = None
        timeout = self._config.action_timeout
        podman = self.ctx.podman
        act = podman.start_container if pending.action == "start" else podman.restart_container
        try:
            await within(act(name), timeout)
        except (BridgeError, TimeoutError) as exc:
            error = str(exc) or type(exc).__name__
            logger.warning("%s of %s failed: %s", pending.action, name, error)
        self._apply(self.engine.finish(name, token, self._now(), error))

    # -- boot
    async def _boot(self, trigger: str, marker: str | None) -> None:
        def failed(exc: Exception, backoff: Backoff) -> None:
            log = logger.warning if backoff.attempt == 1 else logger.debug
            log("boot pass (%s) failed, retrying: %s", trigger, exc)

        async with self._boot_lock:
            await retrying(lambda: self._boot_once(trigger, marker), Backoff(0.5, 30.0),
                           failed, (BridgeError, OSError, TimeoutError))

    async def _boot_once(self, trigger: str, marker: str | None) -> None:
        ctx = self.ctx
        if marker is None:
            marker = await refresh_marker(ctx.podman)
        handled = self.boot_marker.get(BOOT_KEY)
        if marker is not None and marker == handled:
            logger.info("boot %s was handled already; no boot pass", marker)
            return
        conservative = marker is None
        boot = BootPass(ctx.podman, self.user_stops,
                        lambda name: self.engine.expect_start(name, self._now()),
                        self._config.action_timeout)
        report = await boot.run(trigger, marker, conservative)
        if marker is not None:
            self.boot_marker.put(BOOT_KEY, marker)
        data = report.to_json()
        self.boots.append("boot", marker or "", data)
        ctx.publish(BOOT, "boot", data)
        listed = await ctx.podman.containers(all=True)
        self.user_stops.prune({c.get("Id", "") for c in listed})

    # -- methods
    def _known(self, ref: str) -> tuple[dict[str, Any] | None, str]:
        """The live record (if any) and the name of a container the model or the engine
        knows; NotFound else."""
        live = self.ctx.state.find_container(ref)
        name = live["name"] if live else ref
        if live is None and name not in self.engine.records:
            raise NotFound(f"no container {ref!r}")
        return live, name

    @method("restart.status", StatusParams, role="viewer", readonly=True,
            description="restart policy, restart count, last exit code, next attempt and "
                        "crash-loop flag, per container")
    async def do_status(self, params: StatusParams) -> Any:
        now = self._now()
        if params.name is not None:
            live, name = self._known(params.name)
            return status_row(live, name, self.engine, self.user_stops, now)
        rows = {c["name"]: status_row(c, c["name"], self.engine, self.user_stops, now)
                for c in self.ctx.state.containers.values()}
        for name in self.engine.records:
            if name not in rows:
                rows[name] = status_row(None, name, self.engine, self.user_stops, now)
        return {"containers": [rows[n] for n in sorted(rows)]}

    @method("restart.reset", ResetParams, role="operator",
            description="forget a container's failures: restart count, crash loop, pending restart")
    async def do_reset(self, params: ResetParams) -> Any:
        live, name = self._known(params.name)
        self._apply(self.engine.reset(name))
        return status_row(live, name, self.engine, self.user_stops, self._now())
