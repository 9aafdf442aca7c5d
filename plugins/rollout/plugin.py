"""The rollout plugin: fleet-wide updates, canary first, pinned by digest, rolled back
automatically (docs/rollout.md).

Methods ``fleet.rollout.start``, ``.status``, ``.halt``, ``.resume``, ``.rollback``,
``.history``; events ``fleet.rollout.*``; commands ``podbridge fleet rollout`` and
``podbridge fleet status``. Every bridge of the fleet with this plugin contends for the
controller's lease; the holder drives every running rollout.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from pydantic import Field

from bridge.backoff import Backoff, retrying
from bridge.errors import BridgeError
from bridge.methods import Params, method
from bridge.plugin import PluginConfig, PluginContext
from bridge.timespan import Duration
from bridge.updates import Selector
from plugins.rollout.controller import Controller
from plugins.rollout.engine import Rollout, Spec
from plugins.rollout.kvstate import Lease, Rollouts
from plugins.rollout.service import FleetHosts, FleetKV, RolloutService, status_json

logger = logging.getLogger(__name__)


class StartParams(Params):
    image: str = Field(min_length=1, description="a tagged image: registry/repo:tag")
    selector: Selector
    canary: int = Field(default=1, ge=1)
    max_unavailable: int = Field(default=1, ge=1)
    probation: Duration = Field(default=30.0, ge=0, description="seconds or 30s, 2m, 1h")
    failure_budget: int = Field(default=0, ge=0)
    progress_deadline: Duration = Field(default=120.0, gt=0,
                                     description="a host silent this long has failed")


class IdParams(Params):
    id: str = Field(min_length=1, max_length=100)


class ReasonParams(IdParams):
    reason: str = ""


class HistoryParams(Params):
    limit: int = Field(default=50, ge=1, le=1000)


class RolloutPlugin:
    name = "rollout"

    class Config(PluginConfig):
        controller: bool = True      # contend for the controller's lease
        tick: float = Field(default=1.0, gt=0)
        lease_ttl: float = Field(default=15.0, gt=0)
        settle: float = Field(default=0.5, ge=0)
        call_timeout: float = Field(default=10.0, gt=0)

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx
        self.service = RolloutService(ctx.fleet, settle=ctx.config.settle)
        self.controller: Controller | None = None

    async def start(self, ctx: PluginContext) -> None:
        if ctx.fleet.joined and ctx.config.controller:
            ctx.create_task(self._control(), name="rollout/controller")

    async def stop(self) -> None:
        self.controller = None

    async def _control(self) -> None:
        ctx, c = self.ctx, self.ctx.config
        await ctx.fleet.wait_connected(None)
        kv = FleetKV(await retrying(lambda: ctx.fleet.kv("rollout"), Backoff(2.0, 2.0),
                                    lambda exc, _: logger.warning("rollout bucket: %s", exc),
                                    BridgeError))
        lease = Lease(kv, f"{ctx.fleet.host}:{id(self):x}", ttl=c.lease_ttl, settle=c.settle)
        self.controller = Controller(Rollouts(kv), lease, FleetHosts(ctx.fleet), tick=c.tick,
                                     call_timeout=c.call_timeout, publish=ctx.publish)
        try:
            await self.controller.run()
        finally:
            await lease.release()

    def _woken(self, r: Rollout) -> dict[str, Any]:
        """A rollout just changed: the controller looks at it now, not at its next tick."""
        if self.controller is not None:
            self.controller.wake.set()
        return status_json(r)

    @method("fleet.rollout.start", StartParams, role="operator",
            description="roll an image out to the hosts matching a selector, canary first")
    async def do_start(self, p: StartParams) -> dict[str, Any]:
        return self._woken(await self.service.start(Spec(**p.model_dump())))

    @method("fleet.rollout.status", IdParams, role="viewer", readonly=True,
            description="a rollout: phase, digest, waves, each host's state")
    async def do_status(self, p: IdParams) -> dict[str, Any]:
        return status_json(await self.service.get(p.id))

    @method("fleet.rollout.halt", ReasonParams, role="operator",
            description="stop a rollout where it is (no host is asked anything new)")
    async def do_halt(self, p: ReasonParams) -> dict[str, Any]:
        return self._woken(await self.service.halt(p.id, p.reason or "halted by hand"))

    @method("fleet.rollout.resume", IdParams, role="operator",
            description="carry on with a halted rollout")
    async def do_resume(self, p: IdParams) -> dict[str, Any]:
        return self._woken(await self.service.resume(p.id))

    @method("fleet.rollout.rollback", ReasonParams, role="operator",
            description="roll back every host that took the rollout's digest")
    async def do_rollback(self, p: ReasonParams) -> dict[str, Any]:
        return self._woken(await self.service.rollback(p.id, p.reason or "rolled back by hand"))

    @method("fleet.rollout.history", HistoryParams, role="viewer", readonly=True,
            description="rollouts, newest first")
    async def do_history(self, p: HistoryParams) -> list[dict[str, Any]]:
        return await self.service.history(p.limit)

    @classmethod
    def fleet_cli(cls, subparsers: argparse._SubParsersAction[Any]) -> None:
        from plugins.rollout.cli import add_fleet_cli

        add_fleet_cli(subparsers)
