"""A scanner for stored create commands that reads flags the way Podman's pflag set does.

Podman 4.3 parses the tail of a container's create command with a ``pflag.FlagSet`` that
knows only a handful of flags, allows unknown ones and stops at the first positional
argument (``SetInterspersed(false)``). Which words end up "positional" (the image and its
command, never rewritten) depends on pflag's quirks, so they are reproduced here:

- an unknown ``--flag`` (or ``-f``) without ``=`` swallows the next word unless it starts
  with ``-`` (``--privileged alpine sh`` leaves only ``sh`` positional);
- in a group of short flags (``-dti``) every unknown letter looks at the same next word,
  so the group swallows it once;
- ``--`` ends the flags and is not itself positional.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from bridge.gotext import flag_bool

from .errors import GenerateError

logger = logging.getLogger(__name__)

FlagKind = Literal["bool", "string", "array"]


@dataclass(frozen=True)
class Flag:
    name: str
    kind: FlagKind
    short: str = ""

    @property
    def shown(self) -> str:
        """The flag as pflag names it in an error: ``-d, --detach`` when it has a shorthand,
        whichever form was typed."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


@dataclass
class ScanResult:
    """What the scan found: last values, which flags were given, and the positional tail."""

    values: dict[str, str | bool | list[str]] = field(default_factory=dict)
    changed: set[str] = field(default_factory=set)
    positional: list[str] = field(default_factory=list)
    # Every flag as given, in order: (long name, value); unknown flags as ("?" + word, value
    # or "") when the scanner was asked to keep them.
    occurrences: list[tuple[str, str]] = field(default_factory=list)

    @property
    def narg(self) -> int:
        """pflag's ``NArg()``: how many trailing words are the image and its command."""
        return len(self.positional)

    def get_bool(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def get_str(self, name: str) -> str:
        value = self.values.get(name, "")
        return value if isinstance(value, str) else ""

    def get_list(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return list(value) if isinstance(value, list) else []


class _Scanner:
    def __init__(self, flags: Sequence[Flag]) -> None:
        self.long = {f.name: f for f in flags}
        self.short = {f.short: f for f in flags if f.short}
        self.result = ScanResult()

    def _set(self, flag: Flag, value: str) -> None:
        if flag.kind == "bool":
            try:
                self.result.values[flag.name] = flag_bool(value, flag.shown)
            except ValueError as exc:
                raise GenerateError(f"parsing remaining command-line arguments: {exc}") from None
        elif flag.kind == "array":
            current = self.result.values.setdefault(flag.name, [])
            assert isinstance(current, list)
            current.append(value)
        else:
            self.result.values[flag.name] = value
        self.result.changed.add(flag.name)
        self.result.occurrences.append((flag.name, value))

    @staticmethod
    def _strip_unknown_value(args: list[str]) -> tuple[list[str], str]:
        """(the words left, the one an unknown flag swallows: the next, unless a flag)."""
        if not args or args[0].startswith("-"):
            return args, ""
        return args[1:], args[0]

    def _long(self, word: str, args: list[str]) -> list[str]:
        name = word[2:]
        if not name or name[0] in "-=":
            raise GenerateError(
                f"parsing remaining command-line arguments: bad flag syntax: {word}"
            )
        name, eq, value = name.partition("=")
        flag = self.long.get(name)
        if flag is None:
            rest, value = (args, value) if eq else self._strip_unknown_value(args)
            self.result.occurrences.append(("?" + word, value))
            return rest
        if eq:
            pass
        elif flag.kind == "bool":
            value = "true"
        elif args:
            value, args = args[0], args[1:]
        else:
            raise GenerateError(
                f"parsing remaining command-line arguments: flag needs an argument: {word}"
            )
        self._set(flag, value)
        return args

    def _short(self, word: str, args: list[str]) -> list[str]:
        shorthands = word[1:]
        out = args
        while shorthands:
            if shorthands.startswith("test."):
                break
            letter, rest = shorthands[0], shorthands[1:]
            flag = self.short.get(letter)
            if flag is None:
                if len(shorthands) > 2 and shorthands[1] == "=":
                    rest, out = "", args
                    self.result.occurrences.append(("?-" + letter, shorthands[2:]))
                else:
                    out, swallowed = self._strip_unknown_value(args)
                    self.result.occurrences.append(("?-" + letter, swallowed))
                shorthands = rest
                continue
            out = args
            if len(shorthands) > 2 and shorthands[1] == "=":
                value, rest = shorthands[2:], ""
            elif flag.kind == "bool":
                value = "true"
            elif len(shorthands) > 1:
                value, rest = shorthands[1:], ""
            elif args:
                value, out = args[0], args[1:]
            else:
                raise GenerateError(
                    "parsing remaining command-line arguments: flag needs an argument: "
                    f"'{letter}' in -{word[1:]}"
                )
            self._set(flag, value)
            shorthands = rest
        return out

    def scan(self, words: Sequence[str]) -> ScanResult:
        args = list(words)
        while args:
            word, args = args[0], args[1:]
            if len(word) < 2 or word[0] != "-":
                self.result.positional = [word, *args]
                break
            if word == "--":
                self.result.positional = list(args)
                break
            args = self._long(word, args) if word[1] == "-" else self._short(word, args)
        return self.result


def scan_flags(words: Sequence[str], flags: Sequence[Flag]) -> ScanResult:
    """Scan ``words`` (the create command after ``run``/``create``) for ``flags``."""
    return _Scanner(flags).scan(words)


# The flags Podman looks for in a container's create command (executeContainerTemplate).
CONTAINER_FLAGS: tuple[Flag, ...] = (
    Flag("detach", "bool", "d"),
    Flag("name", "string"),
    Flag("replace", "bool"),
    Flag("env", "array", "e"),
    Flag("sdnotify", "string"),
    Flag("restart", "string"),
    # Defined so that ``-h hostname`` is not read as a request for help (podman#15124).
    Flag("help", "string", "h"),
)

# ... and in a pod's (executePodTemplate).
POD_FLAGS: tuple[Flag, ...] = (Flag("name", "string"), Flag("replace", "bool"))
