"""A systemd unit-file model that reads, edits and writes back a file faithfully.

Groups keep their order and their comments; several sections of the same name are merged
into one. Continuation lines (a trailing backslash) are joined while reading, and a comment
inside a continuation is dropped, as systemd does. ``lookup_all`` treats an empty
assignment (``Key=``) as "forget every earlier value". Template names
(``foo@.container``, ``foo@bar.container``) and the drop-in folders that apply to a file
are worked out here too.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field, replace

from plugins.unit_generator.quadlet.split import (
    EXEC_FLAGS,
    STRV_FLAGS,
    Split,
    SplitError,
    escape_word,
    escape_words,
    split_words,
)

logger = logging.getLogger(__name__)

# What Go's unicode.IsSpace accepts, which is what Podman trims lines with.
SPACE = " \t\n\v\f\r\x85\xa0"
_TRUE = {"1", "yes", "true", "on"}


class UnitFileError(ValueError):
    """The text is not a valid unit file."""


@dataclass
class _Line:
    key: str
    value: str
    is_comment: bool = False


@dataclass
class _Group:
    name: str
    comments: list[_Line] = field(default_factory=list)
    lines: list[_Line] = field(default_factory=list)

    def last(self, key: str) -> _Line | None:
        return next((line for line in reversed(self.lines)
                     if not line.is_comment and line.key == key), None)

    def merge(self, other: _Group) -> None:
        self.comments.extend(replace(line) for line in other.comments)
        self.lines.extend(replace(line) for line in other.lines)


def _is_comment(line: str) -> bool:
    return not line or line[0] in "#;"


def _is_group(line: str) -> bool:
    if not line.startswith("["):
        return False
    end = line.find("]")
    return end != -1 and not line[end + 1:].strip(" \t")


def _valid_group_name(name: str) -> bool:
    return bool(name) and not any(c in "[]" or ord(c) < 32 or 127 <= ord(c) < 160 for c in name)


def join_continuations(raw: str) -> str:
    return raw.replace("\\\n", "")


def _to_int(text: str) -> int | None:
    """strtol-like: optional sign, then 0x hex, 0 octal or decimal."""
    sign = 1
    if text.startswith(("+", "-")):  # not text[:1] in "+-": "" is in every string
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", text):
        return sign * int(text[2:], 16)
    if re.fullmatch(r"0[0-7]*", text):
        return sign * int(text, 8)
    if re.fullmatch(r"[0-9]+", text):
        return sign * int(text)
    return None


class UnitFile:
    """One unit file (or drop-in) in memory."""

    def __init__(self, filename: str = "", path: str = "") -> None:
        self._groups: list[_Group] = []
        self._by_name: dict[str, _Group] = {}
        self.filename = filename
        self.path = path

    # -- reading and writing ------------------------------------------------------------
    @classmethod
    def from_path(cls, path: str) -> UnitFile:
        with open(path, encoding="utf-8", errors="surrogateescape") as fh:
            return cls.from_string(fh.read(), os.path.basename(path), path)

    @classmethod
    def from_string(cls, text: str, filename: str = "", path: str = "") -> UnitFile:
        unit = cls(filename, path)
        unit.parse(text)
        return unit

    def _ensure(self, name: str) -> _Group:
        group = self._by_name.get(name)
        if group is None:
            group = _Group(name)
            self._groups.append(group)
            self._by_name[name] = group
        return group

    def parse(self, text: str) -> None:
        current: _Group | None = None
        pending: list[_Line] = []
        raw_lines = text.removesuffix("\n").split("\n")
        carried = ""
        for number, raw in enumerate(raw_lines, start=1):
            line = raw.strip(SPACE)
            if _is_comment(line):
                if carried:
                    continue  # a comment inside a continuation is dropped
            else:
                if line.endswith("\\"):
                    line = line[:-1]
                    if number != len(raw_lines):
                        carried += line
                        continue
                line, carried = carried + line, ""
            if _is_comment(line):
                pending.append(_Line("", line, True))
            elif _is_group(line):
                name = line[1:line.index("]")]
                if not _valid_group_name(name):
                    raise UnitFileError(f"invalid group name: {name}")
                current = self._ensure(name)
                if pending and not pending[0].value:
                    pending = pending[1:]  # one blank line between groups is re-added on write
                current.comments.extend(pending)
                pending = []
            elif "=" in line and not line.startswith("="):
                if current is None:
                    raise UnitFileError("key file does not start with a group")
                key, _, value = line.partition("=")
                key = key.rstrip(SPACE)
                if not key or key[0] == " " or key[-1] == " ":
                    raise UnitFileError(f"invalid key name: {key}")
                current.lines.extend(pending)
                pending = []
                current.lines.append(_Line(key, value.lstrip(SPACE)))
            else:
                raise UnitFileError(f"file contains line {number}: “{line}” which is not a "
                                    "key-value pair, group, or comment")
        if current is None:
            current = self._ensure("")  # a file of comments only
        current.lines.extend(pending)

    def to_string(self) -> str:
        out: list[str] = []
        for index, group in enumerate(self._groups):
            if index:
                out.append("\n")
            out.extend(c.value + "\n" for c in group.comments)
            if not group.name:
                continue
            out.append(f"[{group.name}]\n")
            for line in group.lines:
                out.append(line.value + "\n" if line.is_comment else f"{line.key}={line.value}\n")
        return "".join(out)

    # -- whole-file operations ------------------------------------------------------------
    def merge(self, other: UnitFile) -> None:
        for group in other._groups:
            self._ensure(group.name).merge(group)

    def dup(self) -> UnitFile:
        copy = UnitFile(self.filename)
        copy.merge(self)
        return copy

    def remove_group(self, name: str) -> None:
        group = self._by_name.pop(name, None)
        if group is not None:
            self._groups.remove(group)

    def rename_group(self, name: str, new_name: str) -> None:
        group = self._by_name.get(name)
        if group is None:
            return
        target = self._by_name.get(new_name)
        if target is None:
            del self._by_name[name]
            group.name = new_name
            self._by_name[new_name] = group
        elif target is not group:
            target.merge(group)
            self.remove_group(name)

    def list_groups(self) -> list[str]:
        return [g.name for g in self._groups]

    def list_keys(self, group_name: str) -> list[str]:
        group = self._by_name.get(group_name)
        if group is None:
            return []
        return list(dict.fromkeys(line.key for line in group.lines if not line.is_comment))

    # -- lookups ----------------------------------------------------------------------------
    def lookup_last_raw(self, group_name: str, key: str) -> str | None:
        group = self._by_name.get(group_name)
        line = group.last(key) if group else None
        return None if line is None else line.value

    def has_key(self, group_name: str, key: str) -> bool:
        return self.lookup_last_raw(group_name, key) is not None

    def lookup_last(self, group_name: str, key: str) -> str | None:
        raw = self.lookup_last_raw(group_name, key)
        return None if raw is None else join_continuations(raw)

    def lookup(self, group_name: str, key: str) -> str | None:
        """The last value, right-trimmed, with one pair of surrounding double quotes removed."""
        value = self.lookup_last(group_name, key)
        if value is None:
            return None
        value = value.rstrip(SPACE)
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        return value

    def lookup_bool(self, group_name: str, key: str) -> bool | None:
        value = self.lookup(group_name, key)
        return None if value is None else value.lower() in _TRUE

    def lookup_bool_default(self, group_name: str, key: str, default: bool) -> bool:
        value = self.lookup_bool(group_name, key)
        return default if value is None else value

    def lookup_uint32(self, group_name: str, key: str, default: int) -> int:
        value = self.lookup(group_name, key)
        number = None if value is None else _to_int(value)
        return number if number is not None and 0 <= number <= 0xFFFFFFFF else default

    def lookup_all_raw(self, group_name: str, key: str) -> list[str]:
        group = self._by_name.get(group_name)
        values: list[str] = []
        for line in group.lines if group else ():
            if not line.is_comment and line.key == key:
                if line.value:
                    values.append(line.value)
                else:
                    values = []  # an empty assignment resets the list
        return values

    def lookup_all(self, group_name: str, key: str) -> list[str]:
        return [join_continuations(v) for v in self.lookup_all_raw(group_name, key)]

    def _split_all(self, group_name: str, key: str, flags: Split) -> list[str]:
        """Every value split into words; a value that does not split is left out."""
        words: list[str] = []
        for value in self.lookup_all(group_name, key):
            try:
                words.extend(split_words(value, flags))
            except SplitError:
                logger.debug("cannot split %s=%s", key, value)
        return words

    def lookup_all_strv(self, group_name: str, key: str) -> list[str]:
        """Every value split into words the way systemd reads ``WantedBy=`` or ``Alias=``."""
        return self._split_all(group_name, key, STRV_FLAGS)

    def lookup_all_args(self, group_name: str, key: str) -> list[str]:
        """Every value split exec-style."""
        return self._split_all(group_name, key, EXEC_FLAGS)

    def lookup_last_args(self, group_name: str, key: str) -> list[str] | None:
        """The last value split exec-style (``None`` if unset); raises SplitError."""
        value = self.lookup_last(group_name, key)
        return None if value is None else split_words(value, EXEC_FLAGS)

    def lookup_all_key_val(self, group_name: str,
                           key: str) -> tuple[dict[str, str | None], list[str]]:
        """``Environment=``-style ``K=V`` words; a word with no ``=`` maps to ``None``."""
        result: dict[str, str | None] = {}
        warnings: list[str] = []
        for value in self.lookup_all(group_name, key):
            try:
                words = split_words(value, EXEC_FLAGS)
            except SplitError as exc:
                warnings.append(str(exc))
                continue
            for word in words:
                name, sep, val = word.partition("=")
                result[name] = val if sep else None
        return result, warnings

    # -- edits ------------------------------------------------------------------------------
    def set(self, group_name: str, key: str, value: str) -> None:
        group = self._ensure(group_name)
        line = group.last(key)
        if line is None:
            group.lines.append(_Line(key, value))
        else:
            line.value = value

    def setv(self, group_name: str, *pairs: tuple[str, str]) -> None:
        for key, value in pairs:
            self.set(group_name, key, value)

    def add(self, group_name: str, key: str, value: str) -> None:
        self._ensure(group_name).lines.append(_Line(key, value))

    def add_escaped(self, group_name: str, key: str, value: str) -> None:
        self.add(group_name, key, escape_word(value))

    def add_cmdline(self, group_name: str, key: str, args: list[str]) -> None:
        self.add(group_name, key, escape_words(args))

    def unset(self, group_name: str, key: str) -> None:
        group = self._by_name.get(group_name)
        if group is not None:
            group.lines = [ln for ln in group.lines if ln.is_comment or ln.key != key]

    def _first_or(self, group_name: str) -> _Group:
        if not group_name and self._groups:
            return self._groups[0]
        return self._ensure(group_name)

    def prepend_comment(self, group_name: str, *comments: str) -> None:
        group = self._first_or(group_name)
        group.comments[:0] = [_Line("", "# " + c, True) for c in comments]

    def prepend_line(self, group_name: str, key: str, value: str) -> None:
        self._first_or(group_name).lines.insert(0, _Line(key, value))

    # -- names --------------------------------------------------------------------------------
    def template_parts(self) -> tuple[str, str, bool]:
        """(unit name, instance, is a template) for ``name@instance.ext``."""
        base = os.path.splitext(self.filename)[0]
        unit, at, instance = base.partition("@")
        return unit, instance, bool(at)

    def dropin_paths(self) -> list[str]:
        """Drop-in folder names that apply to this file, the most specific first."""
        unit, instance, is_template = self.template_parts()
        ext = os.path.splitext(self.filename)[1]
        dropin_ext = ext + ".d"
        paths = [dropin_ext[1:]]  # "container.d": applies to every file of the type
        parts = unit.split("-")
        for i in range(1, len(parts)):
            prefix = "-".join(parts[:i]) + "-"
            paths.append(prefix + dropin_ext)
            if is_template:
                paths.append(prefix + "@" + dropin_ext)
        if instance:
            paths.append(unit + "@" + dropin_ext)
        paths.append(self.filename + ".d")
        return list(reversed(paths))

