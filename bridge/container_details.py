"""What a container's page shows beyond the live model, read from Podman's inspect: its
environment, its mounts, its health check (configuration, status, last runs) and whether a
checkpoint of it can be restored. One shape for Podman 4 and 5 (Podman 4.3 keeps the
health log under ``State.Health``, older ones under ``State.Healthcheck``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import TypedDict

from bridge.contracts import record
from bridge.events import ns_from_iso

NS = 1_000_000_000
# Go's zero time, which Podman writes for "never".
ZERO_TIMES = ("", "0001-01-01T00:00:00Z")


class EnvVar(TypedDict):
    name: str
    value: str


class MountRow(TypedDict):
    type: str                  # bind, volume, tmpfs, ...
    source: str                # the host path (for a volume: where Podman keeps it)
    destination: str
    name: str | None           # the volume's name
    read_only: bool
    options: list[str]


class HealthRun(TypedDict):
    start: str | None
    end: str | None
    exit_code: int | None
    output: str


class HealthInfo(TypedDict):
    test: list[str]            # Podman's Test: ["CMD-SHELL", "..."] or ["CMD", argv...]
    interval: float | None     # seconds
    timeout: float | None
    retries: int | None
    start_period: float | None
    status: str                # healthy, unhealthy, starting, "" before the first run
    failing_streak: int
    log: list[HealthRun]       # oldest first, as Podman keeps them (its last 5)


@record("containers.details")
class ContainerDetails(TypedDict):
    """A container as ``containers.details`` gives it."""

    id: str
    name: str
    env: list[EnvVar]
    mounts: list[MountRow]
    health: HealthInfo | None  # None: no health check is configured
    checkpointed: bool         # a checkpoint of it can be restored (it is not running)
    checkpointed_at: str | None
    restored_at: str | None


def _time(value: Any) -> str | None:
    text = str(value or "")
    return None if text in ZERO_TIMES else text


def _seconds(value: Any) -> float | None:
    return value / NS if isinstance(value, int | float) and value else None


def env_rows(env: list[str] | None) -> list[EnvVar]:
    pairs = (str(item).partition("=") for item in env or [])
    return [{"name": name, "value": value} for name, _, value in pairs]


def mount_rows(mounts: list[Mapping[str, Any]] | None) -> list[MountRow]:
    return [{"type": str(m.get("Type") or ""), "source": str(m.get("Source") or ""),
             "destination": str(m.get("Destination") or ""),
             "name": m.get("Name") or None, "read_only": m.get("RW") is False,
             "options": [str(o) for o in m.get("Options") or []]}
            for m in mounts or []]


def health_info(config: Mapping[str, Any], state: Mapping[str, Any]) -> HealthInfo | None:
    check = config.get("Healthcheck") or {}
    test = [str(t) for t in check.get("Test") or []]
    if not test or test == ["NONE"]:
        return None
    live = state.get("Health") or state.get("Healthcheck") or {}
    log: list[HealthRun] = [
        {"start": _time(run.get("Start")), "end": _time(run.get("End")),
         "exit_code": run.get("ExitCode") if isinstance(run.get("ExitCode"), int) else None,
         "output": str(run.get("Output") or "")}
        for run in live.get("Log") or []]
    return {"test": test, "interval": _seconds(check.get("Interval")),
            "timeout": _seconds(check.get("Timeout")),
            "retries": check.get("Retries") if isinstance(check.get("Retries"), int) else None,
            "start_period": _seconds(check.get("StartPeriod")),
            "status": str(live.get("Status") or ""),
            "failing_streak": int(live.get("FailingStreak") or 0), "log": log}


def restorable(state: Mapping[str, Any]) -> bool:
    """A checkpoint was taken and not restored since, and the container is not running
    (a checkpoint with "leave running" is restored only once it stops). Podman 5 says
    ``Checkpointed``; Podman 4.3 only has the times."""
    if state.get("Running") or state.get("Paused"):
        return False
    if "Checkpointed" in state:
        return bool(state["Checkpointed"])
    # Go's zero time is no time; Go trims a fraction's zeros: compared as numbers.
    taken, restored = (ns_from_iso(_time(state.get(key)) or "")
                       for key in ("CheckpointedAt", "RestoredAt"))
    return taken is not None and (restored is None or taken > restored)


def details_of(info: Mapping[str, Any]) -> ContainerDetails:
    """The details of ``GET /libpod/containers/NAME/json``."""
    config = info.get("Config") or {}
    state = info.get("State") or {}
    return {"id": str(info.get("Id") or ""), "name": str(info.get("Name") or ""),
            "env": env_rows(config.get("Env")), "mounts": mount_rows(info.get("Mounts")),
            "health": health_info(config, state), "checkpointed": restorable(state),
            "checkpointed_at": _time(state.get("CheckpointedAt")),
            "restored_at": _time(state.get("RestoredAt"))}
