"""`python -m bridge.sandbox sandbox up DIR`: the sandbox CLI on its own."""

from __future__ import annotations

import sys

from bridge.sandbox.cli import main

sys.exit(main())
