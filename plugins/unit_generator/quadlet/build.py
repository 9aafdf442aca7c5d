"""``.build`` -> a oneshot service running ``podman build --tag X CONTEXT``."""

from __future__ import annotations

import logging
import os

from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import SERVICE
from plugins.unit_generator.quadlet.model import Context, Conversion, QuadletError, base_command
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import default_oneshot, init_service
from plugins.unit_generator.quadlet.storage import add_volumes

logger = logging.getLogger(__name__)

GROUP = "Build"

_STRING_FLAGS = {
    "Arch": "--arch", "AuthFile": "--authfile", "IgnoreFile": "--ignorefile",
    "Target": "--target", "Variant": "--variant", "Retry": "--retry",
    "RetryDelay": "--retry-delay",
}
_ALL_STRINGS_FLAGS = {
    "DNS": "--dns", "DNSOption": "--dns-option", "DNSSearch": "--dns-search",
    "GroupAdd": "--group-add", "ImageTag": "--tag",
}
_KEY_VAL_FLAGS = {
    "BuildArg": "--build-arg", "Environment": "--env", "Label": "--label",
    "Annotation": "--annotation",
}


def convert_build(unit: UnitFile, ctx: Context) -> Conversion:
    service, info = init_service(unit, GROUP, ctx)
    if not info.resource_name:
        raise QuadletError("no ImageTag key specified")
    cmd = base_command(unit, GROUP, ctx, "build")
    pull = unit.lookup(GROUP, "Pull")
    if pull:
        cmd.add(f"--pull={pull}")  # needs the "=" (containers/podman#24599)
    opt.add_strings(unit, GROUP, _STRING_FLAGS, cmd)
    opt.add_bools(unit, GROUP, {"TLSVerify": "--tls-verify", "ForceRM": "--force-rm"}, cmd)
    opt.add_all_strings(unit, GROUP, _ALL_STRINGS_FLAGS, cmd)
    warnings = opt.add_key_vals(unit, GROUP, _KEY_VAL_FLAGS, cmd)
    opt.add_networks(unit, GROUP, service, ctx, cmd)
    for secret in unit.lookup_all_args(GROUP, "Secret"):
        cmd.add("--secret", secret)
    add_volumes(unit, service, GROUP, ctx, cmd)

    # A build needs a Containerfile (File=) or a context (SetWorkingDirectory= or the
    # service's WorkingDirectory=); the context, or the folder, is the last argument.
    context = opt.set_working_directory(unit, service, GROUP)
    working_dir = service.lookup(SERVICE, "WorkingDirectory") or ""
    file_path = unit.lookup(GROUP, "File") or ""
    if not working_dir and not file_path and not context:
        raise QuadletError("neither SetWorkingDirectory, nor File key specified")
    if file_path:
        cmd.add("--file", file_path)
    cmd.add(*unit.lookup_all_args(GROUP, "PodmanArgs"))
    if context:
        cmd.add(context)
    elif (not opt.starts_with_specifier(file_path) and not os.path.isabs(file_path)
          and not opt.is_url(file_path)):
        if not working_dir:
            raise QuadletError("relative path in File key requires SetWorkingDirectory key "
                               "to be set")
        cmd.add(working_dir)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)
    default_oneshot(service, remain_after_exit=False)
    return Conversion(service, warnings)
