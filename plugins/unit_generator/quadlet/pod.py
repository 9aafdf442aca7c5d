"""``.pod`` -> a forking service: ``podman pod create`` before, ``pod start`` to run."""

from __future__ import annotations

import logging

from bridge.container_info import UNIT_LABEL
from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import SERVICE, UNIT
from plugins.unit_generator.quadlet.model import Context, Conversion, base_command
from plugins.unit_generator.quadlet.naming import pod_resource_name
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import init_service
from plugins.unit_generator.quadlet.storage import add_volumes
from plugins.unit_generator.quadlet.userns import add_user_mappings

logger = logging.getLogger(__name__)

GROUP = "Pod"

_STRING_FLAGS = {"IP": "--ip", "IP6": "--ip6", "ShmSize": "--shm-size"}
_ALL_STRINGS_FLAGS = {
    "NetworkAlias": "--network-alias", "DNS": "--dns", "DNSOption": "--dns-option",
    "DNSSearch": "--dns-search", "AddHost": "--add-host", "HostName": "--hostname",
}


def convert_pod(unit: UnitFile, ctx: Context) -> Conversion:
    """Containers that join this pod (and start with it) were recorded in its UnitInfo
    while they were converted, which is why pods are converted last."""
    service, info = init_service(unit, GROUP, ctx)
    warnings: list[str] = []
    name = pod_resource_name(unit)
    for container_service in info.containers_to_start:
        service.add(UNIT, "Wants", container_service)
        service.add(UNIT, "Before", container_service)
    if not unit.has_key(SERVICE, "SyslogIdentifier"):
        service.set(SERVICE, "SyslogIdentifier", "%N")

    start = base_command(unit, GROUP, ctx, "pod", "start", name)
    service.add_cmdline(SERVICE, "ExecStart", start.args)

    timeout = unit.lookup(GROUP, "StopTimeout")
    stop = base_command(unit, GROUP, ctx, "pod", "stop", "--ignore",
                        f"--time={'10' if timeout is None else timeout}", name)
    service.add_cmdline(SERVICE, "ExecStop", stop.args)

    stop_post = base_command(unit, GROUP, ctx, "pod", "rm", "--ignore", "--force", name)
    service.add_cmdline(SERVICE, "ExecStopPost", stop_post.args)

    create = base_command(unit, GROUP, ctx, "pod", "create", "--infra-conmon-pidfile=%t/%N.pid",
                          "--replace")
    exit_policy = unit.lookup(GROUP, "ExitPolicy")
    create.add("--exit-policy", "stop" if exit_policy is None else exit_policy)
    add_user_mappings(unit, GROUP, create, support_manual=True)
    opt.add_all_strings(unit, GROUP, {"PublishPort": "--publish"}, create)
    warnings += opt.add_key_vals(unit, GROUP, {"Label": "--label"}, create)
    opt.add_networks(unit, GROUP, service, ctx, create)
    opt.add_strings(unit, GROUP, _STRING_FLAGS, create)
    opt.add_all_strings(unit, GROUP, _ALL_STRINGS_FLAGS, create)
    add_volumes(unit, service, GROUP, ctx, create)
    create.add("--infra-name", f"{name}-infra", "--name", name)
    create.add(*unit.lookup_all_args(GROUP, "PodmanArgs"))
    service.add_cmdline(SERVICE, "ExecStartPre", create.args)

    service.add(SERVICE, "Environment", f"{UNIT_LABEL}=%n")
    service.setv(SERVICE, ("Type", "forking"), ("PIDFile", "%t/%N.pid"))
    if not unit.has_key(SERVICE, "Restart"):
        service.set(SERVICE, "Restart", "on-failure")
    return Conversion(service, warnings)
