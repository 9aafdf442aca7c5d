"""`make soak DURATION=30m`: churn containers and units against a world of its own with 100
websocket clients attached, and report the bridge's RSS, open descriptors, threads,
asyncio tasks and store size at the start and the end, and the events the clients lost.

    python -m tests.stress.soak [--duration 30m] [--clients 100]

The bridge runs as its own process (``podbridge serve``), as in production. The churn, in
a loop: a container created, started, crashed (SIGKILL), stopped, removed; a Type=notify
unit installed, started, stopped, removed. Every client subscribes to every topic and
checks that the seqs it receives have no hole (a ``reset`` counts as a loss). Exit status
0 only when no event was lost and memory, descriptors and tasks stayed flat: the end within
``--slack`` of the first sample after the bus's replay ring filled (the ring holds the last
10,000 events, so memory rises until then by design).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.demo import notify_unit
from bridge.sandbox.images import SLEEP
from bridge.sandbox.registry import free_port

ROOT = Path(__file__).resolve().parents[2]
RING = 10_000       # the bus's replay ring, by default


def seconds(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 30m, 2h)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]


def sample(pid: int, state: Path) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
    return {"rss_mb": round(rss / 1024, 1),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": len(os.listdir(f"/proc/{pid}/task")),
            "store_kb": round(sum(f.stat().st_size for f in state.glob("podbridge.db*")) / 1024)}


class Client:
    def __init__(self) -> None:
        self.events = 0
        self.lost = 0
        self.resets = 0
        self.last: int | None = None

    async def run(self, url: str, token: str) -> None:
        async with BridgeClient(url, token) as c:
            async for ev in c.events(["*"]):
                if ev["type"] == "client.reset":
                    self.resets += 1
                    self.last = None
                    continue
                seq = int(ev["seq"])
                if self.last is not None and seq != self.last + 1:
                    self.lost += max(0, seq - self.last - 1)
                self.last = seq
                self.events += 1


def churn(world: World, stop: threading.Event, counts: dict[str, Any]) -> None:
    i = 0
    while not stop.is_set():
        i += 1
        try:
            cycle(world, i)
            counts["cycles"] = i
        except Exception as exc:     # reported, and the churn goes on
            counts["errors"] = counts.get("errors", 0) + 1
            counts["last_error"] = str(exc)[:300]
            stop.wait(1)


def cycle(world: World, i: int) -> None:
    name = f"soak-{i}"
    world.podman("create", "--name", name, SLEEP)
    world.podman("start", name)
    world.podman("kill", name, check=False)              # a crash
    world.podman("stop", "-t", "0", name, check=False)
    world.podman("rm", "-f", name)
    unit = f"soak-unit-{i % 4}.service"
    (world.unit_dir / unit).write_text(notify_unit(f"soak-unit-{i % 4}", SLEEP))
    world.systemctl("daemon-reload")
    world.systemctl("start", unit)
    world.systemctl("stop", unit)
    (world.unit_dir / unit).unlink()
    world.systemctl("daemon-reload")


async def soak(duration: float, clients: int, slack: float) -> int:
    with tempfile.TemporaryDirectory(prefix="podbridge-soak-") as tmp:
        world = World(Path(tmp) / "world").up()
        state = Path(tmp) / "state"
        port = free_port()
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": world.dbus_address}
        env.pop("CONTAINER_HOST", None)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge", "serve", "--url", world.podman_url,
            "--state-dir", str(state), "--listen", f"127.0.0.1:{port}",
            "--unit-dir", str(world.unit_dir), cwd=ROOT, env=env,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        stop = threading.Event()
        counts: dict[str, Any] = {"cycles": 0}
        tasks: list[asyncio.Task[None]] = []
        try:
            url = f"http://127.0.0.1:{port}"
            token_file = state / "token"
            deadline = time.monotonic() + 60
            while not token_file.exists():
                assert time.monotonic() < deadline, "the bridge never wrote its token"
                await asyncio.sleep(0.2)
            token = token_file.read_text().strip()
            await asyncio.sleep(2)      # listening by now; clients retry anyway
            readers = [Client() for _ in range(clients)]
            tasks = [asyncio.create_task(r.run(url, token)) for r in readers]
            async with BridgeClient(url, token) as admin:
                # Warm up one churn cycle before the first sample.
                await asyncio.to_thread(churn_once, world)
                start = {**sample(proc.pid, state),
                         "tasks": (await admin.call("bridge.status"))["tasks"]}
                worker = threading.Thread(target=churn, args=(world, stop, counts))
                worker.start()
                t0 = time.monotonic()
                steady: dict[str, float] | None = None
                while time.monotonic() - t0 < duration:
                    await asyncio.sleep(min(30, duration))
                    now = sample(proc.pid, state)
                    st = await admin.call("bridge.status")
                    now["tasks"] = st["tasks"]
                    # The replay ring (10,000 events by default) fills first: memory is
                    # judged flat from the first sample after it is full.
                    if steady is None and st["seq"] - st["oldest_seq"] >= RING - 1:
                        steady = {**now, "at_s": round(time.monotonic() - t0)}
                    print(f"{time.monotonic() - t0:6.0f} s  {now}  cycles "
                          f"{counts['cycles']}", flush=True)
                stop.set()
                await asyncio.to_thread(worker.join)
                status = await admin.call("bridge.status")
                await asyncio.sleep(2)   # the clients read what is in flight
                end = {**sample(proc.pid, state), "tasks": status["tasks"]}
            lost = sum(r.lost for r in readers)
            resets = sum(r.resets for r in readers)
            delivered = [r.events for r in readers]
            base = steady or start
            report = {"duration_s": duration, "clients": clients,
                      "churn_cycles": counts["cycles"],
                      "churn_errors": counts.get("errors", 0),
                      "churn_last_error": counts.get("last_error"), "bus_seq": status["seq"],
                      "start": start, "ring_full": steady, "end": end,
                      "events_lost": lost, "resets": resets,
                      "events_per_client": [min(delivered), max(delivered)],
                      "podman": status.get("podman")}
            print(json.dumps(report, indent=2))
            flat = (end["rss_mb"] <= base["rss_mb"] * (1 + slack) + 5
                    and end["fds"] <= base["fds"] + 10
                    and end["tasks"] <= base["tasks"] + 10)
            print(f"flat from {'the full ring' if steady else 'the start'}: {flat}; "
                  f"events lost: {lost}, resets: {resets}")
            return 0 if lost == 0 and resets == 0 and flat and not counts.get("errors") else 1
        finally:
            stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
            world.down()


def churn_once(world: World) -> None:
    """A warm-up: one container run and removed, before the first sample."""
    world.podman("run", "-d", "--name", "soak-warmup", SLEEP)
    world.podman("rm", "-f", "soak-warmup")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=seconds, default=seconds(
        os.environ.get("DURATION") or "30m"))
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--slack", type=float, default=0.2,
                    help="how much RSS may grow (fraction) and still count as flat")
    args = ap.parse_args(argv)
    return asyncio.run(soak(args.duration, args.clients, args.slack))


if __name__ == "__main__":
    sys.exit(main())
