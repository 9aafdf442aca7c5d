"""``.container`` -> a service running ``podman run --name X --replace --rm ... IMAGE``."""

from __future__ import annotations

import logging
import os
import re

from bridge.container_info import AUTOUPDATE_LABEL, UNIT_LABEL
from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import HEALTH_FLAGS, SERVICE
from plugins.unit_generator.quadlet.model import (
    Cmdline,
    Context,
    Conversion,
    QuadletError,
    base_command,
)
from plugins.unit_generator.quadlet.naming import container_name, is_template
from plugins.unit_generator.quadlet.parser import SPACE, UnitFile
from plugins.unit_generator.quadlet.service import check_service_type, init_service, set_kill_mode
from plugins.unit_generator.quadlet.split import SplitError
from plugins.unit_generator.quadlet.storage import add_volumes, image_source, resolve_mount
from plugins.unit_generator.quadlet.userns import add_user, add_user_mappings

logger = logging.getLogger(__name__)

GROUP = "Container"
_PORT_RANGE = re.compile(r"\d+(-\d+)?(/udp|/tcp)?$")

STRING_FLAGS = {
    "Timezone": "--tz", "PidsLimit": "--pids-limit", "ShmSize": "--shm-size",
    "WorkingDir": "--workdir", "IP": "--ip", "IP6": "--ip6", "HostName": "--hostname",
    "StopSignal": "--stop-signal", "StopTimeout": "--stop-timeout", "Pull": "--pull",
    "Memory": "--memory", "Retry": "--retry", "RetryDelay": "--retry-delay",
}
ALL_STRINGS_FLAGS = {
    "NetworkAlias": "--network-alias", "Ulimit": "--ulimit", "DNS": "--dns",
    "DNSOption": "--dns-option", "DNSSearch": "--dns-search", "GroupAdd": "--group-add",
    "AddHost": "--add-host", "Tmpfs": "--tmpfs",
}
BOOL_FLAGS = {
    "RunInit": "--init", "EnvironmentHost": "--env-host", "HttpProxy": "--http-proxy",
    "ReadOnlyTmpfs": "--read-only-tmpfs",
}
_KEY_VAL_FLAGS = {"Environment": "--env", "Label": "--label", "Annotation": "--annotation"}


def _add_exec_reload(unit: UnitFile, service: UnitFile, name: str, ctx: Context) -> list[str]:
    """``ExecReload=`` from ``ReloadCmd`` (exec in the container) or ``ReloadSignal``."""
    warnings: list[str] = []
    signal = unit.lookup(GROUP, "ReloadSignal")
    try:
        reload_cmd = unit.lookup_last_args(GROUP, "ReloadCmd")
    except SplitError as exc:
        warnings.append(str(exc))
        reload_cmd = None
    if reload_cmd and signal:
        raise QuadletError("ReloadCmd and ReloadSignal are mutually exclusive but both are set")
    if not reload_cmd and not signal:
        return warnings
    cmd = base_command(unit, GROUP, ctx)
    if reload_cmd:
        cmd.add("exec", name, *reload_cmd)
    else:
        cmd.add("kill", "--signal", signal or "", name)
    service.add_cmdline(SERVICE, "ExecReload", cmd.args)
    return warnings


def _add_security(unit: UnitFile, cmd: Cmdline) -> None:
    if unit.lookup_bool_default(GROUP, "NoNewPrivileges", False):
        cmd.add("--security-opt=no-new-privileges")
    if unit.lookup_bool_default(GROUP, "SecurityLabelDisable", False):
        cmd.add("--security-opt", "label=disable")
    if unit.lookup_bool_default(GROUP, "SecurityLabelNested", False):
        cmd.add("--security-opt", "label=nested")
    for key, prefix in (("SecurityLabelType", "label=type:"),
                        ("SecurityLabelFileType", "label=filetype:"),
                        ("SecurityLabelLevel", "label=level:"), ("AppArmor", "apparmor=")):
        value = unit.lookup(GROUP, key)
        if value:
            cmd.add("--security-opt", prefix + value)


def _add_devices_and_caps(unit: UnitFile, cmd: Cmdline) -> None:
    for device in unit.lookup_all_strv(GROUP, "AddDevice"):
        if device.startswith("-"):  # optional: only if the host has it
            device = device[1:]
            try:
                os.stat(device.split(":")[0])
            except FileNotFoundError:
                continue
            except OSError:
                pass  # exists but cannot be read: let podman report it
        cmd.add("--device", device)
    seccomp = unit.lookup(GROUP, "SeccompProfile")
    if seccomp is not None:
        cmd.add("--security-opt", f"seccomp={seccomp}")
    for key, flag in (("DropCapability", "--cap-drop"), ("AddCapability", "--cap-add")):
        for cap in unit.lookup_all_strv(GROUP, key):
            cmd.add(flag, cap.lower())
    for sysctl in unit.lookup_all_strv(GROUP, "Sysctl"):
        cmd.add("--sysctl", sysctl)


def _add_pod(unit: UnitFile, service: UnitFile, ctx: Context, cmd: Cmdline) -> None:
    pod = unit.lookup(GROUP, "Pod")
    if not pod:
        return
    if not pod.endswith(".pod"):
        raise QuadletError(f"pod {pod} is not Quadlet based")
    info = opt.depend_on(pod, service, ctx, f"quadlet pod unit {pod} does not exist",
                         how="BindsTo")
    cmd.add("--pod", info.resource_name)
    # The pod's service Wants= its containers, except templates (nothing to name).
    if not is_template(unit) and unit.lookup_bool_default(GROUP, "StartWithPod", True):
        info.containers_to_start.append(service.filename)


def convert_container(unit: UnitFile, ctx: Context) -> Conversion:
    service, _info = init_service(unit, GROUP, ctx)
    warnings: list[str] = []
    image = unit.lookup(GROUP, "Image") or ""
    rootfs = unit.lookup(GROUP, "Rootfs") or ""
    if not image and not rootfs:
        raise QuadletError("no Image or Rootfs key specified")
    if image and rootfs:
        raise QuadletError("the Image And Rootfs keys conflict can not be specified together")
    if image:
        image = image_source(image, service, ctx)

    name = container_name(unit)
    service.add(SERVICE, "Environment", f"{UNIT_LABEL}=%n")
    set_kill_mode(service)

    # conmon may die without removing the container: force it (-i: no error if gone).
    stop = base_command(unit, GROUP, ctx, "rm", "-v", "-f", "-i", name)
    service.add_cmdline(SERVICE, "ExecStop", stop.args)
    stop.args[0] = "-" + stop.args[0]
    service.add_cmdline(SERVICE, "ExecStopPost", stop.args)

    warnings += _add_exec_reload(unit, service, name, ctx)

    cmd = base_command(unit, GROUP, ctx, "run", "--name", name, "--replace", "--rm")
    opt.add_log(unit, GROUP, cmd)
    service.add(SERVICE, "Delegate", "yes")
    cgroups = unit.lookup(GROUP, "CgroupsMode")
    if cgroups:
        cmd.add("--cgroups", cgroups)
    else:
        cmd.add("--cgroups=split")
    entrypoint = unit.lookup(GROUP, "Entrypoint")
    if entrypoint is not None:  # empty is meaningful: clear the image's entrypoint
        cmd.add(f"--entrypoint={entrypoint}")
    opt.add_strings(unit, GROUP, STRING_FLAGS, cmd)
    opt.add_all_strings(unit, GROUP, ALL_STRINGS_FLAGS, cmd)
    opt.add_bools(unit, GROUP, BOOL_FLAGS, cmd)
    opt.add_networks(unit, GROUP, service, ctx, cmd)

    if check_service_type(service) != "oneshot":
        notify = unit.lookup(GROUP, "Notify")
        if notify is not None and notify.lower() == "healthy":
            cmd.add("--sdnotify=healthy")
        elif unit.lookup_bool_default(GROUP, "Notify", False):
            cmd.add("--sdnotify=container")
        else:
            cmd.add("--sdnotify=conmon")
        service.setv(SERVICE, ("Type", "notify"), ("NotifyAccess", "all"))
        cmd.add("-d")
    if not unit.has_key(SERVICE, "SyslogIdentifier"):
        service.set(SERVICE, "SyslogIdentifier", "%N")

    _add_security(unit, cmd)
    _add_devices_and_caps(unit, cmd)
    read_only = unit.lookup_bool(GROUP, "ReadOnly")
    if read_only is not None:
        cmd.add_bool("--read-only", read_only)
    if unit.lookup_bool_default(GROUP, "VolatileTmp", False) and not read_only:
        cmd.add("--tmpfs", "/tmp:rw,size=512M,mode=1777")
    add_user(unit, GROUP, cmd)
    add_user_mappings(unit, GROUP, cmd, support_manual=True)
    add_volumes(unit, service, GROUP, ctx, cmd)

    update = unit.lookup(GROUP, "AutoUpdate")
    if update:
        cmd.add_keys("--label", {AUTOUPDATE_LABEL: update})
    for port in unit.lookup_all(GROUP, "ExposeHostPort"):
        port = port.strip(SPACE)
        if not _PORT_RANGE.search(port):
            raise QuadletError(f"invalid port format '{port}'")
        cmd.add("--expose", port)
    opt.add_all_strings(unit, GROUP, {"PublishPort": "--publish"}, cmd)
    warnings += opt.add_key_vals(unit, GROUP, _KEY_VAL_FLAGS, cmd)
    for key in ("Mask", "Unmask"):
        for path in unit.lookup_all_args(GROUP, key):
            cmd.add("--security-opt", f"{key.lower()}={path}")
    for env_file in unit.lookup_all_args(GROUP, "EnvironmentFile"):
        cmd.add("--env-file", opt.absolute_path(unit, env_file))
    for secret in unit.lookup_all_args(GROUP, "Secret"):
        cmd.add("--secret", secret)
    for mount in unit.lookup_all_args(GROUP, "Mount"):
        cmd.add("--mount", resolve_mount(unit, service, mount, ctx))
    opt.add_strings(unit, GROUP, {key: f"--health-{flag}" for key, flag in HEALTH_FLAGS}, cmd)
    _add_pod(unit, service, ctx, cmd)
    cmd.add(*unit.lookup_all_args(GROUP, "PodmanArgs"))

    if image:
        cmd.add(image)
    else:
        cmd.add("--rootfs", rootfs)
    try:
        exec_args = unit.lookup_last_args(GROUP, "Exec")
    except SplitError as exc:
        warnings.append(str(exc))
        exec_args = None
    if exec_args:
        cmd.add(*exec_args)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)
    return Conversion(service, warnings)
