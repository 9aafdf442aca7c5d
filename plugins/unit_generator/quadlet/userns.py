"""User and user-namespace keys: ``User``/``Group``, ``UserNS``, ID maps and the
deprecated ``Remap*`` keys."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet.model import Cmdline, QuadletError
from plugins.unit_generator.quadlet.parser import UnitFile

logger = logging.getLogger(__name__)


def add_user(unit: UnitFile, group: str, cmd: Cmdline) -> None:
    user = unit.lookup(group, "User")
    group_id = unit.lookup(group, "Group")
    if not user:
        if group_id:
            raise QuadletError("invalid Group set without User")
        return
    cmd.add("--user", f"{user}:{group_id}" if group_id else user)


def _userns(kind: str, opts: list[str]) -> str:
    return f"{kind}:{','.join(opts)}" if opts else kind


def add_user_mappings(unit: UnitFile, group: str, cmd: Cmdline, support_manual: bool) -> None:
    """Explicit mappings win; mixing them with the deprecated Remap keys is an error."""
    defined = False
    userns = unit.lookup(group, "UserNS")
    if userns:
        cmd.add("--userns", userns)
        defined = True
    for key, flag in (("UIDMap", "--uidmap"), ("GIDMap", "--gidmap")):
        maps = unit.lookup_all_strv(group, key)
        defined = defined or bool(maps)
        for value in maps:
            cmd.add(flag, value)
    for key, flag in (("SubUIDMap", "--subuidname"), ("SubGIDMap", "--subgidname")):
        name = unit.lookup(group, key)
        if name:
            cmd.add(flag, name)
            defined = True
    if defined:
        if any(unit.has_key(group, key) for key in ("RemapUid", "RemapGid", "RemapUsers")):
            raise QuadletError("deprecated Remap keys are set along with explicit mapping keys")
        return
    _add_remap(unit, group, cmd, support_manual)


def _add_remap(unit: UnitFile, group: str, cmd: Cmdline, support_manual: bool) -> None:
    uid_maps = unit.lookup_all_strv(group, "RemapUid")
    gid_maps = unit.lookup_all_strv(group, "RemapGid")
    remap = unit.lookup_last(group, "RemapUsers") or ""
    if remap == "":
        if uid_maps:
            raise QuadletError("UidMap set without RemapUsers")
        if gid_maps:
            raise QuadletError("GidMap set without RemapUsers")
    elif remap == "manual":
        if not support_manual:
            raise QuadletError("RemapUsers=manual is not supported")
        for value in uid_maps:
            cmd.add("--uidmap", value)
        for value in gid_maps:
            cmd.add("--gidmap", value)
    elif remap == "auto":
        opts = [f"uidmapping={m}" for m in uid_maps] + [f"gidmapping={m}" for m in gid_maps]
        size = unit.lookup_uint32(group, "RemapUidSize", 0)
        if size > 0:
            opts.append(f"size={size}")
        cmd.add("--userns", _userns("auto", opts))
    elif remap == "keep-id":
        opts = []
        for maps, name, what in ((uid_maps, "uid", "UID"), (gid_maps, "gid", "GID")):
            if len(maps) > 1:
                raise QuadletError(f"RemapUsers=keep-id supports only a single value for {what} "
                                   "mapping")
            if maps:
                opts.append(f"{name}={maps[0]}")
        cmd.add("--userns", _userns("keep-id", opts))
    else:
        raise QuadletError(f"unsupported RemapUsers option '{remap}'")
