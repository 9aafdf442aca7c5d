"""Helpers of the drop-in tests: the same command line through the world's real
``podman auto-update`` and through ``podbridge auto-update`` (both run inside the world,
so both read the world's registries.conf, Podman socket and system bus by default), and
their outcomes made comparable.

Each scenario runs twice, on its own units and images: first for Podman, then for
podbridge. The two runs' names differ only in a tag of the same length, so tables keep
their widths; ``normalise`` then replaces the tag, container IDs and digests.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bridge.sandbox import World
from bridge.sandbox.python import argv as python_argv

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Outcome:
    status: int
    stdout: str
    stderr: str


def podman_tool(world: World, *args: str) -> Outcome:
    done = world.podman("auto-update", *args, check=False, timeout=300)
    return Outcome(done.returncode, done.stdout, done.stderr)


def podbridge_tool(state_dir: Path) -> Callable[..., Outcome]:
    """``podbridge auto-update ARGS`` inside the world, with the history in ``state_dir``
    (not the machine's /var/lib/podbridge)."""
    def run(world: World, *args: str) -> Outcome:
        done = world.run(["env", f"PODBRIDGE_STATE_DIR={state_dir}", *python_argv(world),
                          "-m", "bridge", "auto-update", *args],
                         check=False, timeout=300)
        return Outcome(done.returncode, done.stdout, done.stderr)
    return run


def podman_major(world: World) -> int:
    version = world.podman("version", "--format", "{{.Client.Version}}").stdout.strip()
    return int(version.split(".")[0])


def tag(letter: str) -> str:
    """A run's tag: the same length for every tool."""
    return f"{letter}{uuid.uuid4().hex[:7]}"


_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_LONG_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_SHORT_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{12}(?![0-9a-f])")
_DEAD_PORT = re.compile(r"127\.0\.0\.1:(\d{5})")
_LOG_TIME = re.compile(r'^time="[^"]*"', re.M)   # a warning's time stamp (Podman 5's retries)


def normalise(text: str, run_tag: str, registry: str) -> str:
    """Digests, container IDs, the run's tag, dead registries' ports and warnings' time
    stamps made equal (of the same length, so that a table keeps its layout)."""
    text = text.replace(run_tag, "T" * len(run_tag))
    text = text.replace(registry, "REGISTRY".ljust(len(registry), "_"))
    text = _DIGEST.sub("sha256:" + "d" * 64, text)
    text = _LONG_ID.sub("I" * 64, text)
    text = _SHORT_ID.sub("i" * 12, text)
    text = _LOG_TIME.sub('time="TIME"', text)
    return _DEAD_PORT.sub("127.0.0.1:DEADP", text)


def comparable(outcome: Outcome, run_tag: str, registry: str, *, unordered: bool
               ) -> tuple[int, list[str], list[str]]:
    """Status, stdout lines and stderr lines, normalised. ``unordered``: several units,
    which Podman visits in Go's map order (random): rows, errors and pull lines are
    compared as sorted lines (a table's header stays first)."""
    text = normalise(outcome.stdout, run_tag, registry)
    out = text.split("\n")
    err = normalise(outcome.stderr, run_tag, registry).split("\n")
    if unordered and text.startswith("["):
        # JSON: its rows sorted by unit, each compared whole and as printed.
        rows = sorted(json.loads(text), key=lambda r: str(r.get("Unit")))
        out = [json.dumps(r, indent=4) for r in rows] + [str(text.count("\n"))]
    elif unordered:
        out = out[:1] + sorted(out[1:]) if out and "UNIT" in out[0] else sorted(out)
    if unordered:  # the errors too, whatever stdout's format (Podman 5 lists several)
        err = sorted(line.removeprefix("\t* ") for line in err)
    return outcome.status, out, err
