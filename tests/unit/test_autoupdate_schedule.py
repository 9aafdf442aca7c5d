"""The schedule: systemd-analyze's own output parsed, and the real binary asked."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from plugins.auto_update.schedule import CalendarError, Schedule, calendar, parse_calendar

# Captured from systemd 252's `systemd-analyze calendar --iterations=2`.
UTC_OUTPUT = """\
  Original form: Mon *-*-* 03:00
Normalized form: Mon *-*-* 03:00:00
    Next elapse: Mon 2026-11-30 03:00:00 UTC
       From now: 1 day 14h left
       Iter. #2: Mon 2026-12-07 03:00:00 UTC
       From now: 1 week 1 day left
"""

CET_OUTPUT = """\
  Original form: daily
Normalized form: *-*-* 00:00:00
    Next elapse: Sun 2026-11-29 00:00:00 CET
       (in UTC): Sat 2026-11-28 23:00:00 UTC
       From now: 10h left
       Iter. #2: Mon 2026-11-30 00:00:00 CET
       (in UTC): Sun 2026-11-29 23:00:00 UTC
       From now: 1 day 10h left
"""

# systemd 257 (Debian 13) says "Iteration #N" where 252 said "Iter. #N"; captured from
# `systemd-analyze calendar --iterations=2 --base-time=@1767268800 '*-*-* 00/6:00:00'`.
UTC_OUTPUT_257 = """\
Normalized form: *-*-* 00/6:00:00
    Next elapse: Thu 2026-01-01 18:00:00 UTC
       From now: 10 months 27 days ago
   Iteration #2: Fri 2026-01-02 00:00:00 UTC
       From now: 10 months 27 days ago
"""

NEVER_OUTPUT = """\
  Original form: 2001-01-01
Normalized form: 2001-01-01 00:00:00
    Next elapse: never
"""

needs_systemd_analyze = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                           reason="no systemd-analyze")


@pytest.mark.parametrize(("output", "elapses"), [
    pytest.param(UTC_OUTPUT, [datetime(2026, 11, 30, 3, tzinfo=UTC),
                              datetime(2026, 12, 7, 3, tzinfo=UTC)], id="utc"),
    pytest.param(CET_OUTPUT, [datetime(2026, 11, 28, 23, tzinfo=UTC),
                              datetime(2026, 11, 29, 23, tzinfo=UTC)],
                 id="local_zone_uses_the_utc_lines"),
    pytest.param(UTC_OUTPUT_257, [datetime(2026, 1, 1, 18, tzinfo=UTC),
                                  datetime(2026, 1, 2, 0, tzinfo=UTC)],
                 id="systemd_257s_iterations"),
    pytest.param(NEVER_OUTPUT, [], id="never"),
])
def test_parse(output: str, elapses: list[datetime]) -> None:
    assert parse_calendar(output) == elapses


def test_parse_refuses_a_local_time_without_utc() -> None:
    with pytest.raises(CalendarError):
        parse_calendar("    Next elapse: Sun 2026-11-29 00:00:00 CET\n")


@needs_systemd_analyze
async def test_real_systemd_analyze_with_base_time() -> None:
    base = datetime(2026, 1, 1, 12, 0, tzinfo=UTC).timestamp()
    got = await calendar("*-*-* 00/6:00:00", iterations=2, base=base)
    assert len(got) == 2 and got[0].timestamp() > base
    assert (got[1] - got[0]).total_seconds() == 6 * 3600


@needs_systemd_analyze
async def test_real_systemd_analyze_rejects_garbage() -> None:
    with pytest.raises(CalendarError, match="bogus"):
        await calendar("bogus")


@needs_systemd_analyze
async def test_persistent_catches_up_a_missed_run() -> None:
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC).timestamp()
    two_days_ago = now - 2 * 86400
    due, catchup = await Schedule("daily", 0, True).next_elapse(two_days_ago, now)
    assert catchup and due == now


@needs_systemd_analyze
async def test_not_persistent_waits_for_the_next_elapse() -> None:
    now = datetime(2026, 6, 10, 12, 0, tzinfo=UTC).timestamp()
    due, catchup = await Schedule("hourly", 0, False).next_elapse(now - 2 * 86400, now)
    assert not catchup and 0 < due - now <= 3600


@needs_systemd_analyze
async def test_persistent_without_a_miss_waits() -> None:
    now = datetime(2026, 6, 10, 12, 30, tzinfo=UTC).timestamp()
    due, catchup = await Schedule("hourly", 0, True).next_elapse(now - 60, now)
    assert not catchup and due > now


def test_delay_is_bounded() -> None:
    s = Schedule("daily", 900, True)
    assert all(0 <= s.delay() <= 900 for _ in range(100))
    assert Schedule("daily", 0, True).delay() == 0
