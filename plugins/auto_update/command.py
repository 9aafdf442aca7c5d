"""The quick entry of ``podbridge auto-update`` (entry-point group ``podbridge.commands``).

By default the command runs by itself (plugins.auto_update.cli): a drop-in for ``podman
auto-update``, down to its pull progress lines and each Podman version's texts.

With ``PODBRIDGE_AUTO_UPDATE_VIA=bridge`` in the environment, when this user's bridge is
running, serves the same Podman and the same systemd, and the command line asks only for
what the bridge's ``autoupdate.run`` does (``--dry-run``, ``--rollback``, ``--format
json|table``), the run is handed to the bridge: it has Podman, D-Bus and the registry
client loaded, records the run in its history and publishes its events, and this process
pays for Python and ``http.client`` only. Anything else (another flag, another Podman or
bus, no bridge, the plugin disabled there) runs the command by itself. Handed over, the run
prints the bridge's verdicts in Podman's table or JSON, but no pull progress lines and no
version-specific texts (an unreachable registry is ``failed``, as the bridge's own runs
report it): hence opt-in.

Imports here stay light: nothing of aiohttp, pydantic or the updater before the choice.
"""

from __future__ import annotations

import os
import sys
from typing import Any

EXIT_ERROR = 125  # Podman's status for a run with errors
BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
# Environment the command by itself would read, but a bridge reads its own of.
OWN_ENV = ("REGISTRY_AUTH_FILE", "CONTAINERS_REGISTRIES_CONF")
VIA = "PODBRIDGE_AUTO_UPDATE_VIA"


def main(argv: list[str]) -> int:
    wanted = forwardable(argv) if os.environ.get(VIA) == "bridge" else None
    if wanted is not None and not any(os.environ.get(k) for k in OWN_ENV):
        status = through_bridge(*wanted)
        if status is not None:
            return status
    return by_itself(argv)


def forwardable(argv: list[str]) -> tuple[bool, bool | None, str] | None:
    """(dry_run, rollback, format) when the line holds only flags the bridge's method
    takes; None otherwise (including --help and anything unknown)."""
    dry_run, rollback, fmt = False, None, "table"
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        if arg == "--dry-run":
            dry_run = True
        elif name == "--format":
            if not eq:
                i += 1
                value = argv[i] if i < len(argv) else ""
            if value not in ("json", "table"):
                return None
            fmt = value
        elif name == "--rollback":
            if eq:
                if value.lower() not in BOOLS:
                    return None
                rollback = BOOLS[value.lower()]
            elif i + 1 < len(argv) and argv[i + 1].lower() in BOOLS:
                i += 1
                rollback = BOOLS[argv[i].lower()]
            else:
                rollback = True
        else:
            return None
        i += 1
    return dry_run, rollback, fmt


def _same_services(status: dict[str, Any]) -> bool:
    """Does the bridge serve the Podman and the systemd this command would use?"""
    podman = os.environ.get("CONTAINER_HOST")
    if podman and (status.get("podman") or {}).get("url") != podman:
        return False
    systemd = status.get("systemd") or {}
    own = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS" if systemd.get("scope") == "system"
                         else "DBUS_SESSION_BUS_ADDRESS")
    return not own or systemd.get("address") == own


def through_bridge(dry_run: bool, rollback: bool | None, fmt: str) -> int | None:
    """The run done by the bridge and printed; None when no fitting bridge answers."""
    from bridge import remote
    from bridge.errors import BridgeError

    target = remote.find_bridge()
    if target is None:
        return None
    pinned = any(os.environ.get(k) for k in (
        "CONTAINER_HOST", "DBUS_SYSTEM_BUS_ADDRESS", "DBUS_SESSION_BUS_ADDRESS"))
    try:
        # Only a caller pointed at a Podman or a bus of its own needs the bridge's to match.
        if pinned and not _same_services(remote.call(target, "bridge.status", timeout=10)):
            return None
        params: dict[str, Any] = {"dry_run": dry_run}
        if rollback is not None:
            params["rollback"] = rollback
        report = remote.call(target, "autoupdate.run", params)
    except (remote.BridgeUnreachable, OSError):
        return None
    except BridgeError as exc:
        if exc.code in ("unknown-method", "access-denied"):
            return None  # the plugin is off there, or the token is stale
        print(f"Error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    return print_report(report, fmt)


def print_report(report: dict[str, Any], fmt: str) -> int:
    """A run's report (``Report.to_json()``) as ``podman auto-update`` prints it."""
    from plugins.auto_update import output

    rows = [output.Row(
        unit=r["Unit"], container_id=r["ContainerID"], container_name=r["ContainerName"],
        image=r["Image"], policy=r["Policy"], updated=r["Updated"],
        reason=r.get("Reason", "")) for r in report.get("rows", [])]
    if fmt == "json":
        print(output.as_json(rows))
    elif rows:
        sys.stdout.write(output.table(rows))
    errors = list(report.get("errors", [])) + [
        f"{r.container}: {r.reason}" for r in rows if r.updated == "failed"]
    for error in errors:
        print(f"Error: {error}", file=sys.stderr)
    return EXIT_ERROR if errors else 0


def by_itself(argv: list[str]) -> int:
    """The command run in this process (plugins.auto_update.cli), no bridge needed."""
    import argparse

    from bridge.cli import run_parsed
    from plugins.auto_update.cli import add_cli

    parser = argparse.ArgumentParser(prog="podbridge")
    add_cli(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return run_parsed(parser, parser.parse_args(["auto-update", *argv]))
