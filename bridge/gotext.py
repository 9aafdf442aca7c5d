"""Text as Go writes and reads it, for the plugins that answer in Podman's own words: the
one copy of ``strconv.Quote`` and of a boolean flag's value as pflag reads it."""

from __future__ import annotations

import unicodedata

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
