"""The systemd source with 1,000 units: the bridge's cost stays flat (two D-Bus match rules,
no proxy per unit). Measured in a test world: the bridge's resync of 1,000 loaded units and
its memory, against `systemctl list-units` reading the same manager in the same run."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bridge.bus import Bus
from bridge.sandbox import World
from bridge.sources import SystemdSource
from bridge.state import State
from bridge.systemd import SystemdClient


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def run(units: int = 1000) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-units-") as tmp:
        world = World(Path(tmp) / "world").up(import_images=False)
        try:
            unit_dir = Path(world.unit_dir)
            names = [f"bench-{i:04d}.service" for i in range(units)]
            for n in names:
                (unit_dir / n).write_text("[Service]\nType=oneshot\nRemainAfterExit=yes\n"
                                          "ExecStart=/bin/true\n")
            bench_target = unit_dir / "bench.target"
            bench_target.write_text("[Unit]\nWants=" + " ".join(names) + "\n")
            world.systemctl("daemon-reload")
            world.systemctl("start", "bench.target")
            os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = world.dbus_address
            bus = Bus()
            state = State(bus)
            client = SystemdClient("system", world.dbus_address)
            before = rss_kib()
            await client.connect()
            await client.subscribe()
            source = SystemdSource(bus, client, state)
            t0 = time.perf_counter()
            await source.resync()
            resync_ms = (time.perf_counter() - t0) * 1000
            after = rss_kib()
            loaded = sum(1 for n in state.units if n.startswith("bench-"))
            t0 = time.perf_counter()
            await asyncio.to_thread(world.systemctl, "list-units", "--all", "--no-pager")
            systemctl_ms = (time.perf_counter() - t0) * 1000
            # Restart all of them: every change arrives as unit.state, at what rate?
            changes: list[float] = []
            bus.listen(["unit.state"], lambda e, _r: changes.append(time.perf_counter()))
            remove = client.add_signal_handler(source._on_signal)
            t0 = time.perf_counter()
            await asyncio.to_thread(world.systemctl, "restart", *names[:200])
            await asyncio.sleep(1.0)
            remove()
            source.stop()
            client.close()
            state.close()
            return {"units_loaded": loaded, "resync_ms": round(resync_ms, 1),
                    "systemctl_list_units_ms": round(systemctl_ms, 1),
                    "rss_growth_kib": after - before,
                    "unit_state_events_for_200_restarts": len(changes)}
        finally:
            world.down()
