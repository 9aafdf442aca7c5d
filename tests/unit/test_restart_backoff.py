"""Backoff delays and crash-loop windows, with the time passed in."""

from __future__ import annotations

import pytest

from plugins.restart_manager.backoff import BackoffPolicy, BackoffState
from plugins.restart_manager.crashloop import CrashWindow, UnitRestarts


def test_delays_double_from_one_second_to_five_minutes() -> None:
    policy = BackoffPolicy()
    assert [policy.delay(n) for n in range(1, 11)] == [
        1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert policy.delay(10_000) == 300
    with pytest.raises(ValueError):
        policy.delay(0)


def test_attempts_until_the_limit_then_give_up() -> None:
    policy = BackoffPolicy(base=0.5, cap=3)
    state = BackoffState()
    decisions = [state.next(policy, now=float(t), max_retries=4) for t in range(6)]
    assert [(d.kind, d.attempt, d.delay) for d in decisions] == [
        ("restart", 1, 0.5), ("restart", 2, 1.0), ("restart", 3, 2.0), ("restart", 4, 3.0),
        ("give_up", 4, 0.0), ("give_up", 4, 0.0)]


def test_unlimited_without_a_limit() -> None:
    state = BackoffState()
    for _ in range(50):
        assert state.next(BackoffPolicy(), 0.0).kind == "restart"
    assert state.attempts == 50


def test_ten_minutes_up_starts_over() -> None:
    policy = BackoffPolicy()
    state = BackoffState()
    for t in range(3):
        state.next(policy, float(t))
    state.started(100.0)
    assert state.next(policy, 100.0 + 599).attempt == 4  # not long enough
    state.started(1000.0)
    d = state.next(policy, 1000.0 + 600)
    assert (d.attempt, d.delay) == (1, 1.0)


def test_crash_window_flags_once_per_episode() -> None:
    w = CrashWindow(count=5, window=60)
    assert [w.record(t) for t in (0, 10, 20, 30)] == [False] * 4
    assert w.record(40)  # the fifth within 60 s
    assert w.active(41)
    assert not w.record(41)  # still the same episode: no new event
    assert w.active(100) and not w.active(101.5)  # a window without a death ends it
    # A new burst is a new episode.
    assert [w.record(t) for t in (200, 201, 202, 203)] == [False] * 4
    assert w.record(204)


def test_crash_window_slow_deaths_are_no_loop() -> None:
    w = CrashWindow(count=5, window=60)
    assert not any(w.record(t * 15.0) for t in range(20))  # one per 15 s: 4 a window
    assert not w.active(300)


def test_crash_window_force_and_reset() -> None:
    w = CrashWindow(count=5, window=60)
    assert w.force(10)
    assert not w.force(11)
    assert w.active(12)
    w.reset()
    assert not w.active(12) and w.recent(12) == 0


def test_unit_restarts_counts_increments() -> None:
    u = UnitRestarts()
    assert u.sample(None) == 0
    assert u.sample(3) == 0  # the first sample is a baseline
    assert u.sample(3) == 0
    assert u.sample(5) == 2
    assert u.sample(0) == 0  # reset-failed resets systemd's counter
    assert u.sample(1) == 1
