"""Per-rule debounce and rate limit.

Debounce is trailing: each matching event for a key (rule, subject) restarts the key's
timer; when the key has been quiet for the delay, the rule fires once, with the last event
and the number of events it stands for. Rate limit is a sliding window per rule: at most
``max`` firings in any ``per`` seconds; a firing over it is suppressed (counted, not queued).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class _Pending:
    item: Any
    count: int
    handle: asyncio.TimerHandle


class Debouncer:
    """Timers on the running loop (no task each); ``fire(key, item, count)`` is called from
    the loop when a key has been quiet for its delay."""

    def __init__(self, fire: Callable[[Hashable, Any, int], None]) -> None:
        self._fire = fire
        self._pending: dict[Hashable, _Pending] = {}

    def offer(self, key: Hashable, item: Any, delay: float) -> None:
        loop = asyncio.get_running_loop()
        pending = self._pending.get(key)
        count = 1
        if pending is not None:
            pending.handle.cancel()
            count = pending.count + 1
        handle = loop.call_later(delay, self._expire, key)
        self._pending[key] = _Pending(item, count, handle)

    def _expire(self, key: Hashable) -> None:
        pending = self._pending.pop(key, None)
        if pending is not None:
            self._fire(key, pending.item, pending.count)

    def pending(self) -> int:
        return len(self._pending)

    def cancel(self, match: Callable[[Hashable], bool] | None = None) -> int:
        """Forget pending keys (all, or those ``match`` accepts) without firing them."""
        keys = [k for k in self._pending if match is None or match(k)]
        for k in keys:
            self._pending.pop(k).handle.cancel()
        return len(keys)


class RateLimiter:
    """A sliding window: ``allow()`` is true at most ``max`` times in any ``per`` seconds."""

    def __init__(self, max: int, per: float, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.max = max
        self.per = per
        self._clock = clock
        self._times: deque[float] = deque()
        self.suppressed = 0  # since the last allowed firing

    def allow(self) -> bool:
        now = self._clock()
        while self._times and now - self._times[0] >= self.per:
            self._times.popleft()
        if len(self._times) >= self.max:
            self.suppressed += 1
            return False
        self._times.append(now)
        self.suppressed = 0
        return True
