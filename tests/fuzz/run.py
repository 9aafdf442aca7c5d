"""`make fuzz DURATION=600`: a live bridge on a test world of its own, attacked for the
given time by random and malformed input (tests/fuzz/attacks.py). It must not crash, log
no unhandled exception, keep its memory bounded and answer every bad input clearly. The
summary counts the inputs tried; the exit status is 1 when anything was found."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import aiohttp

from bridge.credentials import Credentials
from tests.fuzz import attacks
from tests.fuzz.attacks import Stats, Target

ROOT = Path(__file__).resolve().parents[2]
# What an unhandled exception leaves in the bridge's log.
BAD_LOG = re.compile(r"Traceback|Task exception was never retrieved|Error handling request|"
                     r"Unhandled exception|RecursionError| CRITICAL ")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def quarter_peaks(samples: list[int]) -> list[int]:
    """The peak of each quarter of the run: a plateau, or a climb?"""
    n = len(samples)
    return [max(samples[n * q // 4:max(n * (q + 1) // 4, n * q // 4 + 1)]) for q in range(4)
            if n * q // 4 < n]


class LiveBridge:
    """`python -m bridge serve` on a world, with a viewer, an operator and an admin token."""

    def __init__(self, world: Any, state_dir: Path, port: int, ring_size: int = 10_000
                 ) -> None:
        self.ring_size = ring_size
        self.world = world
        self.state_dir = state_dir
        self.port = port
        self.log = state_dir.parent / "bridge.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.tokens: dict[str, str] = {}

    def start(self) -> LiveBridge:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config = self.state_dir.parent / "bridge.toml"
        config.write_text(f"ring_size = {self.ring_size}\n"
                          "[plugins.auto_update]\ntls_verify = false\ntimer = false\n")
        env = {**os.environ, "CONTAINER_HOST": self.world.podman_url,
               "DBUS_SYSTEM_BUS_ADDRESS": self.world.dbus_address}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--listen",
                 f"127.0.0.1:{self.port}", "--state-dir", str(self.state_dir),
                 "--unit-dir", str(self.world.unit_dir), "--config", str(config)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "is serving at" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bridge did not start:\n{self.log.read_text()}")
            time.sleep(0.1)
        creds = Credentials((self.state_dir / "token").read_text().strip(),
                            self.state_dir / "tokens.json")
        self.tokens = {"admin": creds.first,
                       "operator": creds.add("fuzz-operator", "operator"),
                       "viewer": creds.add("fuzz-viewer", "viewer")}
        return self

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        return code


async def methods_of(base: str, token: str) -> list[str]:
    async with aiohttp.ClientSession() as s, s.get(
            base + "/api/methods.list", headers={"Authorization": f"Bearer {token}"}) as r:
        return [m["name"] for m in (await r.json())["data"]]


async def fuzz(bridge: LiveBridge, duration: float, seed: int, flood_size: int
               ) -> dict[str, Any]:
    assert bridge.proc is not None
    pid = bridge.proc.pid
    base = f"http://127.0.0.1:{bridge.port}"
    target = Target("127.0.0.1", bridge.port, bridge.tokens,
                    await methods_of(base, bridge.tokens["admin"]))
    stats = Stats()
    rss = [rss_kib(pid)]
    started = time.monotonic()
    deadline = started + duration

    async def sample() -> None:
        while time.monotonic() < deadline:
            await asyncio.sleep(2)
            with suppress(OSError):
                rss.append(rss_kib(pid))


    def run(name: str, attack: Callable[..., Awaitable[None]], *extra: Any) -> Any:
        return attack(target, random.Random(f"{seed}/{name}"), stats, deadline, *extra)

    jobs = [sample(),
            run("ws1", attacks.ws_messages), run("ws2", attacks.ws_messages),
            run("raw1", attacks.raw_frames), run("raw2", attacks.raw_frames),
            run("half", attacks.half_closed), run("rest", attacks.rest),
            run("brute", attacks.brute_force), run("flood", attacks.flood, flood_size)]
    results = await asyncio.gather(*jobs, return_exceptions=True)
    for res in results:
        if isinstance(res, BaseException):
            stats.anomaly(f"the fuzzer itself failed: {type(res).__name__}: {res}")
    # Still alive and answering, and memory back down once the flood is over.
    alive = bridge.proc.poll() is None
    status: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as s, s.get(
                base + "/api/bridge.status",
                headers={"Authorization": f"Bearer {bridge.tokens['viewer']}"}) as r:
            answering = r.status == 200
            status = (await r.json()).get("data", {})
    except aiohttp.ClientError:
        answering = False
    rss_end = rss_kib(pid) if alive else 0
    return {"seed": seed, "duration_s": round(time.monotonic() - started, 1),
            "inputs": dict(stats.inputs), "inputs_total": sum(stats.inputs.values()),
            "outcomes": dict(stats.outcomes), "anomalies": stats.anomalies,
            "alive": alive, "answering": answering,
            # Events the bus's replay ring holds at the end (it grows until it is full).
            "ring": {"events": status.get("seq", 0) - status.get("oldest_seq", 0) + 1
                     if status else None, "size": bridge.ring_size},
            "rss_kib": {"start": rss[0], "peak": max(rss), "end": rss_end,
                        "quarters": quarter_peaks(rss)}}


def finish(summary: dict[str, Any], bridge: LiveBridge, exit_code: int | None) -> bool:
    """Add the log's findings and the bridge's exit to the summary; whether all is well."""
    log = bridge.log.read_text(errors="replace")
    lines = log.splitlines()
    bad: list[str] = []
    for i, line in enumerate(lines):
        if BAD_LOG.search(line) and not line.startswith("Traceback"):
            bad.append("\n".join(lines[i:i + 40]))  # with its traceback
        elif line.startswith("Traceback") and not (i and BAD_LOG.search(lines[i - 1])):
            bad.append("\n".join(lines[i:i + 40]))
    summary["log_findings"] = bad[:20]
    kept = ROOT / "test-artifacts" / "fuzz-bridge.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(log)
    summary["log"] = str(kept)
    summary["exit_code"] = exit_code
    rss = summary["rss_kib"]
    # Bounded: no climb from the first quarter of the run to the last (the first already
    # holds a flood and the largest messages), and far from the machine's size.
    q = rss["quarters"]
    summary["memory_bounded"] = (rss["peak"] < rss["start"] + 400 * 1024
                                 and q[-1] <= q[0] * 1.5)
    return (not summary["anomalies"] and not bad and summary["alive"]
            and summary["answering"] and exit_code == 0 and summary["memory_bounded"])


def report(summary: dict[str, Any], ok: bool) -> None:
    print(f"\nfuzzing for {summary['duration_s']} s (seed {summary['seed']}): "
          f"{summary['inputs_total']:,} inputs tried")
    for kind, n in sorted(summary["inputs"].items()):
        print(f"  {n:>9,}  {kind}")
    print("outcomes:")
    for kind, n in sorted(summary["outcomes"].items()):
        print(f"  {n:>9,}  {kind}")
    rss = summary["rss_kib"]
    print(f"bridge RSS: start {rss['start'] / 1024:.1f} MiB, peak {rss['peak'] / 1024:.1f}"
          f" MiB, end {rss['end'] / 1024:.1f} MiB; peak of each quarter of the run: "
          + ", ".join(f"{q / 1024:.1f}" for q in rss["quarters"]) + " MiB")
    print(f"events in the bus's replay ring at the end: {summary['ring']['events']} of "
          f"{summary['ring']['size']}")
    print(f"alive: {summary['alive']}, answering: {summary['answering']}, exit code "
          f"{summary['exit_code']}, unhandled exceptions in the log: "
          f"{len(summary['log_findings'])}, anomalies: {len(summary['anomalies'])}")
    for line in summary["anomalies"][:20] + summary["log_findings"][:20]:
        print(f"  ! {line}")
    print("FOUND NOTHING" if ok else "FOUND PROBLEMS")


def main() -> int:
    from bridge.sandbox import World
    from tests.helpers import free_port

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--flood", type=int, default=3000,
                        help="unauthenticated connections held open at once")
    parser.add_argument("--json", help="write the summary here")
    parser.add_argument("--ring-size", type=int, default=10_000,
                        help="the bridge's event ring (memory grows until it is full)")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    with tempfile.TemporaryDirectory(prefix="podbridge-fuzz-") as tmp:
        world = World(Path(tmp) / "world").up()
        bridge = LiveBridge(world, Path(tmp) / "bridge" / "state", free_port(),
                            args.ring_size)
        try:
            bridge.start()
            summary = asyncio.run(fuzz(bridge, args.duration, seed, args.flood))
            code = bridge.stop()
            ok = finish(summary, bridge, code)
        finally:
            bridge.stop()
            world.down()
    report(summary, ok)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
