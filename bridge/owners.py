"""Owners: the rootless containers and user units of every user, seen by a root bridge.

As Cockpit's Podman page does, a bridge run as root also serves each user whose user
manager runs (lingering, or logged in): one Podman source and one systemd source per
owner, feeding the same bus. Root reaches each user's sockets itself (see
docs/choices.md, "Rootless"): the user's Podman socket directly, the user's bus as the
user (:mod:`bridge.userbus`).

Everything an owner's sources and state publish carries ``uid`` and ``user`` in its data;
the system's carries neither. Each owner has a :class:`~bridge.state.State` of its own,
which hears only its owner's events (:class:`OwnerBus`), so two users' ``myapp`` never mix.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, Protocol

from pydantic import Field
from typing_extensions import TypedDict

from bridge.bus import Bus, Listener
from bridge.contracts import Topic
from bridge.errors import BridgeError, InvalidParams, NotFound
from bridge.events import Event
from bridge.methods import Params
from bridge.podman import PodmanClient
from bridge.sources import PodmanSource, SystemdSource, start_sources
from bridge.state import State
from bridge.systemd import MANAGER_IFACE, MANAGER_PATH, SystemdClient
from bridge.tasks import TaskOwner
from bridge.userfiles import UserFolder, user_folder

logger = logging.getLogger(__name__)

SCAN_INTERVAL = 2.0


class OwnerData(TypedDict):
    uid: int
    user: str
    runtime_dir: NotRequired[str]


OWNER_ADDED = Topic("bridge.owner_added", OwnerData)
OWNER_REMOVED = Topic("bridge.owner_removed", OwnerData)


@dataclass(frozen=True)
class Owner:
    uid: int
    user: str

    @classmethod
    def of_uid(cls, uid: int) -> Owner:
        try:
            return cls(uid, pwd.getpwuid(uid).pw_name)
        except KeyError:
            return cls(uid, str(uid))

    def tag(self) -> dict[str, Any]:
        return {"uid": self.uid, "user": self.user}

    def matches(self, ref: str) -> bool:
        """``ref`` is the user's name or uid."""
        return ref == self.user or ref == str(self.uid)


class OwnerBus(Bus):
    """The bus as one owner's sources and state see it: what they publish carries the
    owner; they hear only that owner's events. With ``owner=None`` it is the system's
    view: events of owners are not heard (plugins and the system's state use it)."""

    def __init__(self, bus: Bus, owner: Owner | None) -> None:
        # Not Bus.__init__: this is a view of ``bus``, which keeps the ring and the seqs.
        self._bus = bus
        self.owner = owner

    @property
    def seq(self) -> int:
        return self._bus.seq

    @property
    def oldest_seq(self) -> int:
        return self._bus.oldest_seq

    def _publish(self, type: str, source: str, subject: str,
                 data: Mapping[str, Any] | None, time: str | None) -> Event:
        if self.owner is not None:
            data = {**(data or {}), **self.owner.tag()}
        return self._bus._publish(type, source, subject, data, time)

    def _listen(self, patterns: tuple[str, ...], listener: Listener) -> Callable[[], None]:
        owner = self.owner

        def mine(event: Event, raw: bytes) -> None:
            if (event.data.get("uid") == owner.uid) if owner is not None \
                    else "uid" not in event.data:
                listener(event, raw)

        return self._bus._listen(patterns, mine)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bus, name)


class OwnerSession:
    """One user served by a root bridge: its Podman, its user manager, their sources."""

    def __init__(self, bus: Bus, owner: Owner, runtime_dir: Path) -> None:
        self.owner = owner
        self.runtime_dir = runtime_dir
        self.bus = OwnerBus(bus, owner)
        self.podman = PodmanClient(f"unix://{runtime_dir}/podman/podman.sock")
        self.systemd = SystemdClient("user", f"unix:path={runtime_dir}/bus", as_uid=owner.uid)
        self.state = State(self.bus)
        self.tasks = TaskOwner(f"owner/{owner.user}({owner.uid})")
        self.podman_source: PodmanSource | None = None
        self.systemd_source: SystemdSource | None = None

    def start(self) -> None:
        self.podman_source, self.systemd_source = start_sources(
            self.tasks, self.bus, self.podman, self.systemd, self.state)

    async def stop(self) -> None:
        for source in (self.systemd_source, self.podman_source):
            if source is not None:
                await source.close()
        await self.tasks.close()
        await self.state.aclose()
        self.systemd.close()
        await self.podman.close()

    async def config_folder(self, sub: str, fs_root: Path = Path("/")) -> UserFolder:
        """The folder ``sub`` of the user's config home (``systemd/user``,
        ``containers/systemd``), where the user's own manager and Podman read it: found
        from the user manager's environment (HOME, XDG_CONFIG_HOME)."""
        # The owner's systemd source connects this client (and reconnects it): never a
        # second connect beside it.
        if not self.systemd.connected:
            raise BridgeError(f"owner {self.owner.user!r}: the bridge is not connected to "
                              "their user manager (yet); try again", "failed")
        env = await self.systemd.get_property(MANAGER_PATH, MANAGER_IFACE, "Environment")
        try:
            return user_folder([str(e) for e in env], sub, self.owner.uid, fs_root)
        except (ValueError, OSError) as exc:
            raise NotFound(f"owner {self.owner.user!r}: no config folder of theirs "
                           f"({exc})") from None

    def snapshot(self) -> dict[str, Any]:
        """The owner's rows, each carrying ``uid`` and ``user``."""
        snap = self.state.snapshot()
        tag = self.owner.tag()
        return {key: [{**row, **tag} for row in snap[key]]
                for key in ("containers", "pods", "images", "units")}


def running_user_managers(run_user: Path) -> dict[int, Path]:
    """uid -> runtime folder, for each user whose user manager runs: the runtime folder
    holds the user's bus socket (``/run/user/UID/bus``)."""
    try:
        entries = list(run_user.iterdir())
    except OSError:
        return {}
    return {int(entry.name): entry for entry in entries
            if entry.name.isdigit() and int(entry.name) != 0 and (entry / "bus").is_socket()}


class Owners:
    """Every user with a running user manager, found by a scan of ``/run/user`` every
    :data:`SCAN_INTERVAL` seconds; a session per user, started and stopped as they come
    and go."""

    def __init__(self, bus: Bus, run_user: Path = Path("/run/user"),
                 interval: float = SCAN_INTERVAL) -> None:
        self.bus = bus
        self.run_user = run_user
        self.interval = interval
        self.sessions: dict[int, OwnerSession] = {}
        self._tasks = TaskOwner("owners")

    async def start(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("only a bridge run as root serves other users")
        await self.scan()
        self._tasks.create(self._scan_loop(), "scan")

    async def stop(self) -> None:
        await self._tasks.close()
        for session in list(self.sessions.values()):
            await session.stop()
        self.sessions.clear()

    async def _scan_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.scan()
            except Exception:
                logger.exception("scanning %s for user managers failed", self.run_user)

    async def scan(self) -> None:
        found = running_user_managers(self.run_user)
        for uid in [u for u in self.sessions if u not in found]:
            session = self.sessions.pop(uid)
            await session.stop()
            logger.info("user %s (%d): user manager gone", session.owner.user, uid)
            self.bus.publish(OWNER_REMOVED, "bridge", session.owner.user, session.owner.tag())
        for uid, runtime in found.items():
            if uid not in self.sessions:
                session = OwnerSession(self.bus, Owner.of_uid(uid), runtime)
                self.sessions[uid] = session
                session.start()
                logger.info("user %s (%d): serving its Podman and user manager at %s",
                            session.owner.user, uid, runtime)
                self.bus.publish(OWNER_ADDED, "bridge", session.owner.user,
                                 {**session.owner.tag(), "runtime_dir": str(runtime)})

    def get(self, ref: str) -> OwnerSession:
        """The session of the user named ``ref`` (a name or a uid)."""
        for session in self.sessions.values():
            if session.owner.matches(ref):
                return session
        known = ", ".join(s.owner.user for s in self.sessions.values()) or "none"
        raise NotFound(f"owner {ref!r}: no user manager of that user is running "
                       f"(users served: {known}); start one with "
                       f"`loginctl enable-linger {ref}` or a login")

    def list(self) -> list[dict[str, Any]]:
        return [{**s.owner.tag(), "runtime_dir": str(s.runtime_dir),
                 "podman": bool(s.podman_source and s.podman_source.connected),
                 "systemd": bool(s.systemd_source and s.systemd_source.connected)}
                for s in self.sessions.values()]

    def merge(self, snapshot: dict[str, Any]) -> dict[str, Any]:
        """The system's snapshot plus every owner's rows."""
        merged = {**snapshot}
        for session in self.sessions.values():
            rows = session.snapshot()
            for key, value in rows.items():
                merged[key] = [*merged.get(key, []), *value]
        return merged


def check_owner_param(owner: str | None, owners: Owners | None) -> OwnerSession | None:
    """The session an ``owner`` param names; None for the system."""
    if owner in (None, "", "system", "root", "0"):
        return None
    assert owner is not None
    if owners is None:
        raise InvalidParams(f"owner {owner!r}: this bridge serves one owner only "
                            "(a user's bridge, or root's with rootless disabled)")
    return owners.get(owner)


class Owned(Params):
    """The params of a method that acts for one owner (the base of every such model)."""

    owner: str | None = Field(default=None, description="the user (name or uid) whose "
                              "rootless Podman or user manager it is; default: the "
                              "bridge's own")


class Serving(Protocol):
    """What routes an ``owner`` param: the bridge's own Podman and the users it serves."""

    @property
    def podman(self) -> PodmanClient: ...
    @property
    def owners(self) -> Owners | None: ...


def podman_and_uid(bridge: Serving, owner: str | None) -> tuple[PodmanClient, int | None]:
    """The Podman an ``owner`` param names, and the owner's uid (None for the system)."""
    session = check_owner_param(owner, bridge.owners)
    if session is None:
        return bridge.podman, None
    return session.podman, session.owner.uid


def podman_of(bridge: Serving, owner: str | None) -> PodmanClient:
    """The Podman an ``owner`` param names."""
    return podman_and_uid(bridge, owner)[0]
