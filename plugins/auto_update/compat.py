"""What ``podman auto-update`` says and does differently in Podman 4 and 5, so that
``podbridge auto-update`` answers as the Podman it talks to (read from its API once).

From Podman's source (pkg/autoupdate, cmd/podman/auto-update.go) at v4.3.1 and v5.4.2:

- a registry check that fails (registry unreachable, tag gone): 4 logs it at debug level
  and reports ``false`` (exit 0); 5 reports ``failed`` with ``checking image updates for
  container ID: ...`` (exit 125);
- a restart job that is not ``done``: 4 says ``expected "done" but received "failed"``,
  5 ``error restarting systemd unit "U" expected "done" but received "failed"``; without
  rollback 4 reports the container ``failed`` but no error (exit 0), 5 adds ``restarting
  unit U during update: ...`` (exit 125);
- ``--authfile`` naming a missing file: 5 stops with ``credential file is not accessible:
  ...`` before anything; 4 goes on;
- a ``table`` template that does not parse: 4 re-parses it with ``table `` in front
  (formats.Formatter.parse);
- a pull that fails: 5 retries it (containers/common's retry.IfNecessary, 3 times, 1 s
  apart) when the error is one it deems transient, and warns on stderr at each retry
  (``time="..." level=warning msg="Failed, retrying in 1s ... (1/3). Error: ..."``); 4
  does not retry. Through the API Podman's service does the retries itself (and logs
  them in its own log): podbridge writes the warnings the CLI would have written
  (:meth:`Compat.pull_retry_warnings`), once the pull has failed;
- Go's text/template lexer (Podman 5 is built with Go 1.20+, 4.3.1 with 1.19): an
  unbalanced ``)`` is the lexer's ``unexpected right paren`` on 1.20+, the parser's
  ``unexpected ")" in command`` before (gotemplate_lex.Lexer.paren_error_first).

The bridge's own runs (``autoupdate.run``, the timer) use ``STRICT``: every failure is
reported, as Podman 5 does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bridge.gotext import go_quote

# containers/common's retry defaults (pkg/retry), as Podman 5's pull uses them.
PULL_RETRIES = 3
PULL_RETRY_DELAY = "1s"
# Errors containers/common never retries (retry.IsErrorRetryable): registry answers of
# these codes, and a cancelled or timed-out context.
_NOT_RETRYABLE = re.compile(
    r"unauthorized|authentication required|denied|requested access to the resource|"
    r"manifest unknown|name unknown|repository name not known|not found|"
    r"context canceled|context deadline exceeded|invalid reference", re.I)
# What it does retry: any other registry error code (blob unknown, 5xx, toomanyrequests),
# and network errors (ECONNREFUSED, ECONNRESET, timeouts, unreachable hosts, EOF).
_RETRYABLE = re.compile(
    r"to registry|connection refused|connection reset|i/o timeout|no route to host|"
    r"network is unreachable|host is down|broken pipe|\bEOF\b|TLS handshake timeout|"
    r"toomanyrequests|too many requests|service unavailable|internal server error|"
    r"bad gateway|gateway timeout", re.I)


@dataclass(frozen=True, slots=True)
class Compat:
    major: int

    @property
    def ignores_registry_check_errors(self) -> bool:
        return self.major < 5

    @property
    def reports_restart_failure_without_rollback(self) -> bool:
        return self.major >= 5

    @property
    def checks_authfile(self) -> bool:
        return self.major >= 5

    @property
    def pull_retries(self) -> int:
        return PULL_RETRIES if self.major >= 5 else 0

    @property
    def lexer_paren_error_first(self) -> bool:
        return self.major >= 5

    def pull_retry_warnings(self, error: str, now: datetime | None = None) -> list[str]:
        """The lines Podman's CLI writes on stderr while it retries a failed pull (none
        on Podman 4, or for an error it does not retry), each with its newline."""
        if not self.pull_retries or not retryable(error):
            return []
        stamp = (now or datetime.now(UTC)).astimezone()
        text = stamp.isoformat(timespec="seconds").replace("+00:00", "Z")
        total = self.pull_retries
        return [f'time="{text}" level=warning msg=' + go_quote(
                    f"Failed, retrying in {PULL_RETRY_DELAY} ... ({n}/{total}). Error: {error}"
                ) + "\n" for n in range(1, total + 1)]

    def restart_failed(self, unit: str, result: str) -> str:
        if self.major < 5:
            return f"expected \"done\" but received {go_quote(result)}"
        return (f"error restarting systemd unit {go_quote(unit)} expected \"done\" but "
                f"received {go_quote(result)}")


STRICT = Compat(5)


def retryable(error: str) -> bool:
    """Would containers/common retry a pull that failed with ``error`` (its text)?"""
    return bool(_RETRYABLE.search(error)) and not _NOT_RETRYABLE.search(error)


def major_of(version: str) -> int | None:
    """``4.3.1`` -> 4; None if it is not a version."""
    m = re.match(r"\s*v?(\d+)\.", version)
    return int(m.group(1)) if m else None


def join_errors(errors: Sequence[str]) -> str:
    """Podman's errorhandling.JoinErrors: one error as it is, several as multierror lists
    them (trimmed)."""
    if len(errors) == 1:
        return errors[0]
    points = "\n\t".join(f"* {e}" for e in errors)
    return f"{len(errors)} errors occurred:\n\t{points}".strip()
