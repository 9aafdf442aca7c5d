"""The user stops the manager saw, kept in the store (Podman 4.3 does not show its own
``StoppedByUser`` in inspect, nor keep it across a reboot).

One key per container ID in the plugin's namespace: ``{"stopped": bool, "time": unix
seconds, "name", "via"}``. ``stopped`` is True after a ``stop``/``kill`` and False after the
container started or died on its own; a record older than the container's last exit says
nothing (the exit happened while the bridge was not looking).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bridge.store import Store

logger = logging.getLogger(__name__)

PREFIX = "user_stop/"
# Podman's ExitedAt is in whole seconds and the bridge sees an exit a little after it.
STALE_SLACK = 5.0


class UserStops:
    def __init__(self, store: Store, namespace: str) -> None:
        self.store = store
        self.namespace = namespace

    def record(self, cid: str, name: str, stopped: bool, via: str,
            when: float | None = None) -> None:
        if not cid:
            return
        self.store.put(self.namespace, PREFIX + cid, {
            "stopped": stopped, "time": time.time() if when is None else when,
            "name": name, "via": via})

    def forget(self, cid: str) -> None:
        if cid:
            self.store.delete(self.namespace, PREFIX + cid)

    def get(self, cid: str) -> dict[str, Any] | None:
        value = self.store.get(self.namespace, PREFIX + cid)
        return value if isinstance(value, dict) else None

    def stopped(self, cid: str, exited_at: float | None = None) -> bool | None:
        """True/False from the record; None when there is none or it predates the exit."""
        rec = self.get(cid)
        if rec is None:
            return None
        if exited_at is not None and exited_at > 0 and \
                exited_at > float(rec.get("time") or 0) + STALE_SLACK:
            return None
        return bool(rec.get("stopped"))

    def prune(self, keep: set[str]) -> int:
        """Forget the records of containers that no longer exist."""
        gone = [k for k in self.store.items(self.namespace)
                if k.startswith(PREFIX) and k[len(PREFIX):] not in keep]
        for key in gone:
            self.store.delete(self.namespace, key)
        return len(gone)
