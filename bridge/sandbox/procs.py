"""A process named by pid *and* start time, so a recycled pid is never killed by mistake.

world.json outlives the process that wrote it (`podbridge sandbox down` runs elsewhere),
so a bare pid is not enough to know that the process is still the one we started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


@dataclass(frozen=True)
class ProcRef:
    pid: int
    started: int

    @classmethod
    def of(cls, pid: int) -> ProcRef:
        started = start_time(pid)
        if started is None:
            raise ProcessLookupError(pid)
        return cls(pid, started)

    def alive(self) -> bool:
        return start_time(self.pid) == self.started

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def reap(self, timeout: float = 10.0) -> None:
        """Wait until it is gone; reap it when it is our child."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, os.WNOHANG)
            if not self.alive():
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"process {self.pid} did not exit")
            time.sleep(0.01)
