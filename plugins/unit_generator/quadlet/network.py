"""``.network`` -> a oneshot service running ``podman network create --ignore``."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import SERVICE
from plugins.unit_generator.quadlet.model import Context, Conversion, QuadletError, base_command
from plugins.unit_generator.quadlet.naming import resource_name
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import init_service, run_once

logger = logging.getLogger(__name__)

GROUP = "Network"

_BOOL_FLAGS = {"DisableDNS": "--disable-dns", "Internal": "--internal", "IPv6": "--ipv6"}
_STRING_FLAGS = {
    "Driver": "--driver", "IPAMDriver": "--ipam-driver", "InterfaceName": "--interface-name",
}


def convert_network(unit: UnitFile, ctx: Context) -> Conversion:
    service, info = init_service(unit, GROUP, ctx)
    name = resource_name(unit, GROUP, "NetworkName")
    if unit.lookup_bool_default(GROUP, "NetworkDeleteOnStop", False):
        remove = base_command(unit, GROUP, ctx, "network", "rm", name)
        service.add_cmdline(SERVICE, "ExecStopPost", remove.args)

    cmd = base_command(unit, GROUP, ctx, "network", "create", "--ignore")
    opt.add_bools(unit, GROUP, _BOOL_FLAGS, cmd)
    opt.add_strings(unit, GROUP, _STRING_FLAGS, cmd)
    opt.add_all_strings(unit, GROUP, {"DNS": "--dns"}, cmd)

    # Subnet, Gateway and IPRange pair up by position.
    subnets = unit.lookup_all(GROUP, "Subnet")
    gateways = unit.lookup_all(GROUP, "Gateway")
    ranges = unit.lookup_all(GROUP, "IPRange")
    if subnets:
        if len(gateways) > len(subnets):
            raise QuadletError("cannot set more gateways than subnets")
        if len(ranges) > len(subnets):
            raise QuadletError("cannot set more ranges than subnets")
        for i, subnet in enumerate(subnets):
            cmd.add("--subnet", subnet)
            if i < len(gateways):
                cmd.add("--gateway", gateways[i])
            if i < len(ranges):
                cmd.add("--ip-range", ranges[i])
    elif gateways or ranges:
        raise QuadletError("cannot set gateway or range without subnet")

    warnings = opt.add_key_vals(unit, GROUP, {"Options": "--opt", "Label": "--label"}, cmd)
    run_once(unit, GROUP, service, cmd, name)
    info.resource_name = name
    return Conversion(service, warnings)
