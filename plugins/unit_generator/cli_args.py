"""``podbridge generate systemd|quadlet``: argument parsing and output formatting.

The flags are exactly those of ``podman generate systemd`` (Podman 4.3.1, pflag style:
booleans also accept ``--flag=true|false``; ``-t/--time`` is the hidden alias of
``--stop-timeout``). Parsing errors raise :class:`GenerateError` instead of exiting, so the
same parser serves the CLI and the websocket/REST methods. Output helpers are pure: they say
what to print and which files to write; the caller does the writing.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from bridge.gotext import flag_bool, flag_uint, go_json

from .errors import GenerateError
from .options import JSON_FORMATS, GenerateOptions
from .render import unit_file_name

logger = logging.getLogger(__name__)

_BOOL_FLAGS = {"--name": "name", "-n": "name", "--new": "new", "--files": "files",
               "-f": "files", "--no-header": "no_header", "--template": "template"}
# pflag names a flag that has a shorthand by both in its errors, whichever was typed.
_SHOWN = {"--name": "-n, --name", "-n": "-n, --name", "--files": "-f, --files",
          "-f": "-f, --files"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise GenerateError(message)


def _uint(flag: str) -> Any:
    def parse(text: str) -> int:
        try:
            return flag_uint(text, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = "uint"
    return parse


def _split_bool_values(argv: Sequence[str]) -> list[str]:
    """Turn pflag's ``--new=false`` into ``--new-false`` (a hidden flag), ``--new=true``
    into ``--new``; argparse has no optional values for flags that also take none."""
    out: list[str] = []
    for index, word in enumerate(argv):
        if word == "--":
            out += argv[index:]
            break
        flag, eq, value = word.partition("=")
        if eq and flag in _BOOL_FLAGS:
            try:
                on = flag_bool(value, _SHOWN.get(flag, flag))
            except ValueError as exc:
                raise GenerateError(str(exc)) from None
            out.append(flag if on else f"--{_BOOL_FLAGS[flag].replace('_', '-')}-false")
        else:
            out.append(word)
    return out


def _add_bool(parser: argparse.ArgumentParser, *flags: str, dest: str, help: str) -> None:
    parser.add_argument(*flags, dest=dest, action="store_true", default=None, help=help)
    parser.add_argument(f"--{dest.replace('_', '-')}-false", dest=dest, action="store_false",
                        help=argparse.SUPPRESS)


def add_systemd_arguments(parser: argparse.ArgumentParser) -> None:
    """Podman's ``generate systemd`` flags and the NAME|ID argument."""
    _add_bool(parser, "-n", "--name", dest="name",
              help="Use container/pod names instead of IDs")
    _add_bool(parser, "-f", "--files", dest="files",
              help="Generate .service files instead of printing to stdout")
    _add_bool(parser, "--template", dest="template",
              help="Make it a template file and use %%i and %%I specifiers. "
                   "Working only for containers")
    parser.add_argument("--start-timeout", type=_uint("--start-timeout"),
                        help="Start timeout override")
    parser.add_argument("--stop-timeout", type=_uint("--stop-timeout"),
                        help="Stop timeout override (default 10)")
    parser.add_argument("-t", "--time", type=_uint("--time"), help=argparse.SUPPRESS)
    _add_bool(parser, "--new", dest="new",
              help="Create a new container or pod instead of starting an existing one")
    _add_bool(parser, "--no-header", dest="no_header", help="Skip header generation")
    parser.add_argument("--container-prefix", default="container",
                        help="Systemd unit name prefix for containers (default container)")
    parser.add_argument("--pod-prefix", default="pod",
                        help="Systemd unit name prefix for pods (default pod)")
    parser.add_argument("--separator", default="-",
                        help='Systemd unit name separator between name/id and prefix '
                             '(default "-")')
    parser.add_argument("--restart-policy", help='Systemd restart-policy (default "on-failure")')
    parser.add_argument("--restart-sec", type=_uint("--restart-sec"),
                        help="Systemd restart-sec")
    parser.add_argument("--format", default="",
                        help="Print the created units in specified format (json)")
    for flag, text in (("--wants", "Add (weak) requirement dependencies to the generated "
                                   "unit file"),
                       ("--after", "Add dependencies order to the generated unit file"),
                       ("--requires", "Similar to wants, but declares stronger requirement "
                                      "dependencies")):
        parser.add_argument(flag, action="append", default=[], help=text)
    parser.add_argument("-e", "--env", action="append", default=[],
                        help="Set environment variables to the systemd unit files")
    parser.add_argument("target", metavar="CONTAINER|POD")


def build_parser(prog: str = "podbridge generate") -> argparse.ArgumentParser:
    """A parser for ``systemd [FLAGS] NAME|ID`` and ``quadlet NAME|ID``."""
    parser = _Parser(prog=prog, description="Generate systemd units or Quadlet files.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    add_systemd_arguments(sub.add_parser(
        "systemd", help="Generate systemd units.",
        description="Generate systemd units for a pod or container."))
    sub.add_parser(
        "quadlet", help="Generate a Quadlet file.",
        description="Generate a Quadlet .container (or .pod) file for a container or pod.",
    ).add_argument("target", metavar="CONTAINER|POD")
    return parser


def options_from_namespace(ns: argparse.Namespace) -> GenerateOptions:
    """The validated options model from parsed ``systemd`` arguments (every option has a
    flag of its name; a boolean flag not given is false, but ``new`` stays None)."""
    values = {name: getattr(ns, name) for name in GenerateOptions.model_fields}
    bools = {name: bool(values[name]) for name in ("name", "files", "no_header", "template")}
    return GenerateOptions.build(**{**values, **bools})


@dataclass(frozen=True)
class GenerateCommand:
    """A parsed ``generate`` command line."""

    command: str                 # "systemd" or "quadlet"
    target: str                  # container or pod name or ID
    options: GenerateOptions = field(default_factory=lambda: GenerateOptions.model_validate({}))


def parse_generate_args(argv: Sequence[str]) -> GenerateCommand:
    """Parse ``systemd [FLAGS] NAME|ID`` or ``quadlet NAME|ID`` (without ``generate``)."""
    ns = build_parser().parse_args(_split_bool_values(list(argv)))
    if ns.command == "quadlet":
        return GenerateCommand("quadlet", ns.target)
    return GenerateCommand("systemd", ns.target, options_from_namespace(ns))


def parse_systemd_args(argv: Sequence[str]) -> tuple[str, GenerateOptions]:
    """Parse podman's ``generate systemd`` flags plus NAME|ID: ``(target, options)``."""
    parsed = parse_generate_args(["systemd", *argv])
    return parsed.target, parsed.options


# -- output -------------------------------------------------------------------------------

def format_plain(units: Mapping[str, str]) -> str:
    """Units printed one after the other, as ``podman generate systemd`` does (each unit
    already ends in a newline; Podman's order is Go map order, ours the given order)."""
    return "".join(units.values())


@dataclass(frozen=True)
class Output:
    """What to write (absolute path -> content) and what to print."""

    files: dict[str, str]
    stdout: str


def format_output(units: Mapping[str, str], opts: GenerateOptions, cwd: str = ".") -> Output:
    """Podman's output for ``--files`` and ``--format``: with ``--files`` the units go to
    ``<cwd>/<service>.service`` and their paths are printed (one a line, or as JSON
    ``{service: path}``); otherwise the units are printed (plain, or JSON
    ``{service: content}``). Template units are written as ``<service>@.service``."""
    if opts.files:
        files: dict[str, str] = {}
        report: dict[str, str] = {}
        for service, content in units.items():
            path = os.path.join(cwd, unit_file_name(service, opts))
            files[path] = content
            report[service] = path
        if opts.format in JSON_FORMATS:
            return Output(files, go_json(report, " ", sort_keys=True) + "\n")
        return Output(files, "".join(f"{p}\n" for p in report.values()))
    if opts.format in JSON_FORMATS:
        return Output({}, go_json(dict(units), " ", sort_keys=True) + "\n")
    return Output({}, format_plain(units))
