"""The system's info and disk use, and a unit's journal (docs/protocol.md, section 10;
volumes are in bridge/methods_volumes.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field

from bridge.methods import MethodRegistry
from bridge.owners import Owned, check_owner_param, podman_of
from bridge.podman_compat import info_summary
from bridge.streams import StreamSource
from bridge.unit_journal import JournalStream, journal_argv

if TYPE_CHECKING:
    from bridge.app import Bridge


class JournalParams(Owned):
    name: str = Field(min_length=1, max_length=256, pattern=r"^[^\s/][^\s]*$",
                      description="the unit")
    tail: int = Field(default=100, ge=0, le=100_000)
    since: str | None = Field(default=None, min_length=1, max_length=64,
                              pattern=r"^[0-9A-Za-z:. +_-]+$",
                              description="RFC 3339 or unix seconds")
    follow: bool = False


def _usage(rows: list[dict[str, Any]], size_key: str, active: Any,
           reclaimable: Any) -> dict[str, int]:
    return {"total": len(rows), "active": sum(1 for r in rows if active(r)),
            "size": sum(int(r.get(size_key) or 0) for r in rows),
            "reclaimable": sum(int(reclaimable(r) or 0) for r in rows)}


def register_system_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def system_info(p: Owned) -> dict[str, Any]:
        podman = podman_of(bridge, p.owner)
        info = await podman.request("GET", "/info", what="podman info")
        compat = await podman.compat()
        host = info.get("host") or {}
        store = info.get("store") or {}
        cstore = store.get("containerStore") or {}
        return {**info_summary(info), "version": compat.version,
                "hostname": host.get("hostname"), "kernel": host.get("kernel"),
                "cpus": host.get("cpus"), "mem_total": host.get("memTotal"),
                "mem_free": host.get("memFree"),
                "containers": {"total": cstore.get("number"), "running": cstore.get("running"),
                               "paused": cstore.get("paused"),
                               "stopped": cstore.get("stopped")},
                "images": (store.get("imageStore") or {}).get("number")}

    async def system_df(p: Owned) -> dict[str, Any]:
        df = await podman_of(bridge, p.owner).request("GET", "/system/df", what="podman system df",
                                              timeout=120) or {}
        # Podman's df has a row per tag of an image: one image counts (and weighs) once.
        images = list({str(r.get("ImageID") or i): r
                       for i, r in enumerate(df.get("Images") or [])}.values())
        containers = df.get("Containers") or []
        volumes = df.get("Volumes") or []
        return {
            "images": _usage(images, "Size", lambda r: (r.get("Containers") or 0) > 0,
                             lambda r: r.get("Size") if not r.get("Containers") else 0),
            "containers": _usage(containers, "RWSize",
                                 lambda r: r.get("Status") in ("running", "paused"),
                                 lambda r: r.get("RWSize") if r.get("Status") not in
                                 ("running", "paused") else 0),
            "volumes": _usage(volumes, "Size", lambda r: (r.get("Links") or 0) > 0,
                              lambda r: r.get("ReclaimableSize")),
        }

    async def units_journal(p: JournalParams) -> dict[str, Any] | StreamSource:
        session = check_owner_param(p.owner, bridge.owners)
        uid = None if session is None else session.owner.uid
        command = list(bridge.settings.journalctl)
        argv = journal_argv(command, p.name, uid, tail=p.tail, since=p.since,
                            follow=p.follow)
        stream = JournalStream(command, argv, p.name)
        return stream if p.follow else {"entries": await stream.collect()}

    methods.register_table((
        ("system.info", system_info, Owned, "viewer",
         "Podman's and the host's info, with counts of containers and images"),
        ("system.df", system_df, Owned, "viewer", "disk used by images, containers, volumes"),
        ("units.journal", units_journal, JournalParams, "viewer",
         "a unit's journal; with follow, a stream of new entries"),
    ))
