"""What differs between the Podman versions podbridge meets, in one place.

The version comes from the Podman podbridge talks to (``GET /version``), read once per
connection (:meth:`bridge.podman.PodmanClient.compat`); nothing else in podbridge compares
version numbers. Each difference below was seen on both sides, with Podman 4.3.1
(Debian 12) and Podman 5.4.2 (Debian 13), the two flavours of the test world. Where only
those two were seen, the line is drawn at 5.0; a property says so when it knows better.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# The container events whose ``containerExitCode`` Podman 5 sets, with the real value.
_EXIT_CODE_ACTIONS_5 = frozenset({"died", "remove"})
# Podman 4 sets ``containerExitCode`` on every container event, "0" on create, init,
# start, cleanup and remove even after an exit 3: only ``died`` carries the real code.
_EXIT_CODE_ACTIONS_4 = frozenset({"died"})


def parse_version(text: str) -> tuple[int, int, int]:
    """``5.4.2`` -> (5, 4, 2); ``4.3.1-dev`` -> (4, 3, 1); unknown parts are 0."""
    found = re.match(r"\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", text or "")
    if not found:
        return (0, 0, 0)
    major, minor, patch = (int(x) if x else 0 for x in found.groups())
    return (major, minor, patch)


def exit_code_of(attributes: Mapping[str, Any]) -> int | None:
    """An event's ``containerExitCode`` as a number; None when it has none (or not a
    number)."""
    value: Any = attributes.get("containerExitCode")
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class PodmanCompat:
    """The behaviours of one Podman, by its version."""

    version: str
    api_version: str = ""

    @classmethod
    def from_version_reply(cls, reply: Mapping[str, Any]) -> PodmanCompat:
        """From ``GET /version`` (libpod's or the compat one: both have Version)."""
        version = str(reply.get("Version") or "")
        api = str(reply.get("ApiVersion") or reply.get("APIVersion") or "")
        return cls(version, api)

    @property
    def number(self) -> tuple[int, int, int]:
        return parse_version(self.version)

    def at_least(self, *wanted: int) -> bool:
        return self.number >= tuple(wanted) + (0,) * (3 - len(wanted))

    # -- events --------------------------------------------------------------------------
    @property
    def exit_code_actions(self) -> frozenset[str]:
        """The container events whose ``containerExitCode`` is the container's exit code."""
        return _EXIT_CODE_ACTIONS_5 if self.at_least(5) else _EXIT_CODE_ACTIONS_4

    def exit_code(self, action: str, attributes: Mapping[str, Any]) -> int | None:
        """The exit code a container event carries, None when it carries none (or, in
        Podman 4, a placeholder "0")."""
        return exit_code_of(attributes) if action in self.exit_code_actions else None

    @property
    def events_file_resends_after_rotation(self) -> bool:
        """With the file events logger, a stream reading across a rotation of the log is
        fed the log's kept half again (Podman reopens the new file at its start). Before
        4.5 (containers/podman 408e764, "no duplicates when streaming during a log
        rotation"); since then Podman skips the kept half itself."""
        return not self.at_least(4, 5)

    @property
    def events_since_stream_follows_rotation(self) -> bool:
        """A stream asked ``since=`` (or ``until=``) follows the log across a rotation.
        Before 4.5 it does not reopen the rotated file: it ends when the log rotates."""
        return self.at_least(4, 5)

    @property
    def inspect_shows_stopped_by_user(self) -> bool:
        """``State.StoppedByUser`` in a container's inspect, true after ``podman stop`` or
        ``kill`` and false after a crash: Podman 5. There a user's stop writes ``died``
        and one ``cleanup`` and no ``stop`` event, so inspect is how to tell it from a
        crash; 4.3.1 shows no such field (its events tell: see the restart manager)."""
        return self.at_least(5)

    @property
    def pull_event_has_image_id(self) -> bool:
        """Image ``pull`` events name the pulled image's ID (``Actor.ID``) from Podman 5;
        Podman 4's have an empty ID."""
        return self.at_least(5)

    # -- generate systemd, Quadlet ------------------------------------------------------
    @property
    def generate_systemd_deprecated(self) -> bool:
        """``podman generate systemd`` prints a deprecation notice (stderr) and points to
        Quadlet, from Podman 4.7; the units it writes are unchanged."""
        return self.at_least(4, 7)

    @property
    def generate_removes_stale_files(self) -> bool:
        """``--new`` units start with ``ExecStartPre=/bin/rm -f`` of the cidfile (a pod's:
        its pid and pod-id files) in 4.3.1; Podman 5 relies on ``--replace`` alone."""
        return not self.at_least(5)

    @property
    def generate_container_restart_sec(self) -> bool:
        """``--restart-sec`` reaches container units (``RestartSec=``, after ``Restart=``)
        in Podman 5; 4.3.1 writes it into pod units only."""
        return self.at_least(5)

    @property
    def native_quadlet(self) -> bool:
        """Podman ships its Quadlet generator (``podman-system-generator``) from 4.4."""
        return self.at_least(4, 4)

    # -- the CLI and the API ------------------------------------------------------------
    @property
    def pod_inspect_is_list(self) -> bool:
        """``podman pod inspect`` prints a JSON list (as for containers) from Podman 5; a
        single object before. The API answers one object in both."""
        return self.at_least(5)

    @property
    def database_backend(self) -> str:
        """The state database Podman keeps by default: BoltDB before 5, SQLite in 5."""
        return "sqlite" if self.at_least(5) else "boltdb"


def info_summary(info: Mapping[str, Any]) -> dict[str, Any]:
    """What a user is shown of ``GET /libpod/info`` (Podman 4 and 5 alike): fields only
    Podman 5 has (databaseBackend, networkBackendInfo, pasta, rootlessNetworkCmd, ...) are
    None on Podman 4."""
    host = info.get("host") or {}
    store = info.get("store") or {}
    version = info.get("version") or {}
    runtime = host.get("ociRuntime") or {}
    return {
        "version": version.get("Version"),
        "api_version": version.get("APIVersion"),
        "os": (host.get("distribution") or {}).get("distribution"),
        "os_version": (host.get("distribution") or {}).get("version"),
        "runtime": runtime.get("name"),
        "cgroup_manager": host.get("cgroupManager"),
        "cgroup_version": host.get("cgroupVersion"),
        "events_backend": host.get("eventLogger"),
        "log_driver": host.get("logDriver"),
        "network_backend": host.get("networkBackend"),
        "database_backend": host.get("databaseBackend"),
        "rootless_network": host.get("rootlessNetworkCmd"),
        "graph_root": store.get("graphRoot"),
        "run_root": store.get("runRoot"),
    }
