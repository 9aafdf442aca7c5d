"""Time spans in systemd's grammar (``systemd.time(7)``, what ``systemd-analyze timespan``
accepts): ``30``, ``30s``, ``1min 30s``, ``1h30m``, ``500ms``, ``1.5h``, ``7d``, ``2w``,
``1M`` (a month: 30.44 days), ``1y``. A number without a unit is seconds; units are case
sensitive (``m`` is a minute, ``M`` a month). ``infinity`` is refused: every span here
bounds a wait."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_MONTH = 2_629_800.0
_YEAR = 31_557_600.0
# In systemd's order: the first suffix that matches wins ("msec" before "m", "min" before
# "m", "M" for months).
_UNITS: tuple[tuple[str, float], ...] = (
    ("seconds", 1.0), ("second", 1.0), ("sec", 1.0), ("s", 1.0),
    ("minutes", 60.0), ("minute", 60.0), ("min", 60.0),
    ("months", _MONTH), ("month", _MONTH), ("M", _MONTH),
    ("msec", 1e-3), ("ms", 1e-3), ("m", 60.0),
    ("hours", 3600.0), ("hour", 3600.0), ("hr", 3600.0), ("h", 3600.0),
    ("days", 86400.0), ("day", 86400.0), ("d", 86400.0),
    ("weeks", 604800.0), ("week", 604800.0), ("w", 604800.0),
    ("years", _YEAR), ("year", _YEAR), ("y", _YEAR),
    ("usec", 1e-6), ("us", 1e-6), ("\u03bcs", 1e-6), ("\u00b5s", 1e-6),
)
_FACTOR = dict(_UNITS)
_PART = re.compile(r"\s*\+?(\d+(?:\.\d+)?|\.\d+)[ \t]*("
                   + "|".join(re.escape(u) for u, _ in _UNITS) + ")?")
EXAMPLES = "e.g. 30s, 1min 30s, 1h30m, 500ms, 7d"


class TimespanError(ValueError):
    pass


def parse_timespan(text: str) -> float:
    """Seconds in a systemd time span; ``TimespanError`` saying why when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise TimespanError(f"{text!r} is not a time span: it is empty ({EXAMPLES})")
    pos, total, end = 0, 0.0, len(text.rstrip())
    while pos < end:
        m = _PART.match(text, pos)
        if m is None:
            raise TimespanError(f"{text!r} is not a time span ({EXAMPLES})")
        pos = m.end()
        # A number without a unit may only be followed by a blank or another number.
        if m.group(2) is None and pos < end and not (text[pos].isspace()
                                                      or text[pos].isdigit()):
            raise TimespanError(f"{text!r} is not a time span ({EXAMPLES})")
        total += float(m.group(1)) * _FACTOR[m.group(2) or "s"]
    if not math.isfinite(total):
        raise TimespanError(f"{text!r} is too long a time span")
    return total


def parse_timedelta(text: str) -> timedelta:
    """``parse_timespan`` as a ``timedelta``."""
    return timedelta(seconds=parse_timespan(text))


def _seconds(value: Any) -> Any:
    return parse_timespan(value) if isinstance(value, str) else value


# A pydantic field of seconds that also takes a time span (``30s``, ``2m``): a number is
# read as any float; bound it with Field(ge=..., gt=...).
Duration = Annotated[float, BeforeValidator(_seconds)]
