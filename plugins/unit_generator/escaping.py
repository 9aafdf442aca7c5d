"""Escaping of arguments and values for systemd unit files, exactly as Podman 4.3 does it.

Podman (``escapeSystemdArg``) doubles ``$`` and ``%`` (so systemd neither expands variables
nor specifiers), then Go-quotes (``strconv.Quote``) an argument holding a space, a tab or a
double quote, and otherwise only doubles backslashes. :func:`check_expressible` refuses what
a unit file cannot carry at all: a newline, a carriage return or a NUL.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable, Sequence

from .errors import GenerateError

logger = logging.getLogger(__name__)

_FORBIDDEN = {"\n": "a newline", "\r": "a carriage return", "\x00": "a NUL byte"}
_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t",
               "\v": r"\v"}
# Unicode general categories Go's strconv.IsPrint accepts (letters, marks, numbers,
# punctuation, symbols); of the separators only the ASCII space.
_PRINTABLE_CATEGORIES = ("L", "M", "N", "P", "S")


def _go_is_print(ch: str) -> bool:
    if ch == " ":
        return True
    return unicodedata.category(ch).startswith(_PRINTABLE_CATEGORIES)


def go_quote(text: str) -> str:
    """Return ``text`` as Go's ``strconv.Quote`` writes it: double quotes, C-style escapes."""
    out = ['"']
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif _go_is_print(ch):
            out.append(ch)
        elif ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        else:
            code = ord(ch)
            if code < 0x20 or code == 0x7F:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


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
