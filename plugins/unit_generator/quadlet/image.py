"""``.image`` and ``.artifact`` -> oneshot services that pull once."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet import options as opt
from plugins.unit_generator.quadlet.model import (
    Context,
    Conversion,
    QuadletError,
    UnitInfo,
    base_command,
)
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.service import init_service, run_once

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
    service, info, image = _pull(unit, "Image", _IMAGE_STRING_FLAGS,
                                 {"AllTags": "--all-tags", "TLSVerify": "--tls-verify"}, ctx)
    info.resource_name = unit.lookup("Image", "ImageTag") or image
    return Conversion(service)


def convert_artifact(unit: UnitFile, ctx: Context) -> Conversion:
    service, info, artifact = _pull(unit, "Artifact", _ARTIFACT_STRING_FLAGS,
                                    {"Quiet": "--quiet", "TLSVerify": "--tls-verify"}, ctx)
    info.resource_name = artifact
    return Conversion(service)


def _pull(unit: UnitFile, group: str, strings: dict[str, str], bools: dict[str, str],
          ctx: Context) -> tuple[UnitFile, UnitInfo, str]:
    """The oneshot service that runs ``podman image|artifact pull`` once, for the
    ``group`` (``Image`` or ``Artifact``) of ``unit``; with its info and what it pulls."""
    service, info = init_service(unit, group, ctx)
    name = unit.lookup(group, group)
    if not name:
        raise QuadletError(f"no {group} key specified")
    cmd = base_command(unit, group, ctx, group.lower(), "pull")
    opt.add_strings(unit, group, strings, cmd)
    opt.add_bools(unit, group, bools, cmd)
    run_once(unit, group, service, cmd, name)
    return service, info, name
