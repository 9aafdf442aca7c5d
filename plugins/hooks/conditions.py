"""Conditions on event fields: dotted paths into an event, comparisons, and ``{{path}}``
templates.

An event is looked at in its JSON shape (``seq``, ``id``, ``time``, ``source``, ``type``,
``subject``, ``data``). A path is dotted (``data.exit_code``, ``data.labels.app``) or, for
keys that hold dots themselves, a list (``["data", "labels", "io.containers.autoupdate"]``);
an all-digit segment indexes a list.

A condition is ``{path, op, value}`` or the same as one string, ``"data.exit_code != 0"``,
where the value is JSON (``0``, ``"web"``, ``null``, ``true``) or else a bare word taken as a
string (``subject ~ web-*``). Operators: ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` and
``~`` (a glob, as in fnmatch, case-sensitive). A path the event does not have makes the
condition false, whatever the operator.
"""

from __future__ import annotations

import json
import logging
import operator
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

logger = logging.getLogger(__name__)

EVENT_FIELDS = ("seq", "id", "time", "source", "type", "subject", "data")

Op = Literal["==", "!=", "<", "<=", ">", ">=", "~"]
OPS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=", "~")
ALIASES = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
           "glob": "~", "=": "=="}
# The operators that compare numbers (a value that is not one makes them false).
NUMERIC_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}

_SHORTHAND = re.compile(r"^\s*(?P<path>[^\s=!<>~]+)\s*(?P<op>==|!=|<=|>=|<|>|~|=)\s*"
                        r"(?P<value>.*?)\s*$", re.S)
_TEMPLATE = re.compile(r"\{\{\s*([^{}\s]*)\s*\}\}")

_MISSING = object()


def parse_path(path: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The segments of a path, checked: it must start at a field of the event."""
    if isinstance(path, str):
        if not path.strip():
            raise ValueError("empty path")
        parts = tuple(path.split("."))
    else:
        parts = tuple(path)
    if not parts or any(p == "" for p in parts):
        raise ValueError(f"path {path!r} has an empty segment")
    if parts[0] not in EVENT_FIELDS:
        raise ValueError(f"path {path!r} must start with one of {', '.join(EVENT_FIELDS)}")
    if parts[0] != "data" and len(parts) > 1:
        raise ValueError(f"path {path!r}: only 'data' has fields below it")
    return parts


def resolve(event: Mapping[str, Any], parts: tuple[str, ...]) -> Any:
    """The value at ``parts`` in the event's JSON shape, or ``_MISSING``."""
    cur: Any = event
    for part in parts:
        if isinstance(cur, Mapping):
            if part not in cur:
                return _MISSING
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit():
            index = int(part)
            if index >= len(cur):
                return _MISSING
            cur = cur[index]
        else:
            return _MISSING
    return cur


def lookup(event: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """(found, value) for a dotted path; for callers outside this module."""
    value = resolve(event, parse_path(path))
    return (False, None) if value is _MISSING else (True, value)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def json_equal(a: Any, b: Any) -> bool:
    """Equality as JSON means it: ``1 == 1.0``, but ``true`` is not ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a is b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    return type(a) is type(b) and bool(a == b)


def _parse_shorthand(text: str) -> dict[str, Any]:
    m = _SHORTHAND.match(text)
    if m is None:
        raise ValueError(
            f"cannot read condition {text!r}: write PATH OP VALUE, e.g. "
            f"'data.exit_code != 0', with OP one of {', '.join(OPS)}")
    raw = m["value"]
    if raw == "":
        raise ValueError(f"condition {text!r} has no value after {m['op']!r}")
    try:
        value = json.loads(raw)
    except ValueError:
        if raw[0] in "=!<>~":
            raise ValueError(f"cannot read condition {text!r}: unknown operator "
                             f"{m['op'] + raw.split()[0]!r}; use one of {', '.join(OPS)}"
                             ) from None
        value = raw  # a bare word: a string
    return {"path": m["path"], "op": m["op"], "value": value}


class Condition(BaseModel):
    """One test on one field of the event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | list[str] = Field(description="dotted path into the event, e.g. data.exit_code")
    op: Op = Field(description="==, !=, <, <=, >, >= or ~ (glob)")
    value: Any = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            raw = _parse_shorthand(raw)
        if isinstance(raw, dict) and isinstance(raw.get("op"), str):
            op = raw["op"].strip()
            op = ALIASES.get(op, op)
            if op not in OPS:
                raise ValueError(f"unknown operator {raw['op']!r}: use one of {', '.join(OPS)}")
            raw = {**raw, "op": op}
        return raw

    @model_validator(mode="after")
    def _check(self) -> Condition:
        parse_path(self.path)
        if self.op in NUMERIC_OPS and not _is_number(self.value):
            raise ValueError(f"{self.text()}: {self.op!r} compares numbers, "
                             f"but the value is {json.dumps(self.value)}")
        if self.op == "~" and not isinstance(self.value, str):
            raise ValueError(f"{self.text()}: '~' matches a glob, "
                             f"but the value is {json.dumps(self.value)}, not a string")
        return self

    @property
    def parts(self) -> tuple[str, ...]:
        return parse_path(self.path)

    def text(self) -> str:
        path = self.path if isinstance(self.path, str) else json.dumps(self.path)
        return f"{path} {self.op} {json.dumps(self.value)}"

    def evaluate(self, event: Mapping[str, Any]) -> tuple[bool, bool, Any]:
        """(result, found, actual value)."""
        actual = resolve(event, self.parts)
        if actual is _MISSING:
            return False, False, None
        op = self.op
        if op == "==":
            ok = json_equal(actual, self.value)
        elif op == "!=":
            ok = not json_equal(actual, self.value)
        elif op == "~":
            ok = isinstance(actual, str) and fnmatchcase(actual, self.value)
        else:
            ok = _is_number(actual) and NUMERIC_OPS[op](actual, self.value)
        return ok, True, actual

    def check(self, event: Mapping[str, Any]) -> bool:
        return self.evaluate(event)[0]


# -- templates: "{{subject}}", "{{data.exit_code}}" in argv, env, params, data


class TemplateError(Exception):
    pass


def template_paths(text: str) -> list[str]:
    """The paths a template string refers to, each checked (ValueError if bad)."""
    paths = _TEMPLATE.findall(text)
    for p in paths:
        try:
            parse_path(p)
        except ValueError as exc:
            raise ValueError(f"template {text!r}: {exc}") from None
    return paths


def check_templates(obj: Any) -> None:
    """Raise ValueError if any string inside ``obj`` holds a bad ``{{path}}``."""
    if isinstance(obj, str):
        template_paths(obj)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_templates(k)
            check_templates(v)
    elif isinstance(obj, list):
        for v in obj:
            check_templates(v)


def _to_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def render(obj: Any, event: Mapping[str, Any], *, keep_types: bool = True) -> Any:
    """``obj`` with every ``{{path}}`` replaced by the event's value there.

    A string that is exactly one placeholder becomes the value itself (a number stays a
    number) when ``keep_types``; elsewhere values are put in as text (JSON for non-strings).
    A path the event lacks raises TemplateError.
    """
    if isinstance(obj, str):
        def value_of(path: str) -> Any:
            value = resolve(event, parse_path(path))
            if value is _MISSING:
                raise TemplateError(f"the event has no {path!r} (in {obj!r})")
            return value

        whole = _TEMPLATE.fullmatch(obj.strip())
        if whole is not None and keep_types:
            return value_of(whole[1])
        return _TEMPLATE.sub(lambda m: _to_text(value_of(m[1])), obj)
    if isinstance(obj, dict):
        return {render(k, event, keep_types=False): render(v, event, keep_types=keep_types)
                for k, v in obj.items()}
    if isinstance(obj, list):
        return [render(v, event, keep_types=keep_types) for v in obj]
    return obj


def render_text(text: str, event: Mapping[str, Any]) -> str:
    result = render(text, event, keep_types=False)
    assert isinstance(result, str)
    return result
