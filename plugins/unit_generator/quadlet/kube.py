"""``.kube`` -> a notify service running ``podman kube play`` (and ``kube down`` after)."""

from __future__ import annotations

import logging

from bridge.container_info import AUTOUPDATE_LABEL, UNIT_LABEL
from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import SERVICE
from plugins.unit_generator.quadlet.model import Context, Conversion, QuadletError, base_command
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import check_service_type, init_service, set_kill_mode
from plugins.unit_generator.quadlet.userns import add_user_mappings

logger = logging.getLogger(__name__)

GROUP = "Kube"


def convert_kube(unit: UnitFile, ctx: Context) -> Conversion:
    service, _info = init_service(unit, GROUP, ctx)
    yamls = unit.lookup_all_strv(GROUP, "Yaml")
    if not yamls:
        raise QuadletError("no Yaml key specified")
    yaml_paths = [opt.absolute_path(unit, y) for y in yamls]
    set_kill_mode(service)
    service.add(SERVICE, "Environment", f"{UNIT_LABEL}=%n")
    # Type=oneshot is allowed, for YAML files that only create resources.
    if check_service_type(service) != "oneshot":
        service.setv(SERVICE, ("Type", "notify"), ("NotifyAccess", "all"))
    if not unit.has_key(SERVICE, "SyslogIdentifier"):
        service.set(SERVICE, "SyslogIdentifier", "%N")

    cmd = base_command(unit, GROUP, ctx, "kube", "play", "--replace", "--service-container=true")
    propagation = unit.lookup(GROUP, "ExitCodePropagation")
    if propagation:
        cmd.add(f"--service-exit-code-propagation={propagation}")
    opt.add_log(unit, GROUP, cmd)
    add_user_mappings(unit, GROUP, cmd, support_manual=False)
    opt.add_networks(unit, GROUP, service, ctx, cmd)
    for update in unit.lookup_all_strv(GROUP, "AutoUpdate"):
        # "ctr/registry" applies to one container of the pod, "registry" to all of them.
        target, slash, kind = update.partition("/")
        cmd.add(f"--annotation={AUTOUPDATE_LABEL}/{target}={kind}" if slash
                else f"--annotation={AUTOUPDATE_LABEL}={update}")
    for config_map in unit.lookup_all_strv(GROUP, "ConfigMap"):
        cmd.add("--configmap", opt.absolute_path(unit, config_map))
    opt.add_all_strings(unit, GROUP, {"PublishPort": "--publish"}, cmd)
    cmd.add(*unit.lookup_all_args(GROUP, "PodmanArgs"))
    cmd.add(*yaml_paths)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)

    # ExecStopPost, not ExecStop: clean up even when the start failed half-way.
    down = base_command(unit, GROUP, ctx, "kube", "down")
    force = unit.lookup_bool(GROUP, "KubeDownForce")
    if force is not None:
        down.add_bool("--force", force)
    down.add(*yaml_paths)
    service.add_cmdline(SERVICE, "ExecStopPost", down.args)
    opt.set_working_directory(unit, service, GROUP)
    return Conversion(service)
