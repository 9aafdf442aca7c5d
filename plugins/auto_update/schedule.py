"""When the timer fires: a systemd calendar expression, read by systemd itself.

The next elapse is what ``systemd-analyze calendar --iterations=N [--base-time=@T] EXPR``
prints, parsed here; we never interpret a calendar expression ourselves. Like a systemd
timer with ``Persistent=true``, a run that fell due while the bridge was down (the next
elapse after the last trigger is already past) runs at start; ``RandomizedDelaySec`` adds a
random delay to every elapse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.tasks import within

logger = logging.getLogger(__name__)

SYSTEMD_ANALYZE = "systemd-analyze"
TIMEOUT = 10.0
_STAMP = "%a %Y-%m-%d %H:%M:%S"


class CalendarError(ValueError):
    pass


def parse_calendar(text: str) -> list[datetime]:
    """The elapses (aware, UTC) in ``systemd-analyze calendar`` output, in order.

    For each ``Next elapse:`` / ``Iter. #N:`` line (``Iteration #N:`` since systemd 257),
    the ``(in UTC):`` line that follows it (printed when the local zone is not UTC) is the
    one used. ``never`` ends the list.
    """
    values: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.strip().partition(": ")
        if not sep:
            continue
        if key == "Next elapse" or key.startswith(("Iter. #", "Iteration #")):
            values.append(value.strip())
        elif key == "(in UTC)" and values:
            values[-1] = value.strip()
    out = []
    for v in values:
        if v == "never":
            break
        stamp, _, zone = v.rpartition(" ")
        if zone != "UTC":
            raise CalendarError(f"systemd-analyze printed {v!r}, not a UTC time")
        try:
            out.append(datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC))
        except ValueError:
            raise CalendarError(f"cannot read the time {v!r}") from None
    return out


async def calendar(expr: str, iterations: int = 2, base: float | None = None,
                   timeout: float = TIMEOUT) -> list[datetime]:
    """The next ``iterations`` elapses of ``expr`` after ``base`` (epoch seconds; now)."""
    argv = [SYSTEMD_ANALYZE, "calendar", f"--iterations={iterations}"]
    if base is not None:
        argv.append(f"--base-time=@{int(base)}")
    argv += ["--", expr]
    env = {**os.environ, "LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env)
    except OSError as exc:
        raise CalendarError(f"cannot run {SYSTEMD_ANALYZE}: {exc}") from None
    try:
        out, err = await within(proc.communicate(), timeout)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        message = err.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise CalendarError(f"calendar {expr!r}: {message}")
    return parse_calendar(out.decode(errors="replace"))


@dataclass(frozen=True)
class Schedule:
    expr: str = "daily"
    randomized_delay: float = 900.0
    persistent: bool = True

    async def next_elapse(self, last_trigger: float | None, now: float | None = None
                          ) -> tuple[float, bool]:
        """When the next run is due, before the random delay, in epoch seconds, and
        whether it is a catch-up of a run missed since ``last_trigger``."""
        now = time.time() if now is None else now
        if self.persistent and last_trigger is not None:
            missed = await calendar(self.expr, iterations=1, base=last_trigger)
            if missed and missed[0].timestamp() <= now:
                return now, True
        upcoming = await calendar(self.expr, iterations=1, base=now)
        if not upcoming:
            raise CalendarError(f"calendar {self.expr!r} never elapses again")
        return upcoming[0].timestamp(), False

    def delay(self) -> float:
        return random.uniform(0, self.randomized_delay) if self.randomized_delay > 0 else 0.0


async def sleep_until(when: float, step: float = 60.0) -> None:
    """Sleep until the wall clock reaches ``when``, in steps, so that a clock change (or a
    suspend) is noticed, as a CLOCK_REALTIME timer would."""
    while True:
        left = when - time.time()
        if left <= 0:
            return
        await asyncio.sleep(min(left, step))
