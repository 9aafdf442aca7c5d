"""Names Quadlet derives: service units (``x-volume.service``) and Podman resources."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet.keys import TYPES, extension
from plugins.unit_generator.quadlet.parser import UnitFile

logger = logging.getLogger(__name__)


def strip_extension(name: str) -> str:
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def service_name(unit: UnitFile) -> str:
    """``ServiceName=`` or the file name with the type's suffix (``foo@.volume`` ->
    ``foo-volume@``)."""
    group, suffix = TYPES[extension(unit.filename)]
    explicit = unit.lookup(group, "ServiceName")
    if explicit is not None:
        return explicit
    base = strip_extension(unit.filename)
    if base.endswith("@"):
        return base[:-1] + suffix + "@"
    return base + suffix


def container_name(unit: UnitFile) -> str:
    """The container's name, possibly with systemd specifiers in it."""
    return unit.lookup("Container", "ContainerName") or (
        "systemd-%p_%i" if "@" in unit.filename else "systemd-%N")


def container_resource_name(unit: UnitFile) -> str:
    """The container name with ``%N`` resolved; empty if other specifiers remain."""
    name = container_name(unit).replace("%N", service_name(unit))
    return "" if "%" in name else name


def resource_name(unit: UnitFile, group: str, key: str) -> str:
    """``systemd-<base>`` (``systemd-<base>-%i`` for templates) unless ``key`` names it."""
    name = "systemd-" + strip_extension(unit.filename)
    return unit.lookup(group, key) or (name[:-1] + "-%i" if "@" in unit.filename else name)


def pod_resource_name(unit: UnitFile) -> str:
    return unit.lookup("Pod", "PodName") or "systemd-" + strip_extension(unit.filename)


def built_image_name(unit: UnitFile) -> str:
    return next(iter(unit.lookup_all("Build", "ImageTag")), "")


def is_template(unit: UnitFile) -> bool:
    return strip_extension(unit.filename).endswith("@")
