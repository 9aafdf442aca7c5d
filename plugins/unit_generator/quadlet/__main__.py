"""``python -m plugins.unit_generator.quadlet [--dryrun] [--user] ... OUTDIR``."""

from __future__ import annotations

import sys

from plugins.unit_generator.quadlet.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
