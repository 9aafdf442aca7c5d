"""The methods the core itself offers (plugins add theirs through their context)."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bridge import __version__
from bridge.errors import NotFound
from bridge.methods import MethodRegistry, NoParams, Params
from bridge.owners import check_owner_param, podman_of
from bridge.podman_compat import info_summary
from bridge.roles import Role

VIEWER: Role = "viewer"
OPERATOR: Role = "operator"

if TYPE_CHECKING:
    from bridge.app import Bridge
    from bridge.plugin import PluginRecord


class ContainerRef(Params):
    name: str = Field(min_length=1, description="container name or ID")
    owner: str | None = Field(default=None, description="the user (name or uid) whose "
                              "rootless container it is; default: the bridge's own")


class StopParams(ContainerRef):
    timeout: int = Field(default=10, ge=0, le=3600)


class AuditParams(Params):
    limit: int = Field(default=100, ge=1, le=1000)
    before: int | None = Field(default=None, ge=0, description="records older than this id")
    who: str | None = Field(default=None, max_length=200)
    method: str | None = Field(default=None, max_length=200)


class UnitRef(Params):
    name: str = Field(min_length=1)
    owner: str | None = Field(default=None, description="the user whose user unit it is")


def register_core_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    state = bridge.state

    def snapshot() -> dict[str, Any]:
        """The system's model, plus every served user's rows (with uid and user)."""
        snap = state.snapshot()
        return bridge.owners.merge(snap) if bridge.owners is not None else snap

    async def state_get(_: NoParams) -> dict[str, Any]:
        return snapshot()

    async def containers_list(_: NoParams) -> list[dict[str, Any]]:
        return list(snapshot()["containers"])

    async def containers_inspect(p: ContainerRef) -> dict[str, Any]:
        return await podman_of(bridge, p.owner).inspect_container(p.name)

    async def containers_start(p: ContainerRef) -> None:
        await podman_of(bridge, p.owner).start_container(p.name)

    async def containers_stop(p: StopParams) -> None:
        await podman_of(bridge, p.owner).stop_container(p.name, p.timeout)

    async def containers_restart(p: StopParams) -> None:
        await podman_of(bridge, p.owner).restart_container(p.name, p.timeout)

    async def units_list(_: NoParams) -> list[dict[str, Any]]:
        return list(snapshot()["units"])

    async def units_get(p: UnitRef) -> dict[str, Any]:
        session = check_owner_param(p.owner, bridge.owners)
        unit = (state if session is None else session.state).units.get(p.name)
        if unit is None:
            raise NotFound(f"unit {p.name!r} is not loaded")
        return unit if session is None else {**unit, **session.owner.tag()}

    async def unit_job(verb: str, p: UnitRef) -> dict[str, Any]:
        session = check_owner_param(p.owner, bridge.owners)
        systemd = bridge.systemd if session is None else session.systemd
        result = await systemd.run_job(verb, p.name)
        return {"unit": p.name, "job_result": result}

    async def owners_list(_: NoParams) -> list[dict[str, Any]]:
        return bridge.owners.list() if bridge.owners is not None else []

    async def plugins_list(_: NoParams) -> list[PluginRecord]:
        return bridge.plugins.list() if bridge.plugins is not None else []

    async def methods_list(_: NoParams) -> list[dict[str, Any]]:
        return [{"name": m.name, "owner": m.owner, "description": m.description,
                 "role": m.role, "readonly": m.readonly,
                 "params": m.params.model_json_schema()} for m in methods.list()]

    async def podman_info(_: NoParams) -> dict[str, Any]:
        info = await bridge.podman.request("GET", "/info", what="podman info")
        compat = await bridge.podman.compat()
        return {**info_summary(info), "version": compat.version}

    async def bridge_status(_: NoParams) -> dict[str, Any]:
        return {"version": __version__, "seq": bridge.bus.seq,
                "tasks": len(asyncio.all_tasks()),
                "oldest_seq": bridge.bus.oldest_seq,
                "subscribers": bridge.bus.subscriber_count,
                "podman": {"url": bridge.podman.url, "connected": bridge.podman_source.connected
                           if bridge.podman_source else False,
                           # events read, repeats dropped, gaps suspected (see sources.py)
                           **(bridge.podman_source.metrics() if bridge.podman_source
                              else {})},
                "systemd": {"scope": bridge.systemd.scope, "address": bridge.systemd.address,
                            "connected": bridge.systemd_source.connected
                            if bridge.systemd_source else False}}

    async def audit_list(p: AuditParams) -> list[dict[str, Any]]:
        return bridge.audit.list(p.limit, p.before, p.who, p.method) if bridge.audit else []

    # Who may call each: the least role. A viewer's method only reads (GET may call it).
    methods.register_table((
        ("state.get", state_get, NoParams, VIEWER, "snapshot of the live model and its seq"),
        ("containers.list", containers_list, NoParams, VIEWER,
         "containers of the live model"),
        ("containers.inspect", containers_inspect, ContainerRef, VIEWER, "Podman's inspect"),
        ("containers.start", containers_start, ContainerRef, OPERATOR, "start a container"),
        ("containers.stop", containers_stop, StopParams, OPERATOR, "stop a container"),
        ("containers.restart", containers_restart, StopParams, OPERATOR,
         "restart a container"),
        ("units.list", units_list, NoParams, VIEWER, "systemd units of the live model"),
        ("units.get", units_get, UnitRef, VIEWER, "one unit of the live model"),
        ("units.start", partial(unit_job, "start"), UnitRef, OPERATOR,
         "start a unit and wait for its job"),
        ("units.stop", partial(unit_job, "stop"), UnitRef, OPERATOR,
         "stop a unit and wait for its job"),
        ("units.restart", partial(unit_job, "restart"), UnitRef, OPERATOR,
         "restart a unit and wait for its job"),
        ("plugins.list", plugins_list, NoParams, VIEWER,
         "each plugin's state and last error"),
        ("methods.list", methods_list, NoParams, VIEWER,
         "every method with its params schema"),
        ("bridge.status", bridge_status, NoParams, VIEWER, "the bridge's own state"),
        ("owners.list", owners_list, NoParams, VIEWER,
         "the users whose rootless Podman and user manager a root bridge also serves"),
        ("podman.info", podman_info, NoParams, VIEWER,
         "Podman's version, runtime, events backend, ... (one shape for Podman 4 and 5)"),
    ))
    # Only an admin reads the audit trail; reading it changes nothing.
    methods.register("audit.list", audit_list, AuditParams, role="admin", readonly=True,
                     description="the audit trail of changes, newest first")
