"""``quadlet [--dryrun] [--user] [--no-kmsg-log] [-v] [--version] OUTDIR``.

Also usable as a systemd generator, which is called with three output folders (normal,
early, late): units go to the first. As with Podman's generator, a program name that
contains "user" implies ``--user``, messages go to /dev/kmsg when it can be written (else
to stderr), and any failure makes the exit code 1.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from importlib import metadata
from typing import IO, Any

from plugins.unit_generator.quadlet.generator import Options, generate

logger = logging.getLogger(__name__)

PACKAGE_LOGGER = "plugins.unit_generator.quadlet"


class _GeneratorLogHandler(logging.Handler):
    """Writes ``quadlet-generator[PID]: message`` to the kernel log, or to stderr."""

    def __init__(self, use_kmsg: bool) -> None:
        super().__init__()
        self._use_kmsg = use_kmsg
        self._kmsg: IO[str] | None = None

    def _to_kmsg(self, line: str) -> bool:
        if not self._use_kmsg:
            return False
        try:
            if self._kmsg is None:
                self._kmsg = open("/dev/kmsg", "w", encoding="utf-8")
            self._kmsg.write(line)
            self._kmsg.flush()
        except OSError:
            self._use_kmsg = False
            return False
        return True

    def emit(self, record: logging.LogRecord) -> None:
        line = f"quadlet-generator[{os.getpid()}]: {record.getMessage()}"
        if not self._to_kmsg(line):
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def close(self) -> None:
        if self._kmsg is not None:
            with contextlib.suppress(OSError):
                self._kmsg.close()
            self._kmsg = None
        super().close()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The generator's flags; each also works with one dash, as Go's flag package allows."""
    parser.add_argument("--dryrun", "-dryrun", action="store_true",
                        help="print the units instead of writing them (debug output on)")
    parser.add_argument("--user", "-user", action="store_true",
                        help="generate user units (read the user's Quadlet folders)")
    parser.add_argument("--no-kmsg-log", "-no-kmsg-log", dest="no_kmsg_log",
                        action="store_true", help="log to stderr, not to /dev/kmsg")
    parser.add_argument("-v", "--v", dest="verbose", action="store_true",
                        help="print debug information")
    parser.add_argument("--version", "-version", dest="print_version", action="store_true",
                        help="print the version and exit")
    parser.add_argument("outdirs", nargs="*", metavar="OUTDIR",
                        help="output folder (a systemd generator gets three: the first is used)")


def _version() -> str:
    try:
        return metadata.version("podbridge")
    except metadata.PackageNotFoundError:
        return "unknown"


def run(args: argparse.Namespace, prog: str | None = None) -> int:
    """Run with parsed arguments; 0 on success, 1 if anything failed."""
    if args.print_version:
        print(_version())
        return 0
    prog = sys.argv[0] if prog is None else prog
    is_user = args.user or "user" in os.path.basename(prog)
    pkg_logger = logging.getLogger(PACKAGE_LOGGER)
    handler = _GeneratorLogHandler(use_kmsg=not (args.no_kmsg_log or args.dryrun))
    saved = (pkg_logger.level, pkg_logger.propagate)
    pkg_logger.setLevel(logging.DEBUG if args.verbose or args.dryrun else logging.INFO)
    pkg_logger.propagate = False
    pkg_logger.addHandler(handler)
    try:
        if not args.dryrun and not args.outdirs:
            logger.error("missing output directory argument")
            ok = False
        else:
            opts = Options(outdir=args.outdirs[0] if args.outdirs and not args.dryrun else "",
                           dry_run=args.dryrun, is_user=is_user, argv0=prog)
            ok = generate(opts)
        if not ok:
            logger.error("processing encountered some errors")
    finally:
        pkg_logger.removeHandler(handler)
        handler.close()
        pkg_logger.setLevel(saved[0])
        pkg_logger.propagate = saved[1]
    return 0 if ok else 1


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """``quadlet`` as a program: ``argv`` without the program name."""
    parser = argparse.ArgumentParser(prog="quadlet", allow_abbrev=False,
                                     description="Generate systemd services from Quadlet files.")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    return run(args, prog)


def add_cli(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``quadlet`` to a parent CLI (``podbridge quadlet ...``)."""
    parser = subparsers.add_parser(
        "quadlet", allow_abbrev=False,
        help="generate systemd services from Quadlet files, as Podman's generator does")
    add_arguments(parser)
    parser.set_defaults(func=run)
