"""``podbridge auto-update``: one run, without a bridge, against the same Podman socket and
systemd bus the bridge uses; flags, output and exit status as ``podman auto-update``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sys
import types
from collections.abc import Callable
from typing import Any, NoReturn

from bridge.errors import BridgeError
from bridge.gotext import flag_bool
from bridge.podman import PodmanClient
from bridge.standalone import add_connection_flags, open_clients, settings_from_args
from bridge.store import Store
from plugins.auto_update import output
from plugins.auto_update.command import EXIT_ERROR
from plugins.auto_update.compat import STRICT, Compat, join_errors, major_of
from plugins.auto_update.formats import Formatter
from plugins.auto_update.gotemplate import TemplateError
from plugins.auto_update.history import History
from plugins.auto_update.updater import Options, Report, Updater

logger = logging.getLogger(__name__)


def go_bool(flag: str) -> Callable[[str], bool]:
    """A boolean flag's value as Go's strconv.ParseBool (and pflag) reads it."""
    def parse(value: str) -> bool:
        try:
            return flag_bool(value, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def _podman_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    """A bad flag value: Podman's ``Error: ...`` and status 125, not argparse's usage."""
    print(f"Error: {re.sub(r'^argument [^:]+: ', '', message)}", file=sys.stderr)
    parser.exit(EXIT_ERROR)


def _no_unknown_flags(parser: argparse.ArgumentParser, args: Any = None,
                      namespace: Any = None) -> tuple[argparse.Namespace, list[str]]:
    """As cobra: an unknown flag is ``Error: unknown flag: --x`` and status 125 (argparse
    would leave it to the top-level parser: its usage and status 2)."""
    ns, extras = argparse.ArgumentParser.parse_known_args(parser, args, namespace)
    if extras:
        flag = extras[0].split("=", 1)[0]
        parser.error(f"unknown flag: {flag}\nSee 'podbridge auto-update --help'")
    return ns, extras


def add_cli(subparsers: argparse._SubParsersAction[Any]) -> None:
    p = subparsers.add_parser(
        "auto-update", help="update containers whose image changed, as podman auto-update",
        description="Check and update the running containers labelled "
        "io.containers.autoupdate, restarting their systemd units (rollback on failure). "
        "Flags, output, errors and exit status as the Podman it talks to (4 or 5).")
    p.error = types.MethodType(_podman_error, p)
    p.parse_known_args = types.MethodType(_no_unknown_flags, p)
    add_connection_flags(p)
    p.add_argument("--dry-run", type=go_bool("--dry-run"), nargs="?", const=True,
                   default=False, metavar="true|false",
                   help="check only: updates show as pending")
    p.add_argument("--rollback", type=go_bool("--rollback"), nargs="?", const=True,
                   default=None, metavar="true|false",
                   help="roll back when a restart fails (default true)")
    p.add_argument("--format", default="",
                   help="json, or a Go template: {{.Unit}} {{.Container}} "
                   "{{.ContainerName}} {{.ContainerID}} {{.Image}} {{.Policy}} "
                   "{{.Updated}}, 'table ...' for a table with headers, {{json .}}")
    p.add_argument("--authfile", help="registry credentials (default: $REGISTRY_AUTH_FILE, "
                   "then containers' default auth.json)")
    p.add_argument("--tls-verify", type=go_bool("--tls-verify"), nargs="?", const=True,
                   default=None, metavar="true|false", help="require verified HTTPS "
                   "(default: as registries.conf says)")
    p.add_argument("--registries-conf", help="registries.conf to read (default: "
                   "$CONTAINERS_REGISTRIES_CONF, then /etc/containers/registries.conf)")
    p.add_argument("--concurrency", type=int, help="independent units updated at once "
                   "(default 4)")
    p.add_argument("--no-history", action="store_true",
                   help="do not record the run in the bridge's store")
    p.add_argument("--log-level", default="error",
                   help="what podbridge logs on stderr besides Podman's output (default "
                   "error: nothing Podman would not print)")
    p.add_argument("--compat", choices=("auto", "4", "5"), default="auto",
                   help="follow the rules and texts of this Podman major version (default: "
                   "the version of the Podman service)")
    p.add_argument("arguments", nargs="*", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_auto_update)


def _authfile_problem(path: str) -> str | None:
    try:
        os.stat(path)
    except OSError as exc:
        why = os.strerror(exc.errno).lower() if exc.errno else str(exc)
        return f"credential file is not accessible: faccessat {path}: {why}"
    return None


async def _compat(podman: PodmanClient, choice: str) -> Compat:
    if choice != "auto":
        return Compat(int(choice))
    try:
        version = str((await podman.version()).get("Version") or "")
    except BridgeError as exc:
        logger.warning("cannot read Podman's version (%s): following Podman 5", exc)
        return STRICT
    major = major_of(version)
    return Compat(major) if major is not None else STRICT


def cmd_auto_update(args: argparse.Namespace) -> int:
    # stderr carries Podman's texts: podbridge's own reasons (logged as warnings) are in
    # the history and the rows' reasons, shown here only when asked for.
    logging.basicConfig(level=str(args.log_level).upper(),
                        format="%(levelname)s %(name)s: %(message)s")
    if args.arguments:
        print("Error: `podbridge auto-update` takes no arguments", file=sys.stderr)
        return EXIT_ERROR
    settings = settings_from_args(args)
    conf = settings.plugin_config("auto_update")
    options = Options(
        dry_run=args.dry_run,
        rollback=args.rollback if args.rollback is not None else conf.get("rollback", True),
        authfile=args.authfile or conf.get("authfile"),
        tls_verify=args.tls_verify if args.tls_verify is not None else conf.get("tls_verify"),
        registries_conf=args.registries_conf or conf.get("registries_conf"),
        concurrency=args.concurrency or int(conf.get("concurrency", 4)),
        progress=_progress,
    )
    store = None
    if not args.no_history:
        try:
            store = Store(settings.state_dir / "podbridge.db")
        except Exception as exc:  # a read-only state folder must not stop an update
            logger.warning("no history for this run: %s", exc)

    async def run() -> tuple[Report, Compat]:
        async with open_clients(settings, systemd=True) as clients:
            options.compat = await _compat(clients.podman, args.compat)
            if args.authfile and options.compat.checks_authfile:
                problem = _authfile_problem(args.authfile)
                if problem:
                    raise BridgeError(problem)
            history = History(store) if store is not None else None
            report = await Updater(clients.podman, clients.systemd, options,
                                   history=history).run()
            return report, options.compat

    try:
        report, compat = asyncio.run(run())
    except BridgeError as exc:
        print(f"Error: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if store is not None:
            store.close()
    stdout, stderr, status = podman_output(report.rows, report.errors, args.format,
                                           compat.major)
    sys.stdout.write(stdout)
    sys.stdout.flush()
    sys.stderr.write(stderr)
    return status


def podman_output(rows: list[output.Row], errors: list[str], fmt: str, major: int
                  ) -> tuple[str, str, int]:
    """What Podman prints for a run (stdout, stderr) and its exit status: with nothing
    to update, nothing on stdout (not even ``[]`` or headers, and a template is not even
    parsed); the errors, then any template error, joined as Podman joins them."""
    errors = list(errors)
    stdout = ""
    if rows:
        if fmt == "json":
            stdout = output.as_json(rows) + "\n"
        else:
            try:
                stdout, error = Formatter.parse(fmt, major).render(rows)
            except TemplateError as exc:
                error = exc
            if error is not None:
                errors.append(str(error))
    if errors:
        return stdout, f"Error: {join_errors(errors)}\n", EXIT_ERROR
    return stdout, "", 0


def _progress(line: str) -> None:
    """Pull progress on stderr, as Podman's auto-update writes it."""
    sys.stderr.write(line)
    sys.stderr.flush()
