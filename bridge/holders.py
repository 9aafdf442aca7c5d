"""Who holds a TCP port: a systemd socket unit (asked over D-Bus) or a process (from /proc).

Used only to explain a bind that failed, so every lookup is best effort: what cannot be
read (another user's /proc entries, a bus that does not answer) is skipped.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import BridgeError
from bridge.systemd import SystemdClient
from bridge.tasks import within

logger = logging.getLogger(__name__)

PROC = Path("/proc")
LISTEN_STATE = "0A"
COCKPIT_NAMES = ("cockpit-ws", "cockpit-tls")
DBUS_TIMEOUT = 3.0
SOCKET_IFACE = "org.freedesktop.systemd1.Socket"


@dataclass(frozen=True)
class Holder:
    """A socket unit (``unit`` set) or a process (``pid`` and ``name``)."""

    unit: str = ""
    listen: str = ""
    pid: int = 0
    name: str = ""

    @property
    def is_cockpit(self) -> bool:
        return self.unit.startswith("cockpit") or self.name in COCKPIT_NAMES

    def describe(self) -> str:
        if self.unit:
            who = "Cockpit, by its socket unit" if self.is_cockpit else "the socket unit"
            return f"{who} {self.unit} (systemd listens on {self.listen} for it)"
        if self.is_cockpit:
            return f"Cockpit ({self.name}, pid {self.pid})"
        return f"{self.name} (pid {self.pid})"


def listening_inodes(port: int, proc: Path = PROC) -> set[int]:
    """Inodes of the listening TCP sockets on ``port`` (any address), from /proc/net."""
    inodes: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN_STATE:
                continue
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port:
                inodes.add(int(fields[9]))
    return inodes


def processes_holding(inodes: set[int], proc: Path = PROC) -> list[tuple[int, str]]:
    """(pid, command name) of the processes with one of these sockets open."""
    if not inodes:
        return []
    wanted = {f"socket:[{i}]" for i in inodes}
    found: list[tuple[int, str]] = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(fd) in wanted:
                    name = (entry / "comm").read_text().strip()
                    found.append((int(entry.name), name))
                    break
    return sorted(found)


def listen_matches(listen: str, port: int) -> bool:
    """systemd's Listen strings: ``9090``, ``0.0.0.0:9090``, ``[::]:9090``, ``/run/x.sock``."""
    return listen == str(port) or listen.rpartition(":")[2] == str(port)


async def socket_units_on(port: int, address: str | None) -> list[Holder]:
    """The socket units of the systemd manager at ``address`` (the system bus by default)
    that listen on ``port``."""
    systemd = SystemdClient("system", address)
    try:
        try:
            await systemd.connect(DBUS_TIMEOUT)
        except (BridgeError, ValueError) as exc:
            logger.debug("no systemd to ask about port %s: %s", port, exc)
            return []
        return await within(_socket_units(systemd, port), DBUS_TIMEOUT * 2)
    except (BridgeError, TimeoutError, OSError, EOFError) as exc:
        logger.debug("asking systemd about port %s failed: %s", port, exc)
        return []
    finally:
        systemd.close()


async def _socket_units(systemd: SystemdClient, port: int) -> list[Holder]:
    (units,) = await systemd.manager("ListUnitsByPatterns", "asas", [["active"], ["*.socket"]])
    holders: list[Holder] = []
    for unit in units:
        name, path = unit[0], unit[6]
        try:
            listens = await systemd.get_property(path, SOCKET_IFACE, "Listen")
        except BridgeError:
            continue
        holders += [Holder(unit=name, listen=listen) for _kind, listen in listens
                    if listen_matches(listen, port)]
    return holders


async def find_holders(port: int, systemd_address: str | None = None) -> list[Holder]:
    """Socket units first (a process found that is systemd itself says nothing more)."""
    holders = await socket_units_on(port, systemd_address)
    for pid, name in processes_holding(listening_inodes(port)):
        if name == "systemd" and holders:
            continue
        holders.append(Holder(pid=pid, name=name))
    return holders
