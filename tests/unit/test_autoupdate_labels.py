"""Per-container rules from labels: cooldown, maintenance window, notify-only."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from plugins.auto_update.labels import (
    COOLDOWN,
    NOTIFY_ONLY,
    WINDOW,
    LabelError,
    Rules,
    hold_reason,
    parse_cooldown,
    parse_rules,
    parse_window,
)


@pytest.mark.parametrize(("text", "seconds"), [
    ("7d", 7 * 86400), ("12h", 43200), ("1h30m", 5400), ("90s", 90), ("2w", 14 * 86400),
    ("600", 600), (" 1d 2h ", 93600), ("1.5h", 5400)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_cooldown(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "soon", "5x", "1h soon", "h1"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(LabelError, match="cooldown"):
        parse_cooldown(text)


def test_window_same_day() -> None:
    w = parse_window("02:00-04:30")
    assert (w.start, w.end) == (time(2), time(4, 30))
    assert w.contains(datetime(2026, 1, 1, 3, 59))
    assert not w.contains(datetime(2026, 1, 1, 4, 30))
    assert not w.contains(datetime(2026, 1, 1, 1, 59))


def test_window_wraps_past_midnight() -> None:
    w = parse_window("22:00-04:00")
    assert w.contains(datetime(2026, 1, 1, 23, 0))
    assert w.contains(datetime(2026, 1, 1, 0, 30))
    assert not w.contains(datetime(2026, 1, 1, 12, 0))


@pytest.mark.parametrize("text", ["2-4", "25:00-01:00", "02:00", "02:60-03:00"])
def test_bad_windows(text: str) -> None:
    with pytest.raises(LabelError, match="window"):
        parse_window(text)


def test_rules_from_labels() -> None:
    rules = parse_rules({COOLDOWN: "1d", WINDOW: "01:00-02:00", NOTIFY_ONLY: "true",
                         "other": "x"})
    assert rules.cooldown == timedelta(days=1)
    assert str(rules.window) == "01:00-02:00"
    assert rules.notify_only
    assert parse_rules({}) == Rules()
    with pytest.raises(LabelError, match="notify-only"):
        parse_rules({NOTIFY_ONLY: "maybe"})


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_hold_reasons() -> None:
    assert hold_reason(Rules(), NOW, None) is None
    assert "notify-only" in (hold_reason(Rules(notify_only=True), NOW, None) or "")
    assert "window 01:00-02:00" in (
        hold_reason(Rules(window=parse_window("01:00-02:00")), NOW, None) or "")
    assert hold_reason(Rules(window=parse_window("11:00-13:00")), NOW, None) is None
    young = hold_reason(Rules(cooldown=timedelta(days=1)), NOW, NOW - timedelta(hours=2))
    assert young == "cooldown: the image is 2h old, updates wait 1d"
    assert hold_reason(Rules(cooldown=timedelta(days=1)), NOW, NOW - timedelta(days=2)) is None
    assert "no creation time" in (hold_reason(Rules(cooldown=timedelta(1)), NOW, None) or "")
