"""Exponential backoff: the one formula behind every retry (sources reconnecting, the
client reconnecting, plugins restarted, webhooks retried, containers restarted)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


def exponential(attempt: int, first: float, cap: float) -> float:
    """The wait before try number ``attempt`` (1-based): ``first``, then twice as long
    each time, never more than ``cap``."""
    # min() before the power: a long run of failures must not overflow.
    return float(min(cap, first * 2.0 ** min(max(attempt, 1) - 1, 64)))


class Backoff:
    """A retry loop's state: ``await sleep()`` waits the next delay, ``reset()`` after a
    success starts over from ``first``."""

    def __init__(self, first: float = 0.1, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.attempt = 1

    @property
    def delay(self) -> float:
        return exponential(self.attempt, self.first, self.cap)

    def reset(self) -> None:
        self.attempt = 1

    async def sleep(self) -> None:
        await asyncio.sleep(self.delay)
        self.attempt += 1


async def retrying(attempt: Callable[[], Awaitable[T]], backoff: Backoff,
                   failed: Callable[[Exception, Backoff], None],
                   errors: type[Exception] | tuple[type[Exception], ...] = Exception) -> T:
    """``await attempt()`` until it returns, told to ``failed(exc, backoff)`` each time it
    raises one of ``errors`` (``backoff.attempt`` is then the number of that failure), and
    waiting ``backoff``'s delay before the next try."""
    while True:
        try:
            return await attempt()
        except errors as exc:
            failed(exc, backoff)
        await backoff.sleep()
