"""Shared state of one generator run: the units known, the podman command line, errors."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from plugins.unit_generator.quadlet.parser import UnitFile

logger = logging.getLogger(__name__)

DEFAULT_PODMAN = "/usr/bin/podman"


class QuadletError(Exception):
    """A Quadlet file cannot be converted; the message is what the user sees."""


@dataclass
class UnitInfo:
    """What other files need to know about one Quadlet file."""

    service_name: str
    resource_name: str = ""
    containers_to_start: list[str] = field(default_factory=list)  # for .pod files

    @property
    def service_file_name(self) -> str:
        return f"{self.service_name}.service"


@dataclass
class Context:
    """Everything a converter reads besides its own file."""

    units: dict[str, UnitInfo]
    is_user: bool = False
    podman: str = DEFAULT_PODMAN


@dataclass
class Conversion:
    """A converter's result: the service unit and any warnings to log."""

    service: UnitFile
    warnings: list[str] = field(default_factory=list)


class Cmdline:
    """A podman command line under construction."""

    def __init__(self, podman: str, *args: str) -> None:
        self.args: list[str] = [podman, *args]

    def add(self, *args: str) -> None:
        self.args.extend(args)

    def add_bool(self, flag: str, value: bool) -> None:
        self.args.append(flag if value else f"{flag}=false")

    def add_keys(self, flag: str, pairs: dict[str, str | None]) -> None:
        """``flag K=V`` for each pair, keys sorted; a ``None`` value gives ``flag K``."""
        for key in sorted(pairs):
            value = pairs[key]
            self.args.extend((flag, key if value is None else f"{key}={value}"))


def base_command(unit: UnitFile, group: str, ctx: Context, *args: str) -> Cmdline:
    """``podman [--module=...] [GlobalArgs] args``, how every command Quadlet writes starts."""
    cmd = Cmdline(ctx.podman)
    for module in unit.lookup_all(group, "ContainersConfModule"):
        cmd.add(f"--module={module}")
    cmd.add(*unit.lookup_all_args(group, "GlobalArgs"), *args)
    return cmd
