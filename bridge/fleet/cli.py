"""``podbridge fleet …``: the fleet from a shell, straight through NATS (docs/fleet.md).

``hosts`` is the core's; a plugin adds ``podbridge fleet NAME`` with a classmethod
``fleet_cli(subparsers)`` (the rollout plugin's ``rollout`` and ``status``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from bridge.cli import say
from bridge.fleet.api import FleetError, add_fleet_flags, read_hosts


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'HOST':<20} {'ONLINE':<7} {'LAST SEEN':<28} {'CONTAINERS':>10}  FAILING"]
    for r in rows:
        lines.append(f"{r['host']:<20} {'yes' if r['online'] else 'no':<7} "
                     f"{r['last_seen'] or '-':<28} {r['containers']:>10}  "
                     f"{', '.join(r['failing']) or '-'}")
    return "\n".join(lines)


def cmd_hosts(args: argparse.Namespace) -> int:
    try:
        rows = asyncio.run(read_hosts(args))
    except FleetError as exc:
        return say(f"fleet: {exc.message}", 1)
    if args.format == "json":
        print(json.dumps(rows, indent=None))
    else:
        print(_table(rows))
    return 0


def add_cli(subparsers: argparse._SubParsersAction[Any]) -> None:
    from bridge.plugin import discover

    fleet = subparsers.add_parser("fleet", help="the hosts of a fleet, through NATS",
                                  description="Commands on a podbridge fleet (NATS JetStream).")
    commands = fleet.add_subparsers(dest="fleet_command", metavar="COMMAND", required=True)
    p = commands.add_parser("hosts", help="every host: online, last seen, containers")
    add_fleet_flags(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=cmd_hosts)
    for _name, cls in sorted(discover().items()):
        add = None if isinstance(cls, Exception) else getattr(cls, "fleet_cli", None)
        if add is not None:
            add(commands)
