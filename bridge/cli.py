"""``podbridge``: serve, events, call, sandbox, and the subcommands plugins contribute.

Start-up is part of every command's cost (``podbridge auto-update`` is timed against the
``podman auto-update`` binary), so nothing heavy is imported here: each command imports
what it uses, and a plugin command named in the entry-point group ``podbridge.commands``
is run without building the whole parser (which would load every plugin).
"""

from __future__ import annotations

import os
import ssl
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from bridge import __version__

if TYPE_CHECKING:
    import argparse

    from bridge.config import Settings

COMMAND_GROUP = "podbridge.commands"
CORE_COMMANDS = ("serve", "events", "call", "sandbox", "fleet")


def say(message: str, code: int) -> int:
    """Say ``podbridge MESSAGE`` on stderr; ``code`` is the command's exit status."""
    print(f"podbridge {message}", file=sys.stderr)
    return code


def add_settings_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--url", help="Podman API URL, e.g. unix:///run/podman/podman.sock "
                   "(default: $CONTAINER_HOST, then the rootful or rootless socket)")
    p.add_argument("--systemd", choices=("system", "user"),
                   help="which systemd manager (default: system as root, else user)")
    p.add_argument("--state-dir", help="where the token and the database live")
    p.add_argument("--token-file", help="the token file (created 0600 when missing)")
    p.add_argument("--log-level", help="debug, info, warning, error")


def settings_from(args: argparse.Namespace, **extra: Any) -> Settings:
    from bridge.config import load_settings

    return load_settings(
        args.config, url=args.url, systemd=args.systemd, state_dir=args.state_dir,
        token_file=args.token_file, log_level=args.log_level, **extra)


def cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    from bridge.app import serve
    from bridge.tls import TLSConfigError

    fleet = {k: v for k, v in (("servers", args.fleet), ("host", args.fleet_host),
                               ("name", args.fleet_name)) if v}
    settings = settings_from(args, listen=args.listen, unit_dir=args.unit_dir,
                             fleet=fleet or None,
                             panel_dir=args.panel_dir, cert=args.cert, key=args.key,
                             tls=args.tls or None,
                             insecure_plain_http=args.insecure_plain_http or None)
    setup_logging(settings.log_level)
    try:
        return asyncio.run(serve(settings))
    except TLSConfigError as exc:
        return say(f"serve: {exc}", 2)


def cmd_token(args: argparse.Namespace) -> int:
    from bridge.auth import load_or_create_token
    from bridge.credentials import Credentials

    settings = settings_from(args)
    creds = Credentials(load_or_create_token(settings.token_path), settings.tokens_path)
    try:
        if args.token_command == "add":
            token = creds.add(args.name, args.role)
            print(token)
            print(f"podbridge: {args.name} ({args.role}) added; the token is shown only "
                  "this once", file=sys.stderr)
        elif args.token_command == "revoke":
            creds.revoke(args.name)
            print(f"podbridge: {args.name} revoked; its sessions end within seconds",
                  file=sys.stderr)
        else:
            for c in creds.list():
                print(f"{c['name']}\t{c['role']}\t{c['source']}")
    except KeyError:
        return say(f"token: no credential named {args.name!r}", 1)
    except ValueError as exc:
        return say(f"token: {exc}", 2)
    return 0


def client_ssl(settings: Settings, url: str) -> ssl.SSLContext | None:
    """For an https bridge: trust the system's CAs, and the self-signed certificate of
    this state folder when there is one (the bridge made it)."""
    if not url.startswith("https://"):
        return None
    ctx = ssl.create_default_context()
    own = settings.cert or settings.state_dir / "tls" / "self-signed.crt"
    if own.is_file():
        ctx.load_verify_locations(str(own))
    return ctx


def _client_target(args: argparse.Namespace) -> tuple[str, str]:
    settings = settings_from(args)
    url = args.bridge or os.environ.get("PODBRIDGE_URL")
    if not url and settings.listen.startswith("unix:"):
        url = settings.listen
    elif not url:
        host, port = settings.listen_address
        tls = settings.tls or settings.cert is not None
        url = f"{'https' if tls else 'http'}://{host}:{port}"
    token = args.token or os.environ.get("PODBRIDGE_TOKEN")
    if not token:
        try:
            token = settings.token_path.read_text().strip()
        except OSError as exc:
            raise SystemExit(f"podbridge: no token: pass --token or PODBRIDGE_TOKEN "
                             f"({exc.strerror}: {settings.token_path})") from None
    return url, token


def cmd_events(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.client import BridgeClient

    url, token = _client_target(args)

    async def run() -> int:
        async with BridgeClient(url, token, ssl=client_ssl(settings_from(args), url)) as client:
            count = 0
            async for event in client.events(args.topics or ["*"], since=args.since):
                print(json.dumps(event), flush=True)
                count += 1
                if args.count and count >= args.count:
                    return 0
        return 0

    try:
        return asyncio.run(run())
    except KeyboardInterrupt:
        return 130


def cmd_call(args: argparse.Namespace) -> int:
    import asyncio
    import json

    from bridge.client import BridgeClient
    from bridge.errors import BridgeError

    url, token = _client_target(args)
    try:
        params = json.loads(args.params) if args.params else {}
    except ValueError as exc:
        return say(f"call: params are not JSON: {exc}", 2)

    async def run() -> Any:
        async with BridgeClient(url, token, timeout=args.timeout,
                                ssl=client_ssl(settings_from(args), url)) as client:
            return await client.call(args.method, params, timeout=args.timeout)

    try:
        data = asyncio.run(run())
    except BridgeError as exc:
        return say(f"call: {exc.code}: {exc.message}", 1)
    except (OSError, ConnectionError) as exc:
        return say(f"call: cannot reach the bridge at {url}: {exc}", 1)
    print(json.dumps(data, indent=2))
    return 0


def setup_logging(level: str | None) -> None:
    import logging

    logging.basicConfig(level=(level or "info").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def build_parser() -> argparse.ArgumentParser:
    import argparse

    from bridge.plugin import add_plugin_cli

    parser = argparse.ArgumentParser(prog="podbridge", description=(__doc__ or "").split(
        "\n\n")[0])
    parser.add_argument("--version", action="version", version=f"podbridge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("serve", help="run the bridge")
    add_settings_flags(p)
    p.add_argument("--listen", help="HOST:PORT, or unix:/PATH for a unix socket (default "
                   "127.0.0.1:9180; Cockpit's page reaches unix:/run/podbridge/podbridge.sock)")
    p.add_argument("--unit-dir", help="where generated units are installed")
    p.add_argument("--panel-dir", help="the built panel to serve at /")
    p.add_argument("--cert", help="TLS certificate (PEM); with --key")
    p.add_argument("--key", help="TLS private key (PEM)")
    p.add_argument("--tls", action="store_true", help="TLS with a self-signed certificate "
                   "made in the state folder on first start")
    p.add_argument("--insecure-plain-http", action="store_true",
                   help="allow plain HTTP on an address other than loopback")
    p.add_argument("--fleet", metavar="nats://…", help="join the fleet on these NATS servers "
                   "(comma-separated; default [fleet] servers, or $PODBRIDGE_FLEET)")
    p.add_argument("--fleet-host", metavar="NAME", help="this host's name in the fleet")
    p.add_argument("--fleet-name", metavar="F", help="the fleet's name (default 'default')")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="named credentials with roles: add, list, revoke")
    add_settings_flags(p)
    tsub = p.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    t = tsub.add_parser("add", help="make a token for NAME with a role (printed once)")
    t.add_argument("name")
    t.add_argument("--role", choices=("viewer", "operator", "admin"), required=True)
    tsub.add_parser("list", help="the credentials and their roles")
    t = tsub.add_parser("revoke", help="remove a credential and end its sessions")
    t.add_argument("name")
    p.set_defaults(func=cmd_token)

    for name, helptext, func in (("events", "print events of a running bridge as JSON lines",
                                  cmd_events),
                                 ("call", "call a method of a running bridge", cmd_call)):
        p = sub.add_parser(name, help=helptext)
        add_settings_flags(p)
        p.add_argument("--bridge", help="the bridge's URL (default from --listen settings, "
                       "or $PODBRIDGE_URL)")
        p.add_argument("--token", help="the token (default $PODBRIDGE_TOKEN, then the token "
                       "file)")
        if name == "events":
            p.add_argument("topics", nargs="*", help="topic globs (default: all)")
            p.add_argument("--since", type=int, help="replay from after this seq")
            p.add_argument("--count", type=int, help="stop after this many events")
        else:
            p.add_argument("method")
            p.add_argument("params", nargs="?", help="params as a JSON object")
            p.add_argument("--timeout", type=float, default=600.0)
        p.set_defaults(func=func)

    try:
        from bridge.sandbox.cli import add_cli as add_sandbox_cli
    except ImportError:
        pass
    else:
        add_sandbox_cli(sub)
    from bridge.fleet.cli import add_cli as add_fleet_cli

    add_fleet_cli(sub)
    add_plugin_cli(sub)
    return parser


def entry_point(group: str, name: str) -> str | None:
    """``module:attr`` of the entry point ``name`` of ``group``, read from the installed
    distributions' ``entry_points.txt`` along sys.path (first found wins, as with
    importlib.metadata, whose import alone would cost a quick command a third of its
    start-up)."""
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for dist in names:
            if not dist.endswith((".dist-info", ".egg-info")):
                continue
            try:
                with open(os.path.join(folder or ".", dist, "entry_points.txt")) as f:
                    text = f.read()
            except OSError:
                continue
            if f"[{group}]" not in text:
                continue
            section = None
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("["):
                    section = line[1:-1].strip()
                elif section == group and "=" in line:
                    key, _, value = line.partition("=")
                    if key.strip() == name:
                        return value.strip()
    return None


def plugin_command(name: str) -> Callable[[list[str]], int] | None:
    """The quick entry of a plugin's subcommand (group ``podbridge.commands``), if any."""
    import importlib

    spec = entry_point(COMMAND_GROUP, name)
    if spec is None:
        return None
    module, _, attr = spec.partition(":")
    try:
        func: Callable[[list[str]], int] = getattr(importlib.import_module(module.strip()),
                                                   attr.strip())
    except Exception:  # a broken plugin: the full parser reports what it can
        return None
    return func


def run_parsed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """Run the command ``args`` was parsed for; bad settings are a usage error (2)."""
    from pydantic import ValidationError

    from bridge.methods import format_validation_error

    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        result = args.func(args)
    except ValidationError as exc:
        print(f"podbridge: bad settings: {format_validation_error(exc)}", file=sys.stderr)
        return 2
    return int(result or 0)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and not argv[0].startswith("-") and argv[0] not in CORE_COMMANDS:
        command = plugin_command(argv[0])
        if command is not None:
            return int(command(argv[1:]) or 0)
    parser = build_parser()
    return run_parsed(parser, parser.parse_args(argv))
