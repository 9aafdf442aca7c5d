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

from typing_extensions import TypedDict

from bridge.store import Records, Store

logger = logging.getLogger(__name__)

PREFIX = "user_stop/"
# Podman's ExitedAt is in whole seconds and the bridge sees an exit a little after it.
STALE_SLACK = 5.0


class UserStop(TypedDict):
    """Key ``user_stop/<container ID>``."""

    stopped: bool
    time: float          # unix seconds
    name: str
    via: str             # stop | kill | start | died | ...


class UserStops:
    def __init__(self, store: Store, namespace: str) -> None:
        self.rows = Records(store, namespace, UserStop, PREFIX)

    def record(self, cid: str, name: str, stopped: bool, via: str,
            when: float | None = None) -> None:
        if not cid:
            return
        self.rows.put(cid, {"stopped": stopped, "time": time.time() if when is None else when,
                            "name": name, "via": via})

    def forget(self, cid: str) -> None:
        if cid:
            self.rows.delete(cid)

    def get(self, cid: str) -> UserStop | None:
        return self.rows.get(cid)

    def stopped(self, cid: str, exited_at: float | None = None) -> bool | None:
        """True/False from the record; None when there is none or it predates the exit."""
        rec = self.get(cid)
        if rec is None:
            return None
        if exited_at is not None and exited_at > 0 and exited_at > rec["time"] + STALE_SLACK:
            return None
        return rec["stopped"]

    def prune(self, keep: set[str]) -> int:
        """Forget the records of containers that no longer exist."""
        gone = [cid for cid in self.rows.keys() if cid not in keep]
        for cid in gone:
            self.rows.delete(cid)
        return len(gone)
