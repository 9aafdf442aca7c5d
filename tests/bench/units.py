"""The systemd source with 1,000 units: the bridge's cost stays flat (two D-Bus match rules,
no proxy per unit). Measured in a test world: the bridge's resync of 1,000 loaded units (a
fresh live model filled from ListUnits, on an open D-Bus connection) against the same
ListUnits call made on an open connection by plain dbus-fast in this process (the least any
client can do), and against `systemctl list-units --all` (a process, as a shell user reads
them); each repeated, in rotating order. And its memory."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus

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


async def run(units: int = 1000, repeats: int = 5) -> dict[str, Any]:
    from tests.bench.stats import alternate, summary

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
            client = SystemdClient("system", world.dbus_address)
            plain = await MessageBus(bus_address=world.dbus_address).connect()
            before = rss_kib()
            await client.connect()
            await client.subscribe()
            state = State(Bus())
            loaded = 0
            after_first = 0

            async def ours() -> float:
                nonlocal state, loaded, after_first
                state.close()
                bus = Bus()
                state = State(bus)
                source = SystemdSource(bus, client, state)
                t0 = time.perf_counter()
                await source.resync()
                took = (time.perf_counter() - t0) * 1000
                loaded = sum(1 for n in state.units if n.startswith("bench-"))
                after_first = after_first or rss_kib()  # the model of 1,000 units
                source.stop()
                return took

            async def list_units() -> float:
                t0 = time.perf_counter()
                reply = await plain.call(Message(
                    destination="org.freedesktop.systemd1", path="/org/freedesktop/systemd1",
                    interface="org.freedesktop.systemd1.Manager", member="ListUnits"))
                took = (time.perf_counter() - t0) * 1000
                assert reply is not None and reply.message_type == MessageType.METHOD_RETURN
                assert sum(1 for u in reply.body[0] if u[0].startswith("bench-")) == units
                return took

            async def systemctl() -> float:
                t0 = time.perf_counter()
                await asyncio.to_thread(world.systemctl, "list-units", "--all", "--no-pager")
                return (time.perf_counter() - t0) * 1000

            contenders = {"resync": ours, "list_units": list_units, "systemctl": systemctl}
            runs: dict[str, list[float]] = {k: [] for k in contenders}
            for rep in range(repeats):
                for name in alternate(list(contenders), rep):
                    runs[name].append(await contenders[name]())
            # Restart 200 of them: every change arrives as unit.state, at what rate?
            bus = Bus()
            state.close()
            state = State(bus)
            source = SystemdSource(bus, client, state)
            await source.resync()
            changes: list[float] = []
            bus.listen(["unit.state"], lambda e, _r: changes.append(time.perf_counter()))
            remove = client.add_signal_handler(source._on_signal)
            await asyncio.to_thread(world.systemctl, "restart", *names[:200])
            await asyncio.sleep(1.0)
            remove()
            source.stop()
            client.close()
            plain.disconnect()
            state.close()
            return {"units_loaded": loaded,
                    **{k: summary(v, 1) for k, v in runs.items()},
                    "rss_growth_kib": after_first - before,
                    "unit_state_events_for_200_restarts": len(changes)}
        finally:
            world.down()
