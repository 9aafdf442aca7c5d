"""Text as Go writes and reads it, for the plugins that answer in Podman's own words: the
one copy of ``strconv.Quote``, of a boolean flag's value as pflag reads it, and of
encoding/json's text."""

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
