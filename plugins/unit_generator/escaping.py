"""Escaping of arguments and values for systemd unit files, exactly as Podman 4.3 does it.

Podman (``escapeSystemdArg``) doubles ``$`` and ``%`` (so systemd neither expands variables
nor specifiers), then Go-quotes (``strconv.Quote``) an argument holding a space, a tab or a
double quote, and otherwise only doubles backslashes. :func:`check_expressible` refuses what
a unit file cannot carry at all: a newline, a carriage return or a NUL.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from bridge.gotext import go_quote

from .errors import GenerateError

logger = logging.getLogger(__name__)

_FORBIDDEN = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte"}


def escape_arg(arg: str) -> str:
    """Escape one command-line argument (or ``Environment=`` assignment) as Podman does."""
    arg = arg.replace("$", "$$").replace("%", "%%")
    if any(c in arg for c in ' \t"'):
        return go_quote(arg)
    return arg.replace("\\", "\\\\")


def escape_args(args: Iterable[str]) -> list[str]:
    """:func:`escape_arg` applied to every argument."""
    return [escape_arg(a) for a in args]


def check_expressible(value: str, field: str) -> None:
    """Refuse a value a unit file cannot express, naming ``field`` in the error."""
    for ch, what in _FORBIDDEN.items():
        if ch in value:
            raise GenerateError(
                f"{field}: {value!r} contains {what}, which a systemd unit cannot express"
            )


def check_all_expressible(values: Sequence[str], field: str) -> None:
    """:func:`check_expressible` on each value; the error names ``field[index]``."""
    for index, value in enumerate(values):
        check_expressible(value, f"{field}[{index}]")


def format_options(tokens: Sequence[str]) -> str:
    """Join tokens as Podman's ``formatOptions``: every token starting with ``-`` begins a
    new continuation line (`` \\`` + newline + tab); the others are joined by a space."""
    if not tokens:
        return ""
    return tokens[0] + "".join((" \\\n\t" if t.startswith("-") else " ") + t for t in tokens[1:])
