"""Repeated measurements and the machine's load while they ran.

Every figure of ``make bench`` is the median of repeated runs, taken in alternating order
against its reference, and printed with its spread (lowest..highest). The load is read
from /proc before and after each section, so that a run on a busy machine says so."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def summary(values: list[float], digits: int = 3) -> dict[str, Any]:
    """Median, lowest, highest and the runs themselves."""
    return {"median": round(statistics.median(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits),
            "runs": [round(v, digits) for v in values]}


def alternate(names: list[str], rep: int) -> list[str]:
    """The order of the contenders in repetition ``rep``: rotated each time, so that none
    always goes first (a warm cache, a quiet moment) or always last."""
    k = rep % len(names)
    return names[k:] + names[:k]


def repeat(contenders: dict[str, Callable[[], T]], repeats: int) -> dict[str, list[T]]:
    out: dict[str, list[T]] = {name: [] for name in contenders}
    for rep in range(repeats):
        for name in alternate(list(contenders), rep):
            out[name].append(contenders[name]())
    return out


def _cpu_ticks() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of all CPUs since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    total = sum(fields[:8])
    return user + nice + system + irq + softirq, steal, total


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


@dataclass
class Load:
    """The machine's load over a section: load average before/after, the share of all
    CPUs that was busy (everyone's work, this bench's included) and stolen."""

    name: str
    started: float = field(default_factory=time.monotonic)
    load_before: float = field(default_factory=loadavg)
    _ticks: tuple[int, int, int] = field(default_factory=_cpu_ticks)
    result: dict[str, Any] = field(default_factory=dict)

    def stop(self) -> dict[str, Any]:
        busy0, steal0, total0 = self._ticks
        busy1, steal1, total1 = _cpu_ticks()
        total = max(1, total1 - total0)
        self.result = {"section": self.name, "seconds": round(time.monotonic() - self.started),
                       "loadavg_before": self.load_before, "loadavg_after": loadavg(),
                       "cpu_busy_pct": round(100 * (busy1 - busy0) / total),
                       "cpu_steal_pct": round(100 * (steal1 - steal0) / total, 1)}
        return self.result

    def line(self) -> str:
        r = self.result
        return (f"  [load during {r['section']} ({r['seconds']} s): loadavg "
                f"{r['loadavg_before']:.2f} -> {r['loadavg_after']:.2f}, all CPUs "
                f"{r['cpu_busy_pct']}% busy, {r['cpu_steal_pct']}% stolen]")
