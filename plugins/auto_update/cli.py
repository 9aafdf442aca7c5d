"""``podbridge auto-update``: one run, without a bridge, against the same Podman socket and
systemd bus the bridge uses; flags, output and exit status as ``podman auto-update``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from bridge.errors import BridgeError
from bridge.standalone import add_connection_flags, open_clients, settings_from_args
from bridge.store import Store
from plugins.auto_update import output
from plugins.auto_update.history import History
from plugins.auto_update.updater import Options, Report, Updater

logger = logging.getLogger(__name__)

EXIT_ERROR = 125  # Podman's status for a run with errors


def parse_bool(value: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{value!r} is not true or false")


def add_cli(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser(
        "auto-update", help="update containers whose image changed, as podman auto-update",
        description="Check and update the running containers labelled "
        "io.containers.autoupdate, restarting their systemd units (rollback on failure).")
    add_connection_flags(p)
    p.add_argument("--dry-run", action="store_true",
                   help="check only: updates show as pending")
    p.add_argument("--rollback", type=parse_bool, nargs="?", const=True, default=None,
                   metavar="true|false", help="roll back when a restart fails (default true)")
    p.add_argument("--format", choices=("json", "table"), default="table",
                   help="print JSON instead of the table")
    p.add_argument("--authfile", help="registry credentials (default: $REGISTRY_AUTH_FILE, "
                   "then containers' default auth.json)")
    p.add_argument("--tls-verify", type=parse_bool, nargs="?", const=True, default=None,
                   metavar="true|false", help="require verified HTTPS (default: as "
                   "registries.conf says)")
    p.add_argument("--registries-conf", help="registries.conf to read (default: "
                   "$CONTAINERS_REGISTRIES_CONF, then /etc/containers/registries.conf)")
    p.add_argument("--concurrency", type=int, help="independent units updated at once "
                   "(default 4)")
    p.add_argument("--no-history", action="store_true",
                   help="do not record the run in the bridge's store")
    p.set_defaults(func=cmd_auto_update)


def cmd_auto_update(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    conf = settings.plugin_config("auto_update")
    options = Options(
        dry_run=args.dry_run,
        rollback=args.rollback if args.rollback is not None else conf.get("rollback", True),
        authfile=args.authfile or conf.get("authfile"),
        tls_verify=args.tls_verify if args.tls_verify is not None else conf.get("tls_verify"),
        registries_conf=args.registries_conf or conf.get("registries_conf"),
        concurrency=args.concurrency or int(conf.get("concurrency", 4)),
    )
    store = None
    if not args.no_history:
        try:
            store = Store(settings.state_dir / "podbridge.db")
        except Exception as exc:  # a read-only state folder must not stop an update
            logger.warning("no history for this run: %s", exc)

    async def run() -> Report:
        async with open_clients(settings, systemd=True) as clients:
            history = History(store) if store is not None else None
            return await Updater(clients.podman, clients.systemd, options,
                                 history=history).run()

    try:
        report = asyncio.run(run())
    except BridgeError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if store is not None:
            store.close()
    if args.format == "json":
        print(output.as_json(report.rows))
    elif report.rows:
        sys.stdout.write(output.table(report.rows))
    errors = report.errors + [f"{r.container}: {r.reason}" for r in report.rows
                              if r.updated == "failed"]
    for error in errors:
        print(f"Error: {error}", file=sys.stderr)
    return EXIT_ERROR if errors else 0
