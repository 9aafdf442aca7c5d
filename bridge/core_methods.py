"""The methods the core itself offers (plugins add theirs through their context)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from bridge import __version__
from bridge.errors import NotFound
from bridge.methods import MethodRegistry, NoParams

if TYPE_CHECKING:
    from bridge.app import Bridge


class ContainerRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, description="container name or ID")


class StopParams(ContainerRef):
    timeout: int = Field(default=10, ge=0, le=3600)


class UnitRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)


def register_core_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    state = bridge.state

    async def state_get(_: NoParams) -> dict[str, Any]:
        return state.snapshot()

    async def containers_list(_: NoParams) -> list[dict[str, Any]]:
        return list(state.containers.values())

    async def containers_inspect(p: ContainerRef) -> dict[str, Any]:
        return await bridge.podman.inspect_container(p.name)

    async def containers_start(p: ContainerRef) -> None:
        await bridge.podman.start_container(p.name)

    async def containers_stop(p: StopParams) -> None:
        await bridge.podman.stop_container(p.name, p.timeout)

    async def containers_restart(p: StopParams) -> None:
        await bridge.podman.restart_container(p.name, p.timeout)

    async def units_list(_: NoParams) -> list[dict[str, Any]]:
        units: list[dict[str, Any]] = state.snapshot()["units"]
        return units

    async def units_get(p: UnitRef) -> dict[str, Any]:
        unit = state.units.get(p.name)
        if unit is None:
            raise NotFound(f"unit {p.name!r} is not loaded")
        return unit

    async def plugins_list(_: NoParams) -> list[dict[str, Any]]:
        return bridge.plugins.list() if bridge.plugins is not None else []

    async def methods_list(_: NoParams) -> list[dict[str, Any]]:
        return [{"name": m.name, "owner": m.owner, "description": m.description,
                 "params": m.params.model_json_schema()} for m in methods.list()]

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

    for name, handler, params, doc in (
        ("state.get", state_get, NoParams, "snapshot of the live model and its seq"),
        ("containers.list", containers_list, NoParams, "containers of the live model"),
        ("containers.inspect", containers_inspect, ContainerRef, "Podman's inspect"),
        ("containers.start", containers_start, ContainerRef, "start a container"),
        ("containers.stop", containers_stop, StopParams, "stop a container"),
        ("containers.restart", containers_restart, StopParams, "restart a container"),
        ("units.list", units_list, NoParams, "systemd units of the live model"),
        ("units.get", units_get, UnitRef, "one unit of the live model"),
        ("plugins.list", plugins_list, NoParams, "each plugin's state and last error"),
        ("methods.list", methods_list, NoParams, "every method with its params schema"),
        ("bridge.status", bridge_status, NoParams, "the bridge's own state"),
    ):
        methods.register(name, handler, params, description=doc)
