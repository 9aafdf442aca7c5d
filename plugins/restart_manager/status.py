"""The ``restart.status`` and ``restart.reset`` methods: params and rows (thin)."""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import Field
from typing_extensions import TypedDict

from bridge.container_info import UNIT_LABEL
from bridge.contracts import record
from bridge.events import iso_from_ns
from bridge.methods import Params
from plugins.restart_manager.engine import Engine
from plugins.restart_manager.policy import managed_policy, restarts_on_unhealthy
from plugins.restart_manager.userstops import UserStops

logger = logging.getLogger(__name__)


class StatusParams(Params):
    name: str | None = Field(default=None, min_length=1,
                             description="one container (name or ID); all when omitted")


class ResetParams(Params):
    name: str = Field(min_length=1, description="the container (name or ID)")


@record("restart.status", owner="restart_manager")
class RestartStatusRow(TypedDict):
    """One container's row of ``restart.status``."""

    name: str
    id: str
    state: str
    policy: str | None                 # Podman's restart policy
    managed_policy: str | None         # the manager's (from the container's labels)
    restart_on_unhealthy: bool
    unit: str | None
    conflict: str | None
    restart_count: int
    podman_restart_count: int
    last_exit_code: int | None
    next_attempt: str | None           # RFC 3339
    next_in: float | None              # seconds
    pending_reason: str | None
    crashloop: bool
    recent_deaths: int
    gave_up: bool
    user_stopped: bool | None


def status_row(container: dict[str, Any] | None, name: str, engine: Engine,
               user_stops: UserStops, now: float, wall: float | None = None
               ) -> RestartStatusRow:
    """One container's restart status. ``container`` is the live model's record (None when
    only the engine knows the name); ``now`` is the engine's clock."""
    wall = time.time() if wall is None else wall
    rec = engine.records.get(name)
    labels: dict[str, str] = dict((container or {}).get("labels") or (rec.labels if rec
                                                                         else {}))
    cid = str((container or {}).get("id") or (rec.cid if rec else ""))
    policy = (container or {}).get("restart_policy") or (rec.podman_policy if rec else None)
    managed = managed_policy(labels)
    part = engine.status(name, now)
    podman_count = int((container or {}).get("restart_count") or 0)
    conflict = rec.conflict if rec is not None else None
    next_in = part["next_in"]
    last_exit = part["last_exit_code"]
    if last_exit is None and container is not None:
        last_exit = container.get("exit_code")
    return {
        "name": name,
        "id": cid,
        "state": (container or {}).get("state") or (rec.state if rec else ""),
        "policy": policy,
        "managed_policy": str(managed) if managed else None,
        "restart_on_unhealthy": restarts_on_unhealthy(labels),
        "unit": labels.get(UNIT_LABEL),
        "conflict": conflict,
        # Restarts in the current run of failures: the manager's own for a container it
        # manages, Podman's RestartCount for the others.
        "restart_count": part["restart_count"] if managed and not conflict else podman_count,
        "podman_restart_count": podman_count,
        "last_exit_code": last_exit,
        "next_attempt": iso_from_ns(int((wall + next_in) * 1e9)) if next_in is not None
        else None,
        "next_in": next_in,
        "pending_reason": part["pending_reason"],
        "crashloop": part["crashloop"],
        "recent_deaths": part["recent_deaths"],
        "gave_up": part["gave_up"],
        "user_stopped": user_stops.stopped(cid) if cid else None,
    }
