"""Pass/fail/skip of Podman's Quadlet suite against our generator, per file type.

    .venv/bin/python scripts/quadlet_report.py [-v]

Runs the cases exactly as tests/unit/test_quadlet_conformance.py does (same code) and
prints a table for the README; ``-v`` also lists every failed or skipped case.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.unit.test_quadlet_conformance import (
    ENTRIES,
    SUITE,
    file_type,
    run_case,
    skip_reason,
)

logger = logging.getLogger(__name__)

ORDER = ["container", "pod", "volume", "network", "kube", "image", "build", "artifact"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list failures and skips")
    args = parser.parse_args(argv)
    if not ENTRIES:
        print(f"no conformance suite at {SUITE}", file=sys.stderr)
        return 2
    counts: dict[str, Counter[str]] = {}
    notes: list[str] = []
    for entry in ENTRIES:
        kind = file_type(entry)
        tally = counts.setdefault(kind, Counter())
        reason = skip_reason(entry)
        if reason:
            tally["skip"] += 1
            notes.append(f"SKIP {entry['file']}: {reason}")
            continue
        with tempfile.TemporaryDirectory(prefix="quadlet-report-") as tmp:
            try:
                problem = run_case(entry, Path(tmp))
            except Exception as exc:  # a crash is a failure of that case, not of the report
                problem = f"crashed: {exc!r}"
        if problem:
            tally["fail"] += 1
            notes.append(f"FAIL {entry['file']}: {problem.splitlines()[0]}")
        else:
            tally["pass"] += 1

    kinds = sorted(counts, key=lambda k: (ORDER.index(k) if k in ORDER else len(ORDER), k))
    total: Counter[str] = Counter()
    print(f"{'type':<11} {'cases':>5} {'pass':>5} {'fail':>5} {'skip':>5}")
    for kind in kinds:
        c = counts[kind]
        total.update(c)
        print(f".{kind:<10} {c.total():>5} {c['pass']:>5} {c['fail']:>5} {c['skip']:>5}")
    print(f"{'total':<11} {total.total():>5} {total['pass']:>5} {total['fail']:>5} "
          f"{total['skip']:>5}")
    if args.verbose and notes:
        print()
        print("\n".join(notes))
    return 1 if total["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
