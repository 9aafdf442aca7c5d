"""The fleet's methods: fleet.status, fleet.hosts, fleet.call, fleet.events (docs/fleet.md)."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bridge.fleet.api import FleetUnavailable
from bridge.methods import MethodRegistry, NoParams, Params, current_caller

if TYPE_CHECKING:
    from bridge.fleet.link import FleetLink


class CallParams(Params):
    host: str = Field(min_length=1, max_length=64)
    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] = Field(default_factory=dict)
    timeout: float | None = Field(default=None, gt=0, le=3600)


class EventsParams(Params):
    topics: list[str] = Field(default_factory=lambda: ["**"], min_length=1, max_length=64)
    hosts: list[str] | None = None
    since: int = Field(default=0, ge=0)
    limit: int = Field(default=1000, ge=1, le=10_000)


def register_fleet_methods(methods: MethodRegistry, link: FleetLink | None) -> None:
    def need() -> FleetLink:
        if link is None:
            raise FleetUnavailable("this bridge is in no fleet: set [fleet] servers "
                                   "(or --fleet nats://…)")
        return link

    async def status(_: NoParams) -> dict[str, Any]:
        if link is None:
            return {"joined": False, "connected": False}
        return link.status()

    async def hosts(_: NoParams) -> list[dict[str, Any]]:
        return await need().hosts()

    async def forward(p: CallParams, readonly: bool) -> Any:
        # The caller's own name and role go along: the answering host checks the method's
        # role against them, as a local call would (docs/fleet.md).
        who = current_caller.get()
        caller = ({"name": who.name, "role": who.role} if who is not None
                  else {"name": "bridge", "role": "admin"})
        lk = need()
        return await lk.call(p.host, p.method, p.params, {**caller, "host": lk.host},
                             p.timeout, readonly=readonly)

    async def events(p: EventsParams) -> dict[str, Any]:
        return await need().read_events(p.topics, p.hosts, p.since, p.limit)

    # A viewer's method is read-only (register_table): fleet.call is the one that is not.
    methods.register_table((
        ("fleet.status", status, NoParams, "viewer", "this bridge's link to its fleet"),
        ("fleet.hosts", hosts, NoParams, "viewer",
         "every host of the fleet: online, last seen, containers, failing units"),
        ("fleet.call", partial(forward, readonly=False), CallParams, "operator",
         "call a method on a host of the fleet, with the caller's own role"),
        ("fleet.get", partial(forward, readonly=True), CallParams, "viewer",
         "call a method that only reads on a host of the fleet, with the caller's own role"),
        ("fleet.events", events, EventsParams, "viewer",
         "the fleet's events after a stream seq (resume with since = last)"),
    ))
