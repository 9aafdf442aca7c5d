"""Exponential backoff for the restarts the manager performs (pure; time is passed in).

Attempt 1 waits ``base``, each next one twice as long, capped at ``cap``. A container that
stayed up for ``reset_after`` before it exited starts again from attempt 1. With a retry
limit N, the exit after the N-th restart gives up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal, NamedTuple

from bridge.backoff import exponential

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackoffPolicy:
    base: float = 1.0
    cap: float = 300.0
    reset_after: float = 600.0

    def delay(self, attempt: int) -> float:
        """The wait before restart number ``attempt`` (1-based)."""
        if attempt < 1:
            raise ValueError("attempts count from 1")
        return exponential(attempt, self.base, self.cap)


class Decision(NamedTuple):
    kind: Literal["restart", "give_up"]
    attempt: int  # the attempt scheduled, or the attempts made when giving up
    delay: float = 0.0


@dataclass
class BackoffState:
    """The restarts of one container in its current run of failures."""

    attempts: int = 0
    last_start: float | None = None  # when it last started (by anyone)

    def started(self, now: float) -> None:
        self.last_start = now

    def reset(self) -> None:
        self.attempts = 0

    def next(self, policy: BackoffPolicy, now: float, max_retries: int = 0) -> Decision:
        """Called at an exit that wants a restart: schedule one, or give up."""
        if self.last_start is not None and now - self.last_start >= policy.reset_after:
            self.attempts = 0
        if max_retries and self.attempts >= max_retries:
            return Decision("give_up", self.attempts)
        self.attempts += 1
        return Decision("restart", self.attempts, policy.delay(self.attempts))
