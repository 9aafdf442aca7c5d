"""``.volume`` -> a oneshot service running ``podman volume create --ignore``."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import UNIT
from plugins.unit_generator.quadlet.model import (
    Cmdline,
    Context,
    Conversion,
    QuadletError,
    base_command,
)
from plugins.unit_generator.quadlet.naming import resource_name
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import init_service, run_once
from plugins.unit_generator.quadlet.storage import image_source

logger = logging.getLogger(__name__)

GROUP = "Volume"


def _mount_options(unit: UnitFile, service: UnitFile, cmd: Cmdline) -> list[str]:
    """The ``o=`` options of a local volume; device options go to ``cmd`` directly."""
    opts: list[str] = []
    if unit.has_key(GROUP, "User"):
        opts.append(f"uid={unit.lookup_uint32(GROUP, 'User', 0)}")
    if unit.has_key(GROUP, "Group"):
        opts.append(f"gid={unit.lookup_uint32(GROUP, 'Group', 0)}")
    copy = unit.lookup_bool(GROUP, "Copy")
    if copy is not None:
        cmd.add("--opt", "copy" if copy else "nocopy")
    device = unit.lookup(GROUP, "Device")
    if device:
        cmd.add("--opt", f"device={device}")
    dev_type = unit.lookup(GROUP, "Type")
    if dev_type:
        if not device:
            raise QuadletError("key Type can't be used without Device")
        cmd.add("--opt", f"type={dev_type}")
        if dev_type == "bind":
            service.add_escaped(UNIT, "RequiresMountsFor", device)
    mount_opts = unit.lookup(GROUP, "Options")
    if mount_opts:
        opts.append(mount_opts)
    return opts


def convert_volume(unit: UnitFile, ctx: Context) -> Conversion:
    service, info = init_service(unit, GROUP, ctx)
    name = resource_name(unit, GROUP, "VolumeName")
    cmd = base_command(unit, GROUP, ctx, "volume", "create", "--ignore")
    for key, flag in (("UID", "--uid"), ("GID", "--gid"), ("Driver", "--driver")):
        value = unit.lookup(GROUP, key)
        if value is not None:
            cmd.add(flag, value)
    if unit.lookup(GROUP, "Driver") == "image":
        image = unit.lookup(GROUP, "Image")
        if image is None:
            raise QuadletError("the key Image is mandatory when using the image driver")
        cmd.add("--opt", "image=" + image_source(image, service, ctx))
    else:
        opts = _mount_options(unit, service, cmd)
        if opts:
            cmd.add("--opt", "o=" + ",".join(opts))
    warnings = opt.add_key_vals(unit, GROUP, {"Label": "--label"}, cmd)
    run_once(unit, GROUP, service, cmd, name)
    info.resource_name = name
    return Conversion(service, warnings)
