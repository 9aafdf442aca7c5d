"""`podbridge sandbox up|down|reboot|env DIR`: the test world from a shell."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from pathlib import Path

from bridge.sandbox.flavours import DEFAULT, FLAVOURS

logger = logging.getLogger(__name__)


def _up(args: argparse.Namespace) -> int:
    from bridge.sandbox import World, unavailable_reason

    if reason := unavailable_reason():
        print(f"podbridge sandbox: {reason}", file=sys.stderr)
        return 2
    from bridge.sandbox.flavours import flavour_unavailable_reason

    if reason := flavour_unavailable_reason(args.flavour):
        print(f"podbridge sandbox: {reason}", file=sys.stderr)
        return 2
    world = World(args.dir, flavour=args.flavour).up()
    print(f"world {world.name} up in {world.root}")
    print(f"  flavour     {world.flavour}: Podman {world.podman_version()}")
    print(f"  podman API  {world.podman_url}")
    print(f"  system bus  {world.dbus_address}")
    print(f"  registry    {world.registry}")
    print(f"  unit folder {world.unit_dir}")
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
        print(f"podbridge sandbox: no world in {args.dir}", file=sys.stderr)
        return 0
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

    world = World.attach(args.dir)
    env = {**world.env(), "PODBRIDGE_UNIT_DIR": str(world.unit_dir)}
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    return 0


def add_cli(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``sandbox`` with its subcommands; each sets ``func`` (args -> exit code)."""
    sandbox = subparsers.add_parser(
        "sandbox", help="a test world: systemd, D-Bus, Podman and a registry in a folder",
        description="Boot, tear down or reboot a podbridge test world (needs root).")
    commands = sandbox.add_subparsers(dest="sandbox_command", required=True)
    up = commands.add_parser("up", help="boot a new world in DIR")
    up.add_argument("dir", metavar="DIR")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bridge.sandbox")
    parser.add_argument("--log-level", default="info")
    add_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
