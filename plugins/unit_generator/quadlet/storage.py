"""Volumes, mounts and images that may name other Quadlet files (``x.volume``,
``x.image``, ``x.build``, ``x.artifact``), plus the CSV that ``--mount`` speaks."""

from __future__ import annotations

import logging

from plugins.unit_generator.quadlet.keys import UNIT
from plugins.unit_generator.quadlet.model import Cmdline, Context, QuadletError
from plugins.unit_generator.quadlet.options import absolute_path, depend_on
from plugins.unit_generator.quadlet.parser import SPACE, UnitFile

logger = logging.getLogger(__name__)


class CsvError(ValueError):
    pass


def csv_records(text: str, sep: str = ",") -> list[list[str]]:
    """Records of ``text`` read like Go's encoding/csv (strict about bare quotes)."""
    records: list[list[str]] = []
    fields: list[str] = []
    text = text.replace("\r\n", "\n")
    i, n = 0, len(text)
    at_record_start = True
    while i < n:
        if at_record_start and text[i] == "\n":  # blank lines are skipped
            i += 1
            continue
        at_record_start = False
        if text[i] == '"':
            value: list[str] = []
            i += 1
            while True:
                if i >= n:
                    raise CsvError('extraneous or missing " in quoted-field')
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        value.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                value.append(text[i])
                i += 1
            if i < n and text[i] not in (sep, "\n"):
                raise CsvError('extraneous or missing " in quoted-field')
            field = "".join(value)
        else:
            end = i
            while end < n and text[end] not in (sep, "\n"):
                end += 1
            field = text[i:end]
            if '"' in field:
                raise CsvError('bare " in non-quoted-field')
            i = end
        fields.append(field)
        if i >= n or text[i] == "\n":
            records.append(fields)
            fields = []
            at_record_start = True
        elif i + 1 >= n:  # the separator ends the text: one more, empty field
            records.append([*fields, ""])
            fields = []
        i += 1  # past the newline or the separator
    return records


def csv_join(fields: list[str], sep: str = ",") -> str:
    """One CSV record, quoting a field only when a reader would need it."""
    out: list[str] = []
    for field in fields:
        if field and (field == "\\." or any(c in field for c in (sep, '"', "\r", "\n"))
                      or field[0] in SPACE):
            out.append('"' + field.replace('"', '""') + '"')
        else:
            out.append(field)
    return sep.join(out)


def storage_source(unit: UnitFile, service: UnitFile, source: str, ctx: Context,
                   check_image: bool) -> str:
    """Resolve a volume or mount source: a path (kept mounted), or a Quadlet unit."""
    if not source:
        raise QuadletError("source cannot be empty")
    if source[0] == ".":
        source = absolute_path(unit, source)
    if source[0] == "/":
        service.add_escaped(UNIT, "RequiresMountsFor", source)
    elif (source.endswith((".volume", ".artifact"))
          or (check_image and source.endswith(".image"))):
        source = depend_on(source, service, ctx,
                           f"requested Quadlet source {source} was not found").resource_name
    return source


def image_source(image: str, service: UnitFile, ctx: Context) -> str:
    """An image named ``x.image`` or ``x.build`` is the image that unit pulls or builds."""
    if image.endswith((".build", ".image")):
        image = depend_on(image, service, ctx,
                          f"requested Quadlet image {image} was not found").resource_name
    return image


def add_volumes(unit: UnitFile, service: UnitFile, group: str, ctx: Context,
                cmd: Cmdline) -> None:
    """``-v [SOURCE:]DEST[:OPTIONS]`` for each ``Volume=``."""
    for volume in unit.lookup_all(group, "Volume"):
        parts = volume.split(":", 2)
        source, dest = (parts[0], parts[1]) if len(parts) >= 2 else ("", parts[0])
        options = ":" + parts[2] if len(parts) == 3 else ""
        if source:
            source = storage_source(unit, service, source, ctx, check_image=False)
        cmd.add("-v", f"{source}:{dest}{options}" if source else dest)


_RESOLVED_MOUNT_TYPES = ("volume", "bind", "glob", "image", "artifact")


def mount_type(mount: str) -> tuple[str, list[str]]:
    """The ``type=`` of a ``--mount`` value (``volume`` by default) and its other fields."""
    try:
        records = csv_records(mount)
    except CsvError as exc:
        raise QuadletError(str(exc)) from exc
    if len(records) != 1:
        raise QuadletError("incorrect mount format: should be --mount type=<bind|glob|tmpfs|"
                           "volume>,[src=<host-dir|volume-name>,]target=<ctr-dir>[,options]")
    kind: str | None = None
    tokens: list[str] = []
    for token in records[0]:
        kv = token.split("=")
        if kind is not None or len(kv) != 2 or kv[0] != "type":
            tokens.append(token)
        else:
            kind = kv[1]
    return ("volume" if kind is None else kind), tokens


def resolve_mount(unit: UnitFile, service: UnitFile, mount: str, ctx: Context) -> str:
    kind, tokens = mount_type(mount)
    if kind not in _RESOLVED_MOUNT_TYPES:
        return mount
    index = -1
    source = ""
    for i, token in enumerate(tokens):
        key, has_value, value = token.partition("=")
        if key in ("source", "src"):
            if not has_value:
                raise QuadletError("source parameter does not include a value")
            index, source = i, value
    if source:
        tokens[index] = "source=" + storage_source(unit, service, source, ctx, check_image=True)
    elif kind != "volume":
        raise QuadletError(f"source parameter is required for mount type {kind}")
    return csv_join([f"type={kind}", *tokens])
