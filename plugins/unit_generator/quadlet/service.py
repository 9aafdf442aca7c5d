"""The part every converter shares: turning a Quadlet file into the start of a service."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet.keys import (
    EXTENSION_ORDER,
    QUADLET,
    QUADLET_KEYS,
    SERVICE,
    SUPPORTED_KEYS,
    UNIT,
    UNIT_DEPENDENCY_KEYS,
    extension,
)
from plugins.unit_generator.quadlet.model import Cmdline, Context, QuadletError, UnitInfo
from plugins.unit_generator.quadlet.parser import UnitFile

logger = logging.getLogger(__name__)


def check_unknown_keys(unit: UnitFile, group: str) -> None:
    for name, allowed in ((group, SUPPORTED_KEYS[group]), (QUADLET, QUADLET_KEYS)):
        for key in unit.list_keys(name):
            if key not in allowed:
                raise QuadletError(f"unsupported key '{key}' in group '{name}' in {unit.path}")


def translate_dependencies(service: UnitFile, ctx: Context) -> None:
    """Rewrite ``After=x.volume`` and friends to the services those files generate."""
    for key in UNIT_DEPENDENCY_KEYS:
        deps = service.lookup_all_strv(UNIT, key)
        out: list[str] = []
        for dep in deps:
            if extension(dep) in EXTENSION_ORDER:
                info = ctx.units.get(dep)
                if info is None:
                    raise QuadletError(f"unable to translate dependency for {dep}")
                dep = info.service_file_name
            out.append(dep)
        if out != deps:  # a Quadlet file was named (its service's name ends in .service)
            service.unset(UNIT, key)
            service.add(UNIT, key, " ".join(out))


def add_default_dependencies(service: UnitFile, is_user: bool) -> None:
    """Wait for the network before pulling or starting anything (unless switched off)."""
    if service.lookup_bool_default(QUADLET, "DefaultDependencies", True):
        target = "podman-user-wait-network-online.service" if is_user else "network-online.target"
        service.prepend_line(UNIT, "After", target)
        service.prepend_line(UNIT, "Wants", target)


def init_service(unit: UnitFile, group: str, ctx: Context) -> tuple[UnitFile, UnitInfo]:
    """A copy of ``unit`` named for its service, with dependencies translated and the
    Quadlet groups renamed ``X-...`` so that systemd ignores them."""
    info = ctx.units.get(unit.filename)
    if info is None:
        raise QuadletError(f"internal error while processing container {unit.filename}")
    check_unknown_keys(unit, group)
    service = unit.dup()
    service.filename = info.service_file_name
    translate_dependencies(service, ctx)
    add_default_dependencies(service, ctx.is_user)
    if unit.path:
        service.add(UNIT, "SourcePath", unit.path)
    service.add(UNIT, "RequiresMountsFor", "%t/containers")
    service.rename_group(group, "X-" + group)
    service.rename_group(QUADLET, "X-" + QUADLET)
    return service, info


def default_oneshot(service: UnitFile, remain_after_exit: bool) -> None:
    """Service defaults of the resource-creating types (volume, network, image, ...)."""
    if service.lookup(SERVICE, "SyslogIdentifier") is None:
        service.set(SERVICE, "SyslogIdentifier", "%N")
    if service.lookup(SERVICE, "Type") is None:
        service.set(SERVICE, "Type", "oneshot")
    if remain_after_exit and service.lookup(SERVICE, "RemainAfterExit") is None:
        service.set(SERVICE, "RemainAfterExit", "yes")


def run_once(unit: UnitFile, group: str, service: UnitFile, cmd: Cmdline, name: str) -> None:
    """``ExecStart=`` ``cmd``, the group's ``PodmanArgs=`` and ``name`` in a oneshot service
    that remains after it exits: how a volume, network, image or artifact is made once."""
    cmd.add(*unit.lookup_all_args(group, "PodmanArgs"), name)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)
    default_oneshot(service, remain_after_exit=True)


def set_kill_mode(service: UnitFile) -> None:
    """Only ``mixed`` (the default) or ``control-group`` let conmon clean up."""
    kill_mode = service.lookup(SERVICE, "KillMode")
    if kill_mode is None:
        service.set(SERVICE, "KillMode", "mixed")
    elif kill_mode not in ("mixed", "control-group"):
        raise QuadletError(f"invalid KillMode '{kill_mode}'")


def check_service_type(service: UnitFile) -> str | None:
    service_type = service.lookup(SERVICE, "Type")
    if service_type is not None and service_type not in ("notify", "oneshot"):
        raise QuadletError(f"invalid service Type '{service_type}'")
    return service_type
