"""Text as Go writes and reads it, for the plugins that answer in Podman's own words: the
one copy of ``strconv.Quote``, of a boolean and an unsigned flag's value as pflag reads
them, and of encoding/json's text."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

_GO_ESCAPES = {"\a": r"\a", "\b": r"\b", "\f": r"\f", "\n": r"\n", "\r": r"\r", "\t": r"\t",
               "\v": r"\v"}
# What Go's strconv.ParseBool (so pflag) takes for true and false.
GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
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


def flag_bool(value: str, flag: str) -> bool:
    """``--flag=value`` of a boolean flag, as pflag reads it (strconv.ParseBool); a
    ``ValueError`` with pflag's text for anything else."""
    if value in GO_TRUE:
        return True
    if value in GO_FALSE:
        return False
    raise ValueError(f"invalid argument {go_quote(value)} for {go_quote(flag)} flag: "
                     f"strconv.ParseBool: parsing {go_quote(value)}: invalid syntax")


_PREFIXES = {"b": 2, "o": 8, "x": 16}
UINT64_MAX = 2**64 - 1


def _lower(ch: str) -> str:
    """Go's ``lower``: ASCII letters only (``c | 0x20``)."""
    return ch.lower() if ch.isascii() else ch


def _underscores_ok(text: str) -> bool:
    """Go's ``underscoreOK``: each ``_`` sits between digits (a base prefix counts as one)."""
    saw, rest, hexdigits = "^", text, False
    if len(text) >= 2 and text[0] == "0" and _lower(text[1]) in _PREFIXES:
        saw, rest, hexdigits = "0", text[2:], _lower(text[1]) == "x"
    for ch in rest:
        if "0" <= ch <= "9" or (hexdigits and "a" <= _lower(ch) <= "f"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def flag_uint(value: str, flag: str) -> int:
    """``--flag value`` of an unsigned flag, as pflag reads it: ``strconv.ParseUint(value,
    0, 64)``, so ``010`` is 8, ``0x10`` 16, ``1_000`` 1000; a ``ValueError`` with pflag's
    text for anything else."""
    def refused(why: str) -> ValueError:
        return ValueError(f"invalid argument {go_quote(value)} for {go_quote(flag)} flag: "
                          f"strconv.ParseUint: parsing {go_quote(value)}: {why}")

    if not value:
        raise refused("invalid syntax")
    base, digits = 10, value
    if value[0] == "0":
        prefix = _lower(value[1:2])
        if len(value) >= 3 and prefix in _PREFIXES:
            base, digits = _PREFIXES[prefix], value[2:]
        else:
            base, digits = 8, value[1:]
    number, underscores = 0, False
    for ch in digits:
        if ch == "_":
            underscores = True
            continue
        if "0" <= ch <= "9":
            digit = ord(ch) - ord("0")
        elif "a" <= _lower(ch) <= "z":
            digit = ord(_lower(ch)) - ord("a") + 10
        else:
            raise refused("invalid syntax")
        if digit >= base:
            raise refused("invalid syntax")
        number = number * base + digit
        if number > UINT64_MAX:
            raise refused("value out of range")
    if underscores and not _underscores_ok(value):
        raise refused("invalid syntax")
    return number


def go_json(value: Any, indent: str | None = None, *, sort_keys: bool = False,
            escape_html: bool = True) -> str:
    """``value`` as Go's encoding/json writes it: ``json.MarshalIndent(value, "", indent)``,
    or ``json.Marshal`` without an indent. UTF-8 is kept (but U+2028 and U+2029); ``<``,
    ``>`` and ``&`` are escaped unless ``escape_html`` is false (an Encoder after
    SetEscapeHTML(false)). ``sort_keys`` for Go maps, whose keys Go sorts; a struct's
    fields keep their order."""
    text = json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False,
                      separators=(",", ":") if indent is None else (",", ": "))
    for ch in "\u2028\u2029<>&" if escape_html else "\u2028\u2029":
        text = text.replace(ch, f"\\u{ord(ch):04x}")
    return text
