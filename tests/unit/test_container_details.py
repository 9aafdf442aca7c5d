"""The details of a container's page, from Podman's inspect: one shape for Podman 4 and 5."""

from __future__ import annotations

from bridge.container_details import details_of, restorable
from bridge.methods_container_ops import criu_missing

ZERO = "0001-01-01T00:00:00Z"

INSPECT_4 = {
    "Id": "12280ed85360", "Name": "hc1",
    "Config": {"Env": ["PATH=/bin", "FOO=bar=baz", "EMPTY="],
               "Healthcheck": {"Test": ["CMD-SHELL", "echo healthy-out"],
                               "Timeout": 30_000_000_000, "Retries": 3}},
    "State": {"Running": True, "Health": {"Status": "healthy", "FailingStreak": 0, "Log": [
        {"Start": "2026-11-29T16:41:58.007930194Z", "End": "2026-11-29T16:41:58.194755993Z",
         "ExitCode": 0, "Output": "healthy-out"}]},
              "CheckpointedAt": ZERO, "RestoredAt": ZERO},
    "Mounts": [{"Type": "bind", "Source": "/tmp", "Destination": "/hosttmp",
                "Options": ["nosuid", "rbind"], "RW": False},
               {"Type": "volume", "Name": "cache", "Source": "/var/lib/x/_data",
                "Destination": "/cache", "RW": True}],
}


def test_podman_4_inspect() -> None:
    d = details_of(INSPECT_4)
    assert d["env"] == [{"name": "PATH", "value": "/bin"}, {"name": "FOO", "value": "bar=baz"},
                        {"name": "EMPTY", "value": ""}]
    assert d["mounts"][0] == {"type": "bind", "source": "/tmp", "destination": "/hosttmp",
                              "name": None, "read_only": True,
                              "options": ["nosuid", "rbind"]}
    assert d["mounts"][1]["name"] == "cache" and d["mounts"][1]["read_only"] is False
    health = d["health"]
    assert health is not None
    assert health["test"] == ["CMD-SHELL", "echo healthy-out"]
    assert (health["interval"], health["timeout"], health["retries"]) == (None, 30.0, 3)
    assert health["status"] == "healthy" and health["log"][0]["exit_code"] == 0
    assert health["log"][0]["output"] == "healthy-out"
    assert d["checkpointed"] is False and d["checkpointed_at"] is None


def test_no_health_check_and_the_old_key() -> None:
    assert details_of({"Config": {}, "State": {}})["health"] is None
    assert details_of({"Config": {"Healthcheck": {"Test": ["NONE"]}}})["health"] is None
    old = details_of({"Config": {"Healthcheck": {"Test": ["CMD", "true"]}},
                      "State": {"Healthcheck": {"Status": "unhealthy", "FailingStreak": 2}}})
    assert old["health"] is not None and old["health"]["failing_streak"] == 2


def test_restorable_compares_times_as_numbers() -> None:
    # Go trims trailing zeros: ".0079Z" is earlier than ".00793Z", though it sorts after.
    assert not restorable({"CheckpointedAt": "2026-11-29T16:41:58.0079Z",
                           "RestoredAt": "2026-11-29T16:41:58.00793Z"})
    assert restorable({"CheckpointedAt": "2026-11-29T16:41:58.00794Z",
                       "RestoredAt": "2026-11-29T16:41:58.00793Z"})
    assert restorable({"CheckpointedAt": "2026-11-29T16:41:58Z", "RestoredAt": ZERO})
    assert not restorable({"Running": True, "CheckpointedAt": "2026-11-29T16:41:58Z"})
    assert not restorable({"CheckpointedAt": ZERO, "RestoredAt": ZERO})
    assert restorable({"Checkpointed": True}) and not restorable({"Checkpointed": False})


def test_what_says_criu_is_missing() -> None:
    assert criu_missing('failed to check for criu version: exec: "criu": executable file '
                        'not found in $PATH')
    assert criu_missing("podman checkpoint/restore requires at least CRIU 31100")
    assert not criu_missing("criu failed: type DUMP errno 0")
    assert not criu_missing('"created" is not running, cannot checkpoint')
