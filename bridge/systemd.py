"""An async client of systemd's Manager and Unit objects over D-Bus (dbus-fast, low level).

No introspection and no proxy per unit: one connection, one match rule for the Manager's
signals and one (path_namespace) for every unit's PropertiesChanged, so the cost stays flat
with thousands of units. Every call has an explicit timeout.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from bridge.errors import BridgeError, NotFound, Timeout
from bridge.tasks import within
from bridge.userbus import bus_for, bus_owner

logger = logging.getLogger(__name__)

SYSTEMD = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER_IFACE = "org.freedesktop.systemd1.Manager"
UNIT_IFACE = "org.freedesktop.systemd1.Unit"
SERVICE_IFACE = "org.freedesktop.systemd1.Service"
PROPS_IFACE = "org.freedesktop.DBus.Properties"
UNIT_PATH_PREFIX = "/org/freedesktop/systemd1/unit/"
_ESCAPE = re.compile(rb"_([0-9a-fA-F]{2})")  # a byte of a unit name in an object path

CALL_TIMEOUT = 25.0
MATCH_RULES = (
    f"type='signal',sender='{SYSTEMD}',interface='{MANAGER_IFACE}',path='{MANAGER_PATH}'",
    f"type='signal',sender='{SYSTEMD}',interface='{PROPS_IFACE}',member='PropertiesChanged',"
    f"path_namespace='/org/freedesktop/systemd1/unit'",
)

SignalHandler = Callable[[Message], None]


class SystemdError(BridgeError):
    pass


def unit_path_to_name(path: str) -> str:
    """``/org/freedesktop/systemd1/unit/web_2eservice`` -> ``web.service``."""
    escaped = path.removeprefix(UNIT_PATH_PREFIX).encode()
    return _ESCAPE.sub(lambda m: bytes((int(m[1], 16),)), escaped).decode(errors="replace")


def unit_name_to_path(name: str) -> str:
    out = []
    for i, b in enumerate(name.encode()):
        ch = chr(b)
        if ch.isascii() and (ch.isalpha() or (ch.isdigit() and i > 0)):
            out.append(ch)
        else:
            out.append(f"_{b:02x}")
    return UNIT_PATH_PREFIX + "".join(out)


def unwrap(value: Any) -> Any:
    if isinstance(value, Variant):
        return unwrap(value.value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


class SystemdClient:
    """One D-Bus connection to a systemd manager (system or user)."""

    def __init__(self, scope: str = "system", address: str | None = None, *,
                 as_uid: int | None = None) -> None:
        self.scope = scope
        self.address = address or self._default_address(scope)
        # Root serving another user's manager connects as that user (bridge.userbus).
        self.as_uid = as_uid
        self._bus: MessageBus | None = None
        self._handlers: list[SignalHandler] = []
        self._job_waiters: dict[str, asyncio.Future[str]] = {}
        # Results of jobs nobody waited for yet; see wait_job() for why they are kept.
        self._job_results: OrderedDict[str, str] = OrderedDict()

    @staticmethod
    def _default_address(scope: str) -> str:
        if scope == "user":
            addr = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
            if addr:
                return addr
            runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
            return f"unix:path={runtime}/bus"
        return os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or \
            "unix:path=/run/dbus/system_bus_socket"

    @property
    def connected(self) -> bool:
        return self._bus is not None and self._bus.connected

    async def connect(self, timeout: float = 10) -> None:
        bus_type = BusType.SESSION if self.scope == "user" else BusType.SYSTEM
        as_uid = self.as_uid
        if as_uid is None and self.scope == "user":
            as_uid = bus_owner(self.address)
        bus = bus_for(self.address, bus_type, as_uid)
        try:
            await within(bus.connect(), timeout)
        except (TimeoutError, OSError, DBusError, EOFError) as exc:
            bus.disconnect()
            raise SystemdError(f"cannot connect to D-Bus at {self.address}: {exc}") from None
        bus.add_message_handler(self._on_message)
        self._bus = bus
        for rule in MATCH_RULES:
            await self._dbus_call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                  "org.freedesktop.DBus", "AddMatch", "s", [rule])

    async def wait_disconnected(self) -> None:
        if self._bus is not None:
            await self._bus.wait_for_disconnect()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._bus is not None:
            self._bus.remove_message_handler(self._on_message)
            self._bus.disconnect()
            self._bus = None
        for fut in self._job_waiters.values():
            if not fut.done():
                fut.set_exception(SystemdError("D-Bus connection closed"))
        self._job_waiters.clear()

    def add_signal_handler(self, handler: SignalHandler) -> Callable[[], None]:
        self._handlers.append(handler)
        return lambda: self._handlers.remove(handler) if handler in self._handlers else None

    def _on_message(self, msg: Message) -> bool | None:
        if msg.message_type != MessageType.SIGNAL:
            return None
        if msg.member == "JobRemoved" and msg.interface == MANAGER_IFACE:
            _id, job, _unit, result = msg.body
            fut = self._job_waiters.pop(job, None)
            if fut is not None and not fut.done():
                fut.set_result(result)
            else:
                self._job_results[job] = result
                while len(self._job_results) > 1024:
                    self._job_results.popitem(last=False)
        for handler in list(self._handlers):
            try:
                handler(msg)
            except Exception:
                logger.exception("systemd signal handler failed")
        return None

    async def _dbus_call(self, dest: str, path: str, iface: str, member: str,
                         signature: str = "", body: list[Any] | None = None,
                         timeout: float = CALL_TIMEOUT) -> list[Any]:
        if self._bus is None or not self._bus.connected:
            raise SystemdError("not connected to systemd's D-Bus")
        msg = Message(destination=dest, path=path, interface=iface, member=member,
                      signature=signature, body=body or [])
        try:
            reply = await within(self._bus.call(msg), timeout)
        except TimeoutError:
            raise Timeout(f"systemd {member}: no answer in {timeout:.0f} s") from None
        except (EOFError, OSError) as exc:
            raise SystemdError(f"systemd {member}: D-Bus connection lost: {exc}") from None
        assert reply is not None
        if reply.message_type == MessageType.ERROR:
            text = reply.body[0] if reply.body else reply.error_name
            if reply.error_name in ("org.freedesktop.systemd1.NoSuchUnit",
                                    "org.freedesktop.DBus.Error.FileNotFound"):
                raise NotFound(f"systemd {member}: {text}")
            raise SystemdError(f"systemd {member}: {text}")
        return list(reply.body)

    async def manager(self, member: str, signature: str = "", body: list[Any] | None = None,
                      timeout: float = CALL_TIMEOUT) -> list[Any]:
        return await self._dbus_call(SYSTEMD, MANAGER_PATH, MANAGER_IFACE, member, signature,
                                     body, timeout)

    # -- the Manager
    async def subscribe(self) -> None:
        try:
            await self.manager("Subscribe")
        except SystemdError as exc:
            if "AlreadySubscribed" not in str(exc) and "already" not in str(exc).lower():
                raise

    async def list_units(self) -> list[tuple[Any, ...]]:
        (units,) = await self.manager("ListUnits")
        return [tuple(u) for u in units]

    async def load_unit(self, name: str) -> str:
        (path,) = await self.manager("LoadUnit", "s", [name])
        return str(path)

    async def start_unit(self, name: str, mode: str = "replace") -> str:
        (job,) = await self.manager("StartUnit", "ss", [name, mode])
        return str(job)

    async def stop_unit(self, name: str, mode: str = "replace") -> str:
        (job,) = await self.manager("StopUnit", "ss", [name, mode])
        return str(job)

    async def restart_unit(self, name: str, mode: str = "replace") -> str:
        (job,) = await self.manager("RestartUnit", "ss", [name, mode])
        return str(job)

    async def reset_failed_unit(self, name: str) -> None:
        await self.manager("ResetFailedUnit", "s", [name])

    async def reload(self, timeout: float = 60) -> None:
        """daemon-reload."""
        await self.manager("Reload", timeout=timeout)

    async def enable_unit_files(self, files: list[str], runtime: bool = False,
                                force: bool = False) -> list[tuple[str, str, str]]:
        _carries, changes = await self.manager("EnableUnitFiles", "asbb",
                                               [files, runtime, force])
        return [(str(a), str(b), str(c)) for a, b, c in changes]

    async def disable_unit_files(self, files: list[str], runtime: bool = False
                                 ) -> list[tuple[str, str, str]]:
        (changes,) = await self.manager("DisableUnitFiles", "asb", [files, runtime])
        return [(str(a), str(b), str(c)) for a, b, c in changes]

    async def get_all(self, path: str, interface: str) -> dict[str, Any]:
        (props,) = await self._dbus_call(SYSTEMD, path, PROPS_IFACE, "GetAll", "s",
                                         [interface])
        return {k: unwrap(v) for k, v in props.items()}

    async def get_property(self, path: str, interface: str, name: str) -> Any:
        (value,) = await self._dbus_call(SYSTEMD, path, PROPS_IFACE, "Get", "ss",
                                         [interface, name])
        return unwrap(value)

    async def unit_properties(self, name: str, *, service: bool = True) -> dict[str, Any]:
        """Unit and (for services, when ``service``) Service properties of a loaded unit."""
        path = await self.load_unit(name)
        props = await self.get_all(path, UNIT_IFACE)
        if service and name.endswith(".service"):
            props.update(await self.get_all(path, SERVICE_IFACE))
        return props

    # -- jobs
    async def wait_job(self, job: str, timeout: float = 300) -> str:
        """The result of a job (``done``, ``failed``, ``timeout``, ``canceled``, ...).

        Ordering matters here. systemd sends the reply that names a job before the job's
        JobRemoved signal, but dbus-fast runs signal handlers as soon as a message is read,
        while the coroutine that awaited the reply resumes only on a later turn of the loop.
        A job that finishes at once (a restart of a unit that fails immediately, a start of
        an active unit) can therefore be reported before anyone waits for it. Results that
        arrive unclaimed are kept, bounded, in _job_results, and looked up first.
        """
        if job in self._job_results:
            return self._job_results.pop(job)
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._job_waiters[job] = fut
        try:
            return await within(fut, timeout)
        except TimeoutError:
            raise Timeout(f"job {job}: no result in {timeout:.0f} s") from None
        finally:
            self._job_waiters.pop(job, None)

    async def settled(self, name: str, timeout: float = 300) -> dict[str, Any]:
        """The unit's properties once no job of it is pending.

        A job's end says nothing of the *other* units its transaction touched: after the
        stop job of a pod unit is done, a member that BindsTo= it may still be
        ``deactivating`` under its own stop job. systemd's answer is the unit's ``Job``
        property: while it names a job, that job's result is awaited, then the unit is
        read again. Never a wait for a duration."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            props = await self.unit_properties(name)
            job = props.get("Job") or (0, "/")
            if not job[0]:
                return props
            left = deadline - loop.time()
            if left <= 0:
                raise Timeout(f"{name}: job {job[1]} still pending after {timeout:.0f} s")
            try:
                await self.wait_job(str(job[1]), left)
            except Timeout:
                continue

    async def run_job(self, verb: str, name: str, mode: str = "replace",
                      timeout: float = 300) -> str:
        """Start/stop/restart a unit and wait for its job's result."""
        method = {"start": self.start_unit, "stop": self.stop_unit,
                  "restart": self.restart_unit}[verb]
        job = await method(name, mode)
        return await self.wait_job(job, timeout)
