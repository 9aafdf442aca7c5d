"""`make test-stress`: the rollback and restart scenarios N times while stress-ng holds
every CPU, and a report of false rollbacks, missed rollbacks and flakes (all must be 0).

    python -m tests.stress.run [--repeat N] [--load-workers W] [--rotate-flavours]
                               [-- extra pytest args]

Each repetition is one pytest run (its own world) with a JUnit report; a failed test is
classified by what it expected: a test whose update is good and must pass its probation
failing is a *false rollback*; one whose update is bad and must be rolled back failing is
a *missed rollback*; anything else failing is a *flake*. Exit status 0 only when all three
are 0.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from bridge.sandbox.flavours import FLAVOURS_ENV, selected

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["tests/integration/test_rollback_scenarios.py",
             "tests/integration/test_restart_backoff.py",
             "tests/integration/test_restart_crashloop.py",
             "tests/faults/test_kill_phases.py"]
# Tests whose update is good: their failure is a false rollback.
GOOD = ("test_good_image_passes", "test_rollback_by_hand_to_the_previous_image",
        "mid_restart", "mid_probation")
# Tests whose update is bad: their failure is a missed rollback.
BAD = ("test_broken_image_is_rolled_back", "test_ready_then_exit_is_rolled_back",
       "test_failing_health_check_is_rolled_back", "test_dependent_unit_runs_again",
       "test_through_the_auto_update_plugin", "after_retag", "before_restart",
       "after_pull", "before_pull")


def classify(name: str, text: str = "") -> str:
    if any(g in name for g in GOOD):
        return "false rollback"
    if any(b in name for b in BAD):
        # A bad update's test that failed after its rollback was performed did not miss it.
        return "flake" if "'type': 'rollback.performed'" in text else "missed rollback"
    return "flake"


def start_load(workers: int) -> subprocess.Popen[bytes] | None:
    exe = shutil.which("stress-ng")
    if exe is None:
        print("test-stress: stress-ng is not installed (scripts/install-deps.sh installs it)",
              file=sys.stderr)
        sys.exit(2)
    return subprocess.Popen([exe, "--cpu", str(workers), "--cpu-load", "100", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=int(os.environ.get("N", "20")))
    ap.add_argument("--load-workers", type=int, default=0,
                    help="stress-ng CPU workers (0: one per CPU)")
    ap.add_argument("--rotate-flavours", action="store_true",
                    help="each repetition in one flavour, taking turns (half the time a "
                    "repetition of both takes; every flavour still covered)")
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args(argv)
    flavours = selected()
    load = start_load(args.load_workers)
    counts = {"false rollback": 0, "missed rollback": 0, "flake": 0}
    failures: list[tuple[int, str, str, str]] = []
    ran = 0
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="podbridge-stress-") as tmp:
            for i in range(1, args.repeat + 1):
                report = Path(tmp) / f"run{i}.xml"
                cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                       f"--junitxml={report}", *SCENARIOS, *args.pytest_args]
                env = dict(os.environ)
                label = ""
                if args.rotate_flavours:
                    env[FLAVOURS_ENV] = label = flavours[(i - 1) % len(flavours)]
                t0 = time.monotonic()
                done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                      check=False, env=env)
                took = time.monotonic() - t0
                if not report.exists():
                    failures.append((i, "(the run)", "flake", done.stdout[-2000:] +
                                     done.stderr[-2000:]))
                    counts["flake"] += 1
                    continue
                cases = ET.parse(report).getroot().iter("testcase")
                n = bad = 0
                for case in cases:
                    n += 1
                    problem = case.find("failure")
                    if problem is None:
                        problem = case.find("error")
                    if problem is None and case.find("skipped") is not None:
                        kind, text = "flake", "skipped: " + str(
                            case.find("skipped").get("message"))  # type: ignore[union-attr]
                    elif problem is not None:
                        text = str(problem.get("message") or "")[:300]
                        kind = classify(case.get("name", ""), text)
                    else:
                        continue
                    bad += 1
                    counts[kind] += 1
                    where = f"{label} " if label else ""
                    failures.append((i, f"{where}{case.get('classname')}::{case.get('name')}",
                                     kind, text))
                    # As it happens, so that a run cut short still tells what it saw.
                    print(f"  run {i}: {kind}: {failures[-1][1]}: {text}", flush=True)
                ran += n
                print(f"run {i}/{args.repeat}{' (' + label + ')' if label else ''}: {n} tests, "
                      f"{bad} failed, {took:.0f} s", flush=True)
    finally:
        if load is not None:
            os.killpg(load.pid, signal.SIGTERM)
            load.wait()
    print(f"\ntest-stress: {args.repeat} runs, {ran} tests under stress-ng, "
          f"{time.monotonic() - started:.0f} s")
    for kind, n in counts.items():
        print(f"  {kind + 's':17s} {n}")
    for i, name, kind, text in failures:
        print(f"  run {i}: {kind}: {name}: {text}")
    return 0 if not any(counts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
