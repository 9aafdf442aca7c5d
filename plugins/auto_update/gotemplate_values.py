"""Go values for the template subset: how fmt prints them (%v), their Go type names,
truth, and the template functions (Podman's and the few of Go's that are supported)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bridge.gotext import go_json, go_quote
from plugins.auto_update.gotemplate_parse import Struct

Func = Callable[..., Any]


class _NoValue:
    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


# Python type -> Go's name for it, in the order checked (a bool is an int too).
_GO_TYPES = ((bool, "bool"), (int, "int"), (float, "float64"), (str, "string"),
             (dict, "map[string]string"))


def go_type(v: Any) -> str:
    if isinstance(v, Struct):
        return v.type_name
    if isinstance(v, list):
        return "[]" + (go_type(v[0]) if v else "interface {}")
    return next((name for t, name in _GO_TYPES if isinstance(v, t)), "interface {}")


def go_print(v: Any) -> str:
    """fmt's %v."""
    if v is None:
        return "<nil>"
    if v is NO_VALUE:
        return "<no value>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        text = repr(v)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(v, Struct):
        return "{" + " ".join(go_print(x) for x in v.fields.values()) + "}"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{go_print(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, list):
        return "[" + " ".join(go_print(x) for x in v) + "]"
    return str(v)


def _plain(v: Any) -> Any:
    if isinstance(v, Struct):
        return {k: _plain(x) for k, x in v.fields.items()}
    if isinstance(v, dict):
        return {k: _plain(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return None if v is NO_VALUE else v


# Go maps case one rune at a time by Unicode's simple mappings (unicode.ToUpper, ToLower,
# ToTitle). Python's str methods use the full ones: where those give more than one
# character, Go keeps the rune (ß, ŉ, ﬀ), except for these simple mappings.
_SIMPLE_UPPER = {**{c: c + 8 for first in (0x1F80, 0x1F90, 0x1FA0)
                    for c in range(first, first + 8)},
                 0x1FB3: 0x1FBC, 0x1FC3: 0x1FCC, 0x1FF3: 0x1FFC}
_SIMPLE_LOWER = {0x130: 0x69}


def _rune_case(full: Callable[[str], str], simple: dict[int, int]) -> Callable[[str], str]:
    def one(ch: str) -> str:
        mapped = full(ch)
        return mapped if len(mapped) == 1 else chr(simple.get(ord(ch), ord(ch)))
    return lambda s: "".join(one(ch) for ch in s)


_upper = _rune_case(str.upper, _SIMPLE_UPPER)
_lower = _rune_case(str.lower, _SIMPLE_LOWER)
_to_title = _rune_case(str.title, _SIMPLE_UPPER)


def _go_separator(ch: str) -> bool:
    """strings.Title's isSeparator: ASCII but letters, digits and ``_``; beyond ASCII only
    spaces."""
    return not (ch.isalnum() or ch == "_") if ch.isascii() else ch.isspace()


def _title(s: str) -> str:
    out, prev = [], " "
    for ch in s:
        out.append(_to_title(ch) if _go_separator(prev) else ch)
        prev = ch
    return "".join(out)


# Podman's template functions (containers/common report.DefaultFuncs): name -> (function,
# argument types); "any" takes every value.
FUNCS: dict[str, tuple[Func, tuple[str, ...]]] = {
    "json": (lambda v: go_json(_plain(v), escape_html=False), ("any",)),
    "lower": (_lower, ("string",)),
    "upper": (_upper, ("string",)),
    "title": (_title, ("string",)),
    "pad": (lambda s, prefix, suffix: " " * prefix + s + " " * suffix if s else s,
            ("string", "int", "int")),
    "truncate": (lambda s, n: s[:n], ("string", "int")),
    "join": (lambda items, sep: sep.join(items), ("[]string", "string")),
    "split": (lambda s, sep: s.split(sep) if sep else list(s), ("string", "string")),
}

_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d+))?([svdqtx%])")


def go_sprintf(fmt: str, args: list[Any]) -> str:
    it = iter(args)
    missing = object()

    def one(m: re.Match[str]) -> str:
        flags, width, prec, verb = m.groups()
        if verb == "%":
            return "%"
        v = next(it, missing)
        if v is missing:
            return f"%!{verb}(MISSING)"
        if verb == "q":
            text = go_quote(str(v))
        elif verb == "d" and isinstance(v, int) and not isinstance(v, bool):
            text = str(v)
        elif verb == "x" and isinstance(v, int):
            text = f"{v:x}"
        elif verb in "svt" or verb == "x":
            text = go_print(v)
            if prec:
                text = text[:int(prec)]
        else:
            text = f"%!{verb}({go_type(v)}={go_print(v)})"
        w = int(width or 0)
        return text.ljust(w) if "-" in flags else text.rjust(w)

    out = _VERB.sub(one, fmt)
    extra = list(it)
    if extra:
        out += "%!(EXTRA " + ", ".join(f"{go_type(v)}={go_print(v)}" for v in extra) + ")"
    return out


def sprint(args: list[Any]) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    return "".join((" " if i and not isinstance(v, str) and not isinstance(args[i - 1], str)
                    else "") + go_print(v) for i, v in enumerate(args))


def is_true(v: Any) -> bool:
    if v is None or v is NO_VALUE:
        return False
    # A struct (and any other value) is true; Go's zero values are false.
    return bool(v) if isinstance(v, bool | int | float | str | list | dict) else True
