"""`podbridge sandbox up|down|reboot|env DIR`: the test world from a shell."""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from bridge.cli import say
from bridge.sandbox.flavours import DEFAULT, FLAVOURS

logger = logging.getLogger(__name__)


def _up(args: argparse.Namespace) -> int:
    from bridge.sandbox import World, unavailable_reason
    from bridge.sandbox.flavours import flavour_unavailable_reason
    from bridge.sandbox.users import UserError

    if reason := unavailable_reason() or flavour_unavailable_reason(args.flavour):
        return say(f"sandbox: {reason}", 2)
    try:
        world = World(args.dir, flavour=args.flavour, users=args.user or ())
    except UserError as exc:
        return say(f"sandbox: {exc}", 2)
    world.up()
    print(f"world {world.name} up in {world.root}")
    print(f"  flavour     {world.flavour}: Podman {world.podman_version()}")
    print(f"  podman API  {world.podman_url}")
    print(f"  system bus  {world.dbus_address}")
    print(f"  registry    {world.registry}")
    print(f"  unit folder {world.unit_dir}")
    for user in world.world_users():
        print(f"  user        {user.name} (uid {user.uid}): rootless Podman and a user "
              f"manager; podbridge sandbox exec DIR --user {user.name} -- CMD")
    if args.demo:
        from bridge.sandbox.demo import create_demo

        try:
            demo = create_demo(world)
        except BaseException:
            world.down()
            raise
        print(f"  demo        demo-web at {demo.web_url}, demo-always, demo-auto.service")
    print(f"  tear down   podbridge sandbox down {shlex.quote(str(world.root))}")
    return 0


def _down(args: argparse.Namespace) -> int:
    from bridge.sandbox import World

    if not (Path(args.dir) / "world.json").exists():
        return say(f"sandbox: no world in {args.dir}", 0)
    World.attach(args.dir).down()
    return 0


def _reboot(args: argparse.Namespace) -> int:
    from bridge.sandbox import World

    world = World.attach(args.dir)
    world.reboot()
    print(f"world {world.name} rebooted")
    return 0


def _env(args: argparse.Namespace) -> int:
    from bridge.sandbox import World
    from bridge.sandbox.users import UserError, host_env

    world = World.attach(args.dir)
    if args.user:
        try:
            env = host_env(world, world.user(args.user))
        except UserError as exc:
            return say(f"sandbox: {exc}", 2)
    else:
        env = {**world.env(), "PODBRIDGE_UNIT_DIR": str(world.unit_dir)}
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def _exec(args: argparse.Namespace) -> int:
    import subprocess

    from bridge.sandbox import World, WorldError
    from bridge.sandbox.users import UserError, command

    argv = list(args.argv)
    while argv and argv[0] != "--" and argv[0].startswith("--user"):
        if argv[0] == "--user" and len(argv) > 1:
            args.user, argv = argv[1], argv[2:]
        elif argv[0].startswith("--user="):
            args.user, argv = argv[0].removeprefix("--user="), argv[1:]
        else:
            return say("sandbox exec: --user needs a NAME", 2)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        return say("sandbox exec: give a command after --", 2)
    try:
        world = World.attach(args.dir)
    except (WorldError, OSError) as exc:
        return say(f"sandbox: no world in {args.dir}: {exc}", 2)
    if not world.is_up():
        return say(f"sandbox: the world in {args.dir} is not up", 2)
    try:
        who = world.user(args.user) if args.user else None
    except UserError as exc:
        return say(f"sandbox: {exc}", 2)
    return subprocess.run(command(world, who, argv), check=False).returncode


def _fleet_up(args: argparse.Namespace) -> int:
    from bridge.sandbox import unavailable_reason
    from bridge.sandbox.fleet import Fleet

    if reason := unavailable_reason():
        return say(f"sandbox: {reason}", 2)
    if args.hosts < 1:
        return say("sandbox fleet: --hosts must be at least 1", 2)
    fleet = Fleet.up(args.dir, args.hosts, demo=args.demo)
    print(f"fleet {fleet.url}")
    print(f"registry {fleet.registry_address}")
    for host in fleet.hosts:
        print(f"host {host.name} {host.root}")
    return 0


def _fleet_down(args: argparse.Namespace) -> int:
    from bridge.sandbox.fleet import RECORD, Fleet

    if not (Path(args.dir) / RECORD).exists():
        return say(f"sandbox: no fleet in {args.dir}", 0)
    Fleet.attach(args.dir).down()
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sandbox`` with its subcommands; each sets ``func`` (args -> exit code)."""
    sandbox = subparsers.add_parser(
        "sandbox", help="a test world: systemd, D-Bus, Podman and a registry in a folder",
        description="Boot, tear down or reboot a podbridge test world (needs root).")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    up = commands.add_parser("up", help="boot a new world in DIR")
    up.add_argument("dir", metavar="DIR")
    up.add_argument("--user", action="append", metavar="NAME",
                    help="also make NAME inside the world, with subuid/subgid ranges, "
                         "lingering, a user manager and rootless Podman (repeatable)")
    up.add_argument("--flavour", "--flavor", choices=sorted(FLAVOURS), default=DEFAULT,
                    help="the Debian release the world runs (systemd and Podman of it); "
                         f"default {DEFAULT}")
    up.add_argument("--demo", action="store_true",
                    help="also create demo containers and a Type=notify unit")
    up.set_defaults(func=_up)
    for name, func, text in (("down", _down, "kill the world in DIR; leave nothing behind"),
                             ("reboot", _reboot, "kill and boot the world in DIR again"),
                             ("env", _env, "print export lines pointing a shell at DIR")):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("dir", metavar="DIR")
        cmd.set_defaults(func=func)
        if name == "env":
            cmd.add_argument("--user", metavar="NAME",
                             help="the exports a bridge outside the world needs to serve "
                                  "NAME's rootless Podman and user manager")
    fleet = commands.add_parser("fleet", help="a test fleet: a NATS cluster, a registry and "
                                "N worlds, each with its own bridge joined")
    fleet_commands = fleet.add_subparsers(dest="fleet_command", required=True)
    fup = fleet_commands.add_parser("up", help="start a fleet in DIR; prints its fleet, "
                                    "registry and host lines")
    fup.add_argument("dir", metavar="DIR")
    fup.add_argument("--hosts", type=int, default=3, metavar="N")
    fup.add_argument("--demo", action="store_true",
                     help="every host runs demo-app.service from REGISTRY/demo/app:latest")
    fup.set_defaults(func=_fleet_up)
    fdown = fleet_commands.add_parser("down", help="stop the fleet in DIR; leave nothing "
                                      "behind")
    fdown.add_argument("dir", metavar="DIR")
    fdown.set_defaults(func=_fleet_down)
    run = commands.add_parser("exec", help="run a command inside the world, as root or "
                                           "as one of its users")
    run.add_argument("dir", metavar="DIR")
    run.add_argument("--user", metavar="NAME",
                     help="run as NAME, with XDG_RUNTIME_DIR, DBUS_SESSION_BUS_ADDRESS, HOME")
    # REMAINDER, so the command's own options stay its own; --user after DIR is read
    # from it (argparse cannot mix an optional between a positional and a remainder).
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD")
    run.set_defaults(func=_exec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.sandbox")
    parser.add_argument("--log-level", default="info")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))
