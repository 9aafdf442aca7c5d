"""The fleet's view of its hosts, from heartbeats and summaries (pure: no NATS here)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.state import State


def host_rows(heartbeats: dict[str, dict[str, Any]], summaries: dict[str, dict[str, Any]],
              offline_after: float, now: float | None = None) -> list[dict[str, Any]]:
    """One row per host that ever sent a heartbeat: ``online`` when its last heartbeat is
    younger than ``offline_after`` seconds (by the reader's clock against the host's)."""
    now = time.time() if now is None else now
    rows = []
    for host in sorted(set(heartbeats) | set(summaries)):
        beat = heartbeats.get(host) or {}
        summary = summaries.get(host) or {}
        raw_seen = beat.get("time")
        seen = float(raw_seen) if isinstance(raw_seen, int | float) else None
        age = now - seen if seen is not None else None
        rows.append({
            "host": host,
            "online": age is not None and age < offline_after,
            "last_seen": (datetime.fromtimestamp(seen, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                          if seen is not None else None),
            "age": round(age, 3) if age is not None else None,
            "containers": int(summary.get("containers") or 0),
            "running": int(summary.get("running") or 0),
            "units": int(summary.get("units") or 0),
            "failing": list(summary.get("failing") or []),
            "version": beat.get("version"),
        })
    return rows


def summary_of(host: str, state: State) -> dict[str, Any]:
    """What a host writes to the summary bucket (docs/fleet.md), without ``time``."""
    containers = sorted(state.containers.values(), key=lambda c: str(c.get("name")))
    failing = sorted(u["name"] for u in state.units.values()
                     if u.get("active_state") == "failed")
    return {
        "host": host,
        "containers": len(containers),
        "running": sum(1 for c in containers if c.get("state") == "running"),
        "units": len(state.units),
        "failing": failing,
        "container_list": [{"name": c.get("name"), "id": c.get("id"),
                            "image": c.get("image"), "image_id": c.get("image_id"),
                            "state": c.get("state"), "labels": c.get("labels") or {},
                            "unit": c.get("unit")} for c in containers],
    }
