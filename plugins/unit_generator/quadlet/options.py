"""Key-to-flag translations shared by several Quadlet file types."""

from __future__ import annotations

import logging
import os
import re

from plugins.unit_generator.quadlet.keys import SERVICE, UNIT
from plugins.unit_generator.quadlet.model import Cmdline, Context, QuadletError, UnitInfo
from plugins.unit_generator.quadlet.parser import UnitFile

logger = logging.getLogger(__name__)

_URL = re.compile(r"^((https?)|(git)://)|(github\.com/).+$")


def depend_on(name: str, service: UnitFile, ctx: Context, missing: str,
              how: str = "Requires") -> UnitInfo:
    """The Quadlet unit ``name`` (``missing`` when there is none), which ``service`` then
    ``Requires=`` (or ``how``) and comes ``After=``."""
    info = ctx.units.get(name)
    if info is None:
        raise QuadletError(missing)
    service.add(UNIT, how, info.service_file_name)
    service.add(UNIT, "After", info.service_file_name)
    return info


def is_url(text: str) -> bool:
    return _URL.search(text) is not None


def add_strings(unit: UnitFile, group: str, flags: dict[str, str], cmd: Cmdline) -> None:
    """``flag value`` for the last non-empty value of each key."""
    for key, flag in flags.items():
        value = unit.lookup(group, key)
        if value:
            cmd.add(flag, value)


def add_all_strings(unit: UnitFile, group: str, flags: dict[str, str], cmd: Cmdline) -> None:
    """``flag value`` for every value of each key."""
    for key, flag in flags.items():
        for value in unit.lookup_all(group, key):
            cmd.add(flag, value)


def add_bools(unit: UnitFile, group: str, flags: dict[str, str], cmd: Cmdline) -> None:
    """``flag`` or ``flag=false`` for each key that is set."""
    for key, flag in flags.items():
        value = unit.lookup_bool(group, key)
        if value is not None:
            cmd.add_bool(flag, value)


def add_key_vals(unit: UnitFile, group: str, flags: dict[str, str], cmd: Cmdline) -> list[str]:
    """``flag K=V`` for ``Environment=``-style keys; returns warnings of unsplittable values."""
    warnings: list[str] = []
    for key, flag in flags.items():
        pairs, warns = unit.lookup_all_key_val(group, key)
        warnings.extend(warns)
        cmd.add_keys(flag, pairs)
    return warnings


def add_log(unit: UnitFile, group: str, cmd: Cmdline) -> None:
    driver = unit.lookup(group, "LogDriver")
    if driver is not None:
        cmd.add("--log-driver", driver)
    for opt in unit.lookup_all_strv(group, "LogOpt"):
        cmd.add("--log-opt", opt)


def add_networks(unit: UnitFile, group: str, service: UnitFile, ctx: Context,
                 cmd: Cmdline) -> None:
    """``--network``; a ``x.network`` or ``x.container`` value names another Quadlet unit,
    which the service then requires."""
    for network in unit.lookup_all(group, "Network"):
        name, has_options, options = network.partition(":")
        is_network = name.endswith(".network")
        is_container = name.endswith(".container")
        if is_network or is_container:
            info = depend_on(name, service, ctx, f"requested Quadlet unit {name} was not found")
            if not info.resource_name:
                raise QuadletError(f"cannot get the resource name of {name}")
            if has_options:
                if is_container:
                    raise QuadletError("extra options are not supported when joining another "
                                       "container's network")
                network = f"{info.resource_name}:{options}"
            elif is_container:
                network = f"container:{info.resource_name}"
            else:
                network = info.resource_name
        cmd.add("--network", network)


def starts_with_specifier(path: str) -> bool:
    """``%h/x`` starts with a systemd specifier; ``%%`` is a literal percent."""
    return path.startswith("%") and not path.startswith("%%")


def absolute_path(unit: UnitFile, path: str) -> str:
    """A relative path is taken relative to the Quadlet file's folder."""
    if starts_with_specifier(path) or os.path.isabs(path):
        return path
    if unit.path:
        return os.path.normpath(os.path.join(os.path.dirname(unit.path), path))
    return os.path.abspath(path)


def set_working_directory(unit: UnitFile, service: UnitFile, group: str) -> str:
    """Apply ``SetWorkingDirectory=``; returns the build context for ``.build`` files."""
    setting = unit.lookup(group, "SetWorkingDirectory")
    if not setting:
        return ""
    relative_to = ""
    context = ""
    mode = setting.lower()
    if mode == "yaml":
        if group != "Kube":
            raise QuadletError(f"SetWorkingDirectory={setting} is only supported in .kube files")
        yamls = unit.lookup_all_strv("Kube", "Yaml")
        if not yamls:
            raise QuadletError("no Yaml key specified")
        if len(yamls) != 1:
            raise QuadletError("SetWorkingDirectory=yaml is only supported when a single Yaml "
                               "key is provided")
        relative_to = yamls[0]
    elif mode == "file":
        if group != "Build":
            raise QuadletError(f"SetWorkingDirectory={setting} is only supported in .build files")
        file_key = unit.lookup(group, "File")
        if file_key is None:
            raise QuadletError("no File key specified")
        relative_to = file_key
    elif mode == "unit":
        relative_to = unit.path
    else:
        if group != "Build":
            raise QuadletError(f"unsupported value for WorkingDirectory: {setting} ")
        context = setting
        if not os.path.isabs(context):
            relative_to = unit.path
    if relative_to and not is_url(context):
        if unit.lookup(SERVICE, "WorkingDirectory"):
            return ""
        path = absolute_path(unit, relative_to)
        service.add(SERVICE, "WorkingDirectory", os.path.dirname(path))
    return context
