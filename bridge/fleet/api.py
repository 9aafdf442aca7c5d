"""What a plugin (``ctx.fleet``) and a fleet command see of the fleet (docs/fleet.md).

Nothing of NATS is imported here (``bridge.fleet.link`` only for type checking): the
bridge's :class:`~bridge.fleet.link.FleetLink`, or a command's (``client=True``), is
plugged into a :class:`Fleet`.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from bridge.errors import BridgeError, ErrorCode, Unreachable

if TYPE_CHECKING:
    from bridge.fleet.link import FleetLink


class FleetError(BridgeError):
    """A fleet call's error: the remote method's own code, or ``timeout``/``unreachable``."""


class FleetUnavailable(FleetError, Unreachable):
    """The fleet (NATS) or the host called is not reachable now."""


class KVConflict(FleetError):
    code: ErrorCode = "conflict"


@dataclass(frozen=True, slots=True)
class KVEntry:
    key: str
    value: Any  # JSON; None for a deleted key (in a watch)
    revision: int


class KV(Protocol):
    """A JetStream KV bucket of JSON values, with compare-and-swap."""

    bucket: str

    async def get(self, key: str) -> KVEntry | None: ...

    async def put(self, key: str, value: Any) -> int: ...

    async def create(self, key: str, value: Any) -> int: ...

    async def update(self, key: str, value: Any, revision: int) -> int: ...

    async def delete(self, key: str, revision: int | None = None) -> None: ...

    async def keys(self) -> list[str]: ...

    def watch(self, key_pattern: str = ">") -> AsyncIterator[KVEntry]: ...


class Fleet:
    """``ctx.fleet``: the fleet as a plugin uses it. ``joined`` is False (and every call
    raises :class:`FleetUnavailable`) when the bridge is in no fleet."""

    def __init__(self, name: str, host: str, backend: FleetLink | None,
                 caller: dict[str, Any] | None = None) -> None:
        self.name = name
        self.host = host
        self._backend = backend
        self._caller = caller or {"name": "bridge", "role": "admin", "host": host}

    @property
    def joined(self) -> bool:
        return self._backend is not None

    @property
    def connected(self) -> bool:
        return self._backend is not None and self._backend.connected

    def _need(self) -> FleetLink:
        if self._backend is None:
            raise FleetUnavailable("this bridge is in no fleet: set [fleet] servers "
                                   "(or --fleet nats://…)")
        return self._backend

    def as_caller(self, name: str, role: str = "admin") -> Fleet:
        """The same fleet, its calls made as ``name`` (a plugin: ``plugin/NAME``)."""
        return Fleet(self.name, self.host, self._backend,
                     {"name": name, "role": role, "host": self.host})

    async def wait_connected(self, timeout: float | None = None) -> bool:
        if self._backend is None:
            return False
        return await self._backend.wait_connected(timeout)

    async def hosts(self) -> list[dict[str, Any]]:
        return await self._need().hosts()

    async def summaries(self) -> dict[str, dict[str, Any]]:
        return await self._need().summaries()

    async def call(self, host: str, method: str, params: dict[str, Any] | None = None,
                   timeout: float | None = None) -> Any:
        return await self._need().call(host, method, params or {}, self._caller, timeout)

    async def kv(self, bucket: str) -> KV:
        return await self._need().kv(bucket)

    def events(self, patterns: list[str] | None = None, hosts: list[str] | None = None,
               since: int | None = None) -> AsyncIterator[dict[str, Any]]:
        return self._need().events(patterns or ["**"], hosts, since)


def add_fleet_flags(p: argparse.ArgumentParser) -> None:
    """``--fleet`` and ``--fleet-name`` (and ``--config`` for credentials) of a fleet command."""
    p.add_argument("--fleet", metavar="nats://…", help="NATS servers, comma-separated "
                   "(default: $PODBRIDGE_FLEET, then the settings' [fleet] servers)")
    p.add_argument("--fleet-name", metavar="F", help="the fleet's name (default: the "
                   "settings' [fleet] name, else 'default')")
    p.add_argument("--config", help="TOML settings file (its [fleet] credentials are used)")


class FleetClient(Fleet):
    """A fleet command's connection; ``await close()`` when done."""

    def __init__(self, name: str, host: str, backend: FleetLink) -> None:
        super().__init__(name, host, backend, {"name": "cli", "role": "admin", "host": host})
        self._client = backend

    async def close(self) -> None:
        await self._client.close()


async def connect_client(args: argparse.Namespace, timeout: float = 10.0) -> FleetClient:
    """Connect a fleet command (flags from :func:`add_fleet_flags`) to the fleet; raises
    FleetUnavailable when no server is named or none answers in ``timeout``."""
    from bridge.config import load_settings
    from bridge.fleet.link import FleetLink

    flags = {key: value for key, value in (("servers", getattr(args, "fleet", None)),
                                           ("name", getattr(args, "fleet_name", None))) if value}
    fleet = load_settings(getattr(args, "config", None)).fleet
    if flags:
        fleet = type(fleet).model_validate({**fleet.model_dump(exclude_unset=True), **flags})
    if not fleet.joined:
        raise FleetUnavailable("no fleet: pass --fleet nats://… or set PODBRIDGE_FLEET")
    link = FleetLink(fleet, bus=None, methods=None, state=None, client=True)
    await link.start()
    if not await link.wait_connected(timeout):
        await link.close()
        raise FleetUnavailable(f"no NATS server of {', '.join(fleet.servers)} answered "
                               f"in {timeout:g} s")
    return FleetClient(fleet.name, fleet.host, link)


async def read_hosts(args: argparse.Namespace) -> list[dict[str, Any]]:
    """``fleet.hosts`` as a command sees it: connected as :func:`connect_client` does."""
    client = await connect_client(args)
    try:
        return await client.hosts()
    finally:
        await client.close()
