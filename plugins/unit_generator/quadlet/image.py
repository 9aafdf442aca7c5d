"""``.image`` and ``.artifact`` -> oneshot services that pull once."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.keys import SERVICE
from plugins.unit_generator.quadlet.model import Context, Conversion, QuadletError, base_command
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import default_oneshot, init_service

logger = logging.getLogger(__name__)

_IMAGE_STRING_FLAGS = {
    "Arch": "--arch", "AuthFile": "--authfile", "CertDir": "--cert-dir", "Creds": "--creds",
    "DecryptionKey": "--decryption-key", "OS": "--os", "Policy": "--policy",
    "Variant": "--variant", "Retry": "--retry", "RetryDelay": "--retry-delay",
}
_ARTIFACT_STRING_FLAGS = {
    "AuthFile": "--authfile", "CertDir": "--cert-dir", "Creds": "--creds",
    "DecryptionKey": "--decryption-key", "Retry": "--retry", "RetryDelay": "--retry-delay",
}


def convert_image(unit: UnitFile, ctx: Context) -> Conversion:
    service, info = init_service(unit, "Image", ctx)
    image = unit.lookup("Image", "Image")
    if not image:
        raise QuadletError("no Image key specified")
    cmd = base_command(unit, "Image", ctx)
    cmd.add("image", "pull")
    opt.add_strings(unit, "Image", _IMAGE_STRING_FLAGS, cmd)
    opt.add_bools(unit, "Image", {"AllTags": "--all-tags", "TLSVerify": "--tls-verify"}, cmd)
    opt.add_podman_args(unit, "Image", cmd)
    cmd.add(image)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)
    default_oneshot(service, remain_after_exit=True)
    info.resource_name = unit.lookup("Image", "ImageTag") or image
    return Conversion(service)


def convert_artifact(unit: UnitFile, ctx: Context) -> Conversion:
    service, info = init_service(unit, "Artifact", ctx)
    artifact = unit.lookup("Artifact", "Artifact")
    if not artifact:
        raise QuadletError("no Artifact key specified")
    cmd = base_command(unit, "Artifact", ctx)
    cmd.add("artifact", "pull")
    opt.add_strings(unit, "Artifact", _ARTIFACT_STRING_FLAGS, cmd)
    opt.add_bools(unit, "Artifact", {"Quiet": "--quiet", "TLSVerify": "--tls-verify"}, cmd)
    opt.add_podman_args(unit, "Artifact", cmd)
    cmd.add(artifact)
    service.add_cmdline(SERVICE, "ExecStart", cmd.args)
    default_oneshot(service, remain_after_exit=True)
    info.resource_name = artifact
    return Conversion(service)
