"""Crash-loop detection (pure; time is passed in).

A container is crash-looping when it dies ``count`` times within ``window`` seconds. The
flag is raised once per episode and stays until a full window passes without a death (or a
reset); a new burst after that is a new episode. For a container that a systemd unit runs,
the deaths are the increments of the unit's ``NRestarts``, and systemd's own
``start-limit-hit`` result is a crash loop at once.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field

logger = logging.getLogger(__name__)


@dataclass
class CrashWindow:
    count: int = 5
    window: float = 60.0
    deaths: deque[float] = field(default_factory=deque)
    flagged: bool = False

    def active(self, now: float) -> bool:
        """Crash-looping now: flagged, and the last death is less than a window ago."""
        return self.flagged and bool(self.deaths) and now - self.deaths[-1] < self.window

    def record(self, now: float, deaths: int = 1) -> bool:
        """Count ``deaths`` at ``now``; True when this starts a crash-loop episode."""
        was_active = self.active(now)
        if not was_active:
            self.flagged = False
        self.deaths.extend([now] * deaths)
        while self.deaths and self.deaths[0] <= now - self.window:
            self.deaths.popleft()
        # The deque never needs more than `count` entries to decide.
        while len(self.deaths) > self.count:
            self.deaths.popleft()
        if len(self.deaths) >= self.count and not was_active:
            self.flagged = True
            return True
        return False

    def force(self, now: float) -> bool:
        """A crash loop known from elsewhere (systemd's start limit); True if new."""
        was_active = self.active(now)
        self.flagged = True
        if not self.deaths or self.deaths[-1] < now:
            self.deaths.append(now)
        return not was_active

    def recent(self, now: float) -> int:
        return sum(1 for t in self.deaths if t > now - self.window)

    def reset(self) -> None:
        self.deaths.clear()
        self.flagged = False


@dataclass
class UnitRestarts:
    """Turns a unit's ``NRestarts`` samples into restart counts."""

    last: int | None = None

    def sample(self, n_restarts: int | None) -> int:
        """How many restarts happened since the previous sample (0 for the first one, and
        when systemd reset the counter)."""
        if n_restarts is None:
            return 0
        before, self.last = self.last, n_restarts
        if before is None or n_restarts <= before:
            return 0
        return n_restarts - before
