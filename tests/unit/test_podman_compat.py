"""bridge.podman_compat against the same scenario recorded from Podman 4.3.1 and 5.4.2.

tests/unit/data/events-podman-*.jsonl: a container run through the API that exits 3 and
is removed, then one through the CLI that exits 0, with an image pull in between, as
each Podman's /libpod/events stream sent them (shared/reference/podman5-world/samples).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.podman_compat import PodmanCompat, info_summary, parse_version
from bridge.sources import translate_podman_event

DATA = Path(__file__).parent / "data"


def events(version: str) -> list[dict[str, Any]]:
    lines = (DATA / f"events-podman-{version}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def exit_codes(version: str) -> list[tuple[str, str, int | None]]:
    compat = PodmanCompat(version)
    found = []
    for raw in events(version):
        parsed = translate_podman_event(raw, compat)
        assert parsed is not None
        type_, subject, data, _ns = parsed
        if type_.startswith("container."):
            found.append((type_.split(".")[1], subject, data["exit_code"]))
    return found


@pytest.mark.parametrize("version", ["4.3.1", "5.4.2"])
def test_exit_codes_are_the_real_ones_in_both(version: str) -> None:
    codes = exit_codes(version)
    assert ("died", "apitest", 3) in codes and ("died", "clirun", 0) in codes
    # No placeholder "0" on create/start/cleanup (4.3.1 sends one on every event).
    assert all(code is None for action, _n, code in codes
               if action in ("create", "init", "start", "attach", "cleanup"))


def test_remove_carries_the_exit_code_in_5_and_none_in_4() -> None:
    assert ("remove", "apitest", 3) in exit_codes("5.4.2")
    # 4.3.1 says "0" on remove after an exit 3: not an exit code podbridge passes on.
    assert ("remove", "apitest", None) in exit_codes("4.3.1")
    raw = next(e for e in events("4.3.1") if e["Action"] == "remove")
    assert raw["Actor"]["Attributes"]["containerExitCode"] == "0"


def test_without_compat_every_code_is_taken_as_sent() -> None:
    raw = next(e for e in events("4.3.1") if e["Action"] == "create")
    parsed = translate_podman_event(raw)
    assert parsed is not None and parsed[2]["exit_code"] == 0


@pytest.mark.parametrize(("version", "has_id"), [("4.3.1", False), ("5.4.2", True)])
def test_pull_events_name_the_image_only_in_5(version: str, has_id: bool) -> None:
    pull = next(e for e in events(version) if e["Action"] == "pull")
    assert bool(pull["Actor"]["ID"]) == has_id == PodmanCompat(version).pull_event_has_image_id
    parsed = translate_podman_event(pull, PodmanCompat(version))
    assert parsed is not None and parsed[0] == "image.pull"
    assert bool(parsed[2]["id"]) == has_id


def test_versions() -> None:
    assert parse_version("5.4.2") == (5, 4, 2)
    assert parse_version("4.3.1-dev") == (4, 3, 1)
    assert parse_version("v5") == (5, 0, 0)
    assert parse_version("nonsense") == (0, 0, 0)
    old, new = PodmanCompat("4.3.1"), PodmanCompat("5.4.2")
    assert not old.native_quadlet and new.native_quadlet
    assert not old.generate_systemd_deprecated and new.generate_systemd_deprecated
    assert not old.pod_inspect_is_list and new.pod_inspect_is_list
    assert (old.database_backend, new.database_backend) == ("boltdb", "sqlite")
    assert PodmanCompat.from_version_reply({"Version": "5.4.2", "ApiVersion": "5.4.2"}
                                           ).at_least(5, 4)


@pytest.mark.parametrize(("version", "database_backend"), [("4.3.1", None), ("5.4.2", "sqlite")])
def test_info_summary_reads_both_shapes(version: str, database_backend: str | None) -> None:
    summary = info_summary(json.loads((DATA / f"info-podman-{version}.json").read_text()))
    assert summary["version"] == version
    assert summary["runtime"] and summary["events_backend"]
    assert summary["database_backend"] == database_backend
