"""The unit generator plugin: methods ``units.generate``, ``units.install``, ``units.remove``
and the ``generate`` and ``quadlet`` subcommands.

Events: ``unitgen.installed`` (subject the unit, data unit, path, job_result),
``unitgen.failed`` (subject the container or unit, data error, code), ``unitgen.removed``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any, ClassVar, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from bridge.contracts import Topic
from bridge.errors import BridgeError
from bridge.methods import Params, method
from bridge.paths import default_unit_dir
from bridge.plugin import OwnerTarget, PluginConfig, PluginContext
from bridge.standalone import add_connection_flags, open_clients, settings_from_args

from .cli_args import format_output, parse_generate_args
from .errors import GenerateError
from .install import (
    check_writable,
    default_quadlet_dir,
    fit_for_rootless_v1,
    install_units,
    remove_unit,
    rootless_cgroup_v1,
)
from .options import GenerateOptions, UnitOptions
from .quadlet.cli import add_cli as add_quadlet_cli
from .quadlet_install import install_quadlet
from .service import DEPRECATED, generate


class UnitgenFailedData(TypedDict):
    error: str
    code: str
    job_result: NotRequired[str | None]
    uid: NotRequired[int]     # a user's unit, from a root bridge (owner)
    user: NotRequired[str]


class UnitgenUnitData(TypedDict, total=False):
    """A unit installed (``unitgen.installed``) or removed (``unitgen.removed``)."""

    unit: str
    path: str
    enabled: bool
    started: bool
    job_result: str | None
    removed: bool
    stopped: bool
    uid: int                  # a user's unit, from a root bridge (owner)
    user: str


UNITGEN_INSTALLED = Topic("unitgen.installed", UnitgenUnitData, owner="unit_generator")
UNITGEN_REMOVED = Topic("unitgen.removed", UnitgenUnitData, owner="unit_generator")
UNITGEN_FAILED = Topic("unitgen.failed", UnitgenFailedData, owner="unit_generator")


class GenerateParams(UnitOptions):
    """``units.generate``: a container or pod, a format, and podman's generate options
    (``use_name`` is ``--name``; it defaults to true here, since names read better)."""

    name: str = Field(min_length=1, description="container or pod name or ID")
    format: Literal["systemd", "quadlet"] = "systemd"
    use_name: bool = True
    owner: str | None = Field(None, description="the user (name or uid) whose container "
                              "or pod it is, and (units.install) whose user manager and "
                              "~/.config/systemd/user get the units; a root bridge only")

    def options(self) -> GenerateOptions:
        fields = self.model_dump(exclude={"name", "format", "use_name", "enable", "start",
                                          "force", "owner"})
        return GenerateOptions.build(name=self.use_name, **fields)


class InstallParams(GenerateParams):
    enable: bool = True
    start: bool = False
    force: bool = False


class RemoveParams(Params):
    unit: str = Field(min_length=1)
    force: bool = False
    owner: str | None = Field(None, description="the user whose user unit it is")


class UnitGeneratorConfig(PluginConfig):
    unit_dir: Path | None = Field(None, description="default: the bridge's unit folder")
    quadlet_dir: Path | None = Field(
        None, description="where units.install puts Quadlet files (format quadlet); "
        "default: $PODBRIDGE_QUADLET_DIR, else /etc/containers/systemd (root) or "
        "$XDG_CONFIG_HOME/containers/systemd (a user)")


class UnitGeneratorPlugin:
    name: ClassVar[str] = "unit_generator"
    Config: ClassVar[type[PluginConfig]] = UnitGeneratorConfig

    def __init__(self, ctx: PluginContext) -> None:
        self.ctx = ctx

    async def start(self, ctx: PluginContext) -> None:
        pass

    async def stop(self) -> None:
        pass

    @property
    def unit_dir(self) -> Path:
        settings = self.ctx.settings
        return self.ctx.config.unit_dir or (settings.unit_path if settings is not None
                                            else default_unit_dir(self.ctx.systemd.scope))

    @property
    def quadlet_dir(self) -> Path:
        configured = self.ctx.config.quadlet_dir or os.environ.get("PODBRIDGE_QUADLET_DIR")
        return Path(configured) if configured else default_quadlet_dir()

    async def _generate(self, p: GenerateParams, target: OwnerTarget
                        ) -> tuple[dict[str, str], list[str]]:
        try:
            return await generate(target.podman, p.name, p.format, p.options())
        except GenerateError as exc:
            raise BridgeError(str(exc), exc.code) from None  # type: ignore[arg-type]

    @method("units.generate", GenerateParams, role="viewer", readonly=True,
            description="systemd units or Quadlet files for a container or pod")
    async def do_generate(self, p: GenerateParams) -> dict[str, Any]:
        target = self.ctx.for_owner(p.owner)
        units, warnings = await self._generate(p, target)
        return {"units": units, "warnings": warnings, **target.tag()}

    @method("units.install", InstallParams, role="admin",
            description="generate, write, daemon-reload, enable and (optionally) start")
    async def do_install(self, p: InstallParams) -> dict[str, Any]:
        """For a user, from a root bridge (``owner``): the user's container, units into the
        user's ``~/.config/systemd/user`` (written as theirs), reloaded, enabled and started
        over the user's own manager -- what ``podman generate systemd --new >
        ~/.config/systemd/user/…`` and ``systemctl --user`` do."""
        ctx = self.ctx
        target = ctx.for_owner(p.owner)
        tag = target.tag()
        if target.owner is not None and p.format == "quadlet":
            raise BridgeError("units.install with an owner writes systemd units only; for "
                              "a user's Quadlet file run `podbridge quadlet --user` as "
                              "the user", "not-supported")
        generator: str | None = None
        try:
            units, warnings = await self._generate(p, target)
            if target.owner is not None:
                folder = await target.config_folder("systemd/user")
                assert folder is not None
                results = await install_units(target.systemd, folder.path, units,
                                              enable=p.enable, start=p.start, force=p.force,
                                              folder=folder)
            elif p.format == "quadlet":
                if rootless_cgroup_v1():
                    units, fitted = fit_for_rootless_v1(units)
                    warnings = [*warnings, *fitted]
                check_writable(self.quadlet_dir)
                results, generator = await install_quadlet(
                    ctx.systemd, self.quadlet_dir, self.unit_dir, units, enable=p.enable,
                    start=p.start, force=p.force)
            else:
                results = await install_units(ctx.systemd, self.unit_dir, units,
                                              enable=p.enable, start=p.start, force=p.force)
        except BridgeError as exc:
            ctx.publish(UNITGEN_FAILED, p.name, {"error": exc.message, "code": exc.code, **tag})
            raise
        for r in results:
            ctx.publish(UNITGEN_INSTALLED, r.unit, {**r.to_json(), **tag})
        started = results[0]
        if started.job_result not in (None, "done"):
            # Installed, but it does not run: say so as an error, naming the job's verdict.
            status = (f"systemctl --user status {started.unit}` as {tag['user']}" if tag
                      else f"systemctl status {started.unit}`")
            message = (f"{started.unit} was installed but did not start: its start job "
                       f"ended {started.job_result!r} (see `{status})")
            ctx.publish(UNITGEN_FAILED, started.unit, {
                "error": message, "code": "failed", "job_result": started.job_result, **tag})
            raise BridgeError(message, "failed")
        answer: dict[str, Any] = {"installed": [r.to_json() for r in results],
                                  "warnings": warnings, **tag}
        if generator:
            answer["generator"] = generator
        return answer

    @method("units.remove", RemoveParams, role="admin",
            description="stop, disable, delete and daemon-reload a unit")
    async def do_remove(self, p: RemoveParams) -> dict[str, Any]:
        ctx = self.ctx
        target = ctx.for_owner(p.owner)
        folder = await target.config_folder("systemd/user")
        unit_dir = folder.path if folder is not None else self.unit_dir
        result = await remove_unit(target.systemd, unit_dir, p.unit, force=p.force,
                                   folder=folder)
        result = {**result, **target.tag()}
        ctx.publish(UNITGEN_REMOVED, p.unit, result)
        return result

    # -- the command line
    @classmethod
    def cli(cls, subparsers: argparse._SubParsersAction[Any]) -> None:
        # Podman's flags take Go's forms (`--new=false`), which argparse alone does not:
        # the rest of the line goes to the generator's own parser.
        gen = subparsers.add_parser(
            "generate", add_help=False, prefix_chars="\0",
            help="generate systemd units (as `podman generate systemd`) or Quadlet files")
        gen.add_argument("argv", nargs=argparse.REMAINDER)
        gen.set_defaults(func=_run_generate)
        add_quadlet_cli(subparsers)


def _run_generate(args: argparse.Namespace) -> int:
    connection = argparse.ArgumentParser(add_help=False)
    add_connection_flags(connection)
    conn, rest = connection.parse_known_args(args.argv)
    try:
        command = parse_generate_args(rest)
    except GenerateError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 125
    settings = settings_from_args(conn)
    opts = command.options

    async def run() -> tuple[dict[str, str], list[str]]:
        async with open_clients(settings, systemd=False) as clients:
            return await generate(clients.podman, command.target, command.command, opts)

    try:
        units, warnings = asyncio.run(run())
    except (GenerateError, BridgeError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 125
    for w in warnings:
        if w != DEPRECATED:
            print(f"WARN[0000] {w}", file=sys.stderr)
    if command.command == "quadlet":
        sys.stdout.write("".join(units.values()))
        return 0
    # The command line keys units by service name, as podman prints them.
    by_service = {name.removesuffix(".service").removesuffix("@"): text
                  for name, text in units.items()}
    out = format_output(by_service, opts)
    for path, content in out.files.items():
        Path(path).write_text(content)
    sys.stdout.write(out.stdout)
    if DEPRECATED in warnings:  # after the units, as Podman 5 does
        print(f"\n{DEPRECATED}", file=sys.stderr)
    return 0
