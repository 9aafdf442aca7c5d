"""The one error mapping: each code has one class carrying its HTTP status."""

from __future__ import annotations

import logging
import typing
from pathlib import Path

import pytest

from bridge import errors
from bridge.errors import BridgeError, ErrorCode, to_bridge_error
from bridge.podman import PodmanError
from bridge.store import StoreFull

STATUS = {"protocol-error": 400, "invalid-params": 400, "not-found": 404,
          "unknown-method": 404, "access-denied": 403, "not-supported": 501,
          "conflict": 409, "timeout": 504, "unreachable": 503, "failed": 502,
          "internal-error": 500}


@pytest.mark.parametrize("code", typing.get_args(ErrorCode))
def test_every_code_has_a_class_and_a_status(code: ErrorCode) -> None:
    declared = errors._BY_CODE[code]
    assert declared.code == code
    assert declared.http_status == STATUS[code]
    # Made by code, as clients of the bridge do with what the wire gave them.
    assert BridgeError("x", code).status == STATUS[code]


def test_subclasses_answer_with_their_codes_status() -> None:
    assert PodmanError("gone").status == 502
    assert PodmanError("gone", "not-found").status == 404
    assert StoreFull(Path("/s"), "ENOSPC").status == 500


def test_internal_error_keeps_its_cause_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    try:
        raise KeyError("k")
    except KeyError as exc:
        with caplog.at_level(logging.ERROR):
            err = to_bridge_error(exc, "method x.y")
    assert err.code == "internal-error" and err.message == "KeyError: 'k'"
    assert isinstance(err.__cause__, KeyError)
    assert "method x.y failed" in caplog.text and "Traceback" in caplog.text
    # A BridgeError passes as it is, and is not logged as a failure.
    caplog.clear()
    mine = errors.NotFound("no such thing")
    assert to_bridge_error(mine, "m") is mine and not caplog.text
