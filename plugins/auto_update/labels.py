"""Per-container rules beyond Podman, read from labels:

- ``io.podbridge.autoupdate.cooldown=DURATION``: an image younger than this (by the
  ``created`` time of the remote image's config) is not applied yet (``7d``, ``12h``,
  ``1h30m``, ``90s``, or plain seconds);
- ``io.podbridge.autoupdate.window=HH:MM-HH:MM``: updates are applied only inside this
  local-time window (it may wrap past midnight: ``22:00-04:00``);
- ``io.podbridge.autoupdate.notify-only=true``: an update is reported (``pending``),
  never applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bridge.timespan import TimespanError, parse_timedelta

COOLDOWN = "io.podbridge.autoupdate.cooldown"
WINDOW = "io.podbridge.autoupdate.window"
NOTIFY_ONLY = "io.podbridge.autoupdate.notify-only"

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)\s*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class LabelError(ValueError):
    pass


def parse_cooldown(text: str) -> timedelta:
    """A cooldown in systemd's time span grammar (``7d``, ``1h30m``, ``90s``, ``2w``)."""
    try:
        return parse_timedelta(text)
    except TimespanError as exc:
        raise LabelError(f"{COOLDOWN}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Window:
    start: time
    end: time

    def contains(self, when: datetime) -> bool:
        t = when.time().replace(second=0, microsecond=0)
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end  # wraps past midnight

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_window(text: str) -> Window:
    m = _WINDOW.match(text)
    if not m:
        raise LabelError(f"{WINDOW}: {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise LabelError(f"{WINDOW}: {text!r} is not a time of day")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return Window(time(h1, m1), end)


def parse_bool(name: str, text: str) -> bool:
    s = text.strip().lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise LabelError(f"{name}: {text!r} is not true or false")


@dataclass(frozen=True, slots=True)
class Rules:
    cooldown: timedelta | None = None
    window: Window | None = None
    notify_only: bool = False


def parse_rules(labels: dict[str, str]) -> Rules:
    """The rules of a container's labels; a bad value raises LabelError."""
    cooldown = parse_cooldown(labels[COOLDOWN]) if labels.get(COOLDOWN) else None
    window = parse_window(labels[WINDOW]) if labels.get(WINDOW) else None
    notify = parse_bool(NOTIFY_ONLY, labels[NOTIFY_ONLY]) if NOTIFY_ONLY in labels else False
    return Rules(cooldown, window, notify)


def hold_reason(rules: Rules, now: datetime, created: datetime | None) -> str | None:
    """Why an available update is not applied now, or None to go ahead. ``now`` must be
    aware and in local time (the window is local time, ``created`` is aware)."""
    if rules.notify_only:
        return "notify-only: update available, not applied"
    if rules.window is not None and not rules.window.contains(now):
        return f"outside the maintenance window {rules.window}"
    if rules.cooldown is not None:
        if created is None:
            return "cooldown: the image has no creation time"
        age = now - created
        if age < rules.cooldown:
            return (f"cooldown: the image is {_fmt(age)} old, "
                    f"updates wait {_fmt(rules.cooldown)}")
    return None


def _fmt(d: timedelta) -> str:
    secs = max(0, int(d.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size or (size == 1 and not parts):
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return "".join(parts)
