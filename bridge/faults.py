"""Fault injection for the fault suite (tests/faults/): named points where a bridge started
with ``PODBRIDGE_FAULT_KILL_AT=<point>`` SIGKILLs itself, as a power cut or an OOM kill
would, to prove that every step after it is resumed or undone on the next start.

A point costs one dictionary lookup when the variable is not set (always, in production).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable

logger = logging.getLogger(__name__)

ENV = "PODBRIDGE_FAULT_KILL_AT"
# In-process faults, for tests that run the bridge in their own process: what to do (kill
# Podman's service, restart D-Bus) when a point is reached. Empty in production.
HOOKS: dict[str, Callable[[], None]] = {}


def point(name: str) -> None:
    """Die here, now, without cleanup, if the environment asks for it; run the test's
    hook for this point, if one is set."""
    hook = HOOKS.get(name)
    if hook is not None:
        logger.warning("fault injection: %s", name)
        hook()
    if os.environ.get(ENV) == name:
        logger.warning("fault injection: SIGKILL at %s", name)
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)


# In-process losses, for tests of what the bridge does when a reader loses what Podman
# wrote: ``DROPS[name](item)`` true drops that item at point ``name``. Empty in production.
DROPS: dict[str, Callable[[bytes], bool]] = {}


def dropped(name: str, item: bytes) -> bool:
    """Whether a test asks point ``name`` to lose ``item`` (as Podman's own journal reader
    loses an entry now and then)."""
    drop = DROPS.get(name)
    return drop is not None and drop(item)
