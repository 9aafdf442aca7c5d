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
  (formats.Formatter.parse).

The bridge's own runs (``autoupdate.run``, the timer) use ``STRICT``: every failure is
reported, as Podman 5 does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from plugins.auto_update.gotemplate_lex import go_quote


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

    def restart_failed(self, unit: str, result: str) -> str:
        if self.major < 5:
            return f"expected \"done\" but received {go_quote(result)}"
        return (f"error restarting systemd unit {go_quote(unit)} expected \"done\" but "
                f"received {go_quote(result)}")


STRICT = Compat(5)


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
