"""Durations as the command line and the methods take them: ``30``, ``30s``, ``2m``,
``1m30s``, ``500ms``, ``1.5h`` (Go's style, as Podman's flags)."""

from __future__ import annotations

import math
import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_seconds(text: str) -> float:
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        pos, seconds = 0, 0.0
        for m in _PART.finditer(value):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2)]
            pos = m.end()
        if not value or pos != len(value):
            raise ValueError(f"invalid duration {text!r}: use e.g. 30s, 2m, 1m30s, 500ms"
                             ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"invalid duration {text!r}: must be >= 0")
    return seconds
