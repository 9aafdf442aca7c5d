"""compat.py's Podman-5-only texts: the pull retry warnings and the Go 1.20 lexer's error
(both seen from Podman 5.4.2 in the debian13 world by test_autoupdate_dropin)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from plugins.auto_update.compat import Compat, retryable
from plugins.auto_update.formats import Formatter
from plugins.auto_update.gotemplate import TemplateError

BLOB = "parsing image configuration: fetching blob: blob unknown to registry"


def test_podman5_warns_three_times_for_a_retryable_pull_error() -> None:
    when = datetime(2026, 11, 29, 10, 9, 58, tzinfo=UTC)
    lines = Compat(5).pull_retry_warnings(BLOB, when)
    assert lines == [
        f'time="2026-11-29T10:09:58Z" level=warning msg="Failed, retrying in 1s ... ({n}/3).'
        f' Error: {BLOB}"\n' for n in (1, 2, 3)]


def test_no_warnings_on_podman4_or_for_errors_podman_does_not_retry() -> None:
    assert Compat(4).pull_retry_warnings(BLOB) == []
    for error in ("reading manifest latest in h/x: manifest unknown",
                  "initializing source docker://h/x:latest: requested access to the "
                  "resource is denied", "authentication required"):
        assert not retryable(error), error
        assert Compat(5).pull_retry_warnings(error) == []


def test_quotes_in_the_error_are_escaped_as_logrus_does() -> None:
    error = 'Get "https://h:1/v2/": dial tcp h:1: connect: connection refused'
    [line, *_] = Compat(5).pull_retry_warnings(error)
    assert '. Error: Get \\"https://h:1/v2/\\": dial tcp' in line


@pytest.mark.parametrize(("major", "message"), [
    (4, 'template: auto-update:1: unexpected ")" in command'),
    (5, "template: auto-update:1: unexpected right paren")])
def test_an_unbalanced_right_paren_as_each_podmans_go_says(major: int, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Formatter.parse("{{.Unit)}}", major)
    assert str(caught.value) == message
    Formatter.parse("{{ (len .Unit) }}", major)  # a balanced one parses on both
