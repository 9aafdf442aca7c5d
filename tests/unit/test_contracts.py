"""The typed contracts: the committed TypeScript the panel imports is what the contracts
make now (a change to a TypedDict without `make panel` fails here), every topic's and
record's schema is exported, and what the core publishes and stores fits its type."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from bridge import contracts
from bridge.bus import Bus
from bridge.events import (
    UNIT_STATE,
    UnitFieldsData,
    UnitStateData,
    iso_from_ns,
    ns_from_iso,
    rfc3339,
)
from bridge.state import ContainerRecord, apply_inspect, container_from_list

GENERATED = Path(__file__).resolve().parents[2] / "frontend/src/generated/contracts.ts"


def test_the_panels_types_are_generated_from_the_contracts() -> None:
    made = contracts.typescript(contracts.schema())
    assert GENERATED.read_text() == made, (
        "frontend/src/generated/contracts.ts is stale: run `make panel` (or "
        "`python -m bridge.contracts --typescript frontend/src/generated/contracts.ts`) "
        "and commit it")


def test_every_topic_and_record_is_in_the_schema() -> None:
    doc = contracts.schema()
    for name in ("unit.state", "job.done", "container.*", "autoupdate.updating",
                 "rollback.performed", "restart.scheduled", "hook.fired", "unitgen.failed"):
        assert name in doc["topics"], name
    for name in ("container", "unit", "plugin", "audit", "autoupdate.history"):
        assert name in doc["records"], name
    assert doc["topics"]["rollback.performed"]["owner"] == "rollback_watcher"


def test_times_have_one_form() -> None:
    z = "2026-11-28T11:00:00Z"
    assert rfc3339(1_795_863_600) == "2026-11-28T11:00:00.000000000Z"
    assert rfc3339("2026-11-28T12:00:00+01:00") == z
    assert rfc3339("2026-11-28 11:00:00 +0000 UTC") == z
    assert rfc3339("0001-01-01T00:00:00Z") is None and rfc3339(0) is None
    # And back to nanoseconds, from the wire's form or Podman's (an offset, a trimmed
    # fraction).
    ns = 1_795_863_600_000_000_007
    assert ns_from_iso(iso_from_ns(ns)) == ns
    assert ns_from_iso("2026-11-28T12:00:00.5+01:00") == 1_795_863_600_500_000_000
    assert ns_from_iso("soon") is None and ns_from_iso("") is None


def test_container_records_fit_their_contract_whatever_podman_said() -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(ContainerRecord)
    rec = container_from_list({"Id": "c1", "Names": ["web"], "Image": "i", "State": "running",
                               "StartedAt": 1_795_863_600, "Created": 1_795_863_000,
                               "Labels": {}, "Ports": []})
    adapter.validate_python(rec, strict=True)
    assert rec["started_at"] == "2026-11-28T11:00:00.000000000Z"
    apply_inspect(rec, {"State": {"StartedAt": "2026-11-28T12:00:00.5+01:00",
                                  "Health": {"Status": "healthy"}},
                        "Created": "2026-11-28T10:50:00Z", "HostConfig": {}})
    adapter.validate_python(rec, strict=True)
    assert (rec["started_at"], rec["health"]) == ("2026-11-28T11:00:00.5Z", "healthy")


def test_a_typed_listener_gets_the_topics_data() -> None:
    bus = Bus()
    seen: list[UnitStateData] = []
    stop = bus.listen(UNIT_STATE, lambda _event, data: seen.append(data))
    previous = UnitFieldsData(active_state=None, sub_state=None, result=None, n_restarts=None)
    bus.publish(UNIT_STATE, "systemd", "a.service", UnitStateData(
        unit="a.service", active_state="active", sub_state="running", result="success",
        n_restarts=0, previous=previous))
    bus.publish("unit.new", "systemd", "b.service", {"unit": "b.service"})
    stop()
    assert [d["unit"] for d in seen] == ["a.service"]
