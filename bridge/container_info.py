"""What the bridge and its plugins read out of a libpod container inspect: the one copy of
each reading (Podman 4 calls the health object ``Healthcheck``, Podman 5 ``Health``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# The label Podman gives a container that a systemd unit runs: the unit's name, from the
# environment variable of the same name that the unit sets for podman.
UNIT_LABEL = "PODMAN_SYSTEMD_UNIT"
# A container's auto-update policy (registry, local; podman auto-update reads it).
AUTOUPDATE_LABEL = "io.containers.autoupdate"


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def restart_policy(info: Mapping[str, Any]) -> str:
    """``HostConfig.RestartPolicy`` as Podman's CLI writes it: ``no``, ``always``,
    ``unless-stopped``, ``on-failure`` or ``on-failure:N``."""
    policy = _obj(_obj(info.get("HostConfig")).get("RestartPolicy"))
    name = str(policy.get("Name") or "no")
    retries = policy.get("MaximumRetryCount")
    if name == "on-failure" and isinstance(retries, int) and retries > 0:
        return f"on-failure:{retries}"
    return name


def health_status(info: Mapping[str, Any]) -> str | None:
    """``healthy``, ``unhealthy``, ``starting``, or None without a health check."""
    state = _obj(info.get("State"))
    health = _obj(state.get("Health") or state.get("Healthcheck"))
    status = health.get("Status")
    return str(status) if status else None


def has_healthcheck(info: Mapping[str, Any]) -> bool:
    """Whether the container was created with a health check command."""
    return bool(_obj(_obj(info.get("Config")).get("Healthcheck")).get("Test"))
