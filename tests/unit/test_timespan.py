"""One time span parser for every duration (cooldown, probation): systemd's grammar,
checked against ``systemd-analyze timespan`` itself."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from pydantic import ValidationError

from bridge.methods import format_validation_error
from bridge.timespan import TimespanError, parse_timespan
from plugins.auto_update.labels import LabelError, parse_cooldown
from plugins.rollback_watcher.plugin import RollbackWatcherPlugin, WatchParams
from plugins.rollout.plugin import StartParams

ACCEPTED = ["30", "30s", "1m30s", "1min 30s", "500ms", "1.5m", "2h", "0", "7d", "2w",
            " 1d 2h ", "1.5h", "3s5", "1min30", "5 hours 3 m", ".5s", "+5s", "5 us",
            "1M", "1y", "01s", "5sec5", "1minute", "2 weeks 1 day", "1msec", "250usec"]
REFUSED = ["", "  ", "abc", "5x", "s", "1m-3s", "nan", "1h soon", "h1", "5S", "1.s",
           "1.5.2s", "1e3", "1,5s", "soon"]


def systemd_seconds(text: str) -> float | None:
    """What systemd makes of ``text``: seconds, or None when it refuses it."""
    out = subprocess.run(["systemd-analyze", "timespan", "--", text], capture_output=True,
                         text=True, check=False)
    for line in out.stdout.splitlines():
        if line.strip().startswith("\u03bcs:"):
            return int(line.split(":", 1)[1]) / 1e6
    return None


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_grammar_is_systemds() -> None:
    for text in ACCEPTED:
        assert systemd_seconds(text) == pytest.approx(parse_timespan(text)), text
    for text in REFUSED:
        assert systemd_seconds(text) is None, text
        with pytest.raises(TimespanError):
            parse_timespan(text)


@pytest.mark.parametrize("text", ["1d", "1h30m", "90s", "500ms"])
def test_cooldown_and_probation_accept_the_same_forms(text: str) -> None:
    seconds = parse_timespan(text)
    assert parse_cooldown(text).total_seconds() == pytest.approx(seconds)
    params = WatchParams(unit="u.service", image="i", previous_image_id="p", probation=text)
    assert params.probation == pytest.approx(seconds)


def test_a_bad_span_says_where() -> None:
    with pytest.raises(LabelError, match=r"cooldown.*'soon' is not a time span"):
        parse_cooldown("soon")


@pytest.mark.parametrize(("value", "message"), [
    ("soon", "probation: Value error, 'soon' is not a time span (e.g. 30s, 1min 30s, 1h30m, "
             "500ms, 7d)"),
    (-1, "probation: Input should be greater than or equal to 0"),
    ([], "probation: Input should be a valid number"),
])
def test_every_probation_is_one_duration_type(value: object, message: str) -> None:
    """rollout.start's probation, rollback.watch's and the watcher's configured default:
    the same spans taken, the same texts for what is refused."""
    for model, others in ((StartParams, {"image": "a:b", "selector": "a=b"}),
                          (WatchParams, {"unit": "u", "image": "i", "previous_image_id": "p"}),
                          (RollbackWatcherPlugin.Config, {})):
        assert model.model_validate({**others, "probation": "1min 30s"}).probation == 90.0
        with pytest.raises(ValidationError) as info:
            model.model_validate({**others, "probation": value})
        assert format_validation_error(info.value) == message
