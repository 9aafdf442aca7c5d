"""podbridge's page and Cockpit's own Podman page, side by side (issue 20).

One world; Debian's cockpit-ws (``--local-session``, root, no login) inside it with
podbridge's package installed; podbridge serving the world on its unix socket; one Chromium.
Each page is measured in a fresh Cockpit session of its own, so the other page is not
loaded meanwhile:

The standalone panel (the bridge serving it over TCP, no Cockpit) is measured last, the
same way, for reference.

- **one container**: 20 times, ``podman create`` (the CLI, in the world) and the time from
  its return to the container's row being in the page's DOM (attached: cockpit-podman
  keeps some rows hidden), median and p95;
- **a burst**: 200 containers created through Podman's API, 8 at a time; the time until
  every one of them is in the page, from the burst's start and from the last create's
  return; with the CPU time the browser (all Chromium processes) and the server side
  (cockpit-ws and its session; the bridge; Podman's API service) spent meanwhile.

Both pages are timed the same way: a MutationObserver in the page's frame notes
``Date.now()`` when a name appears in added nodes or changed text.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.cockpitworld import ROOT, CockpitWS, UnixBridge, cockpit_missing, install_package

SINGLES = 20
BURST = 200
BURST_PARALLEL = 8
CHROMIUM = "/usr/bin/chromium"
# A page's first load is a state waited for, not a figure: at a load average of 35 on two
# cores Cockpit's shell and its page frame took over 60 s to show the seed container (the
# whole `make bench` then died there). The bound only stops a page that never loads.
PAGE_LOAD_MS = 600_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
CLK = os.sysconf("SC_CLK_TCK")

PAGES = {
    "podbridge": ("/podbridge", "cockpit1:localhost/podbridge"),
    "cockpit-podman": ("/podman", "cockpit1:localhost/podman"),
}  # and "podbridge standalone": the panel the bridge serves itself, over TCP

OBSERVER = """() => {
  if (window.__pbBench) return;
  const b = window.__pbBench = { pending: new Set(), seen: {} };
  const check = (text) => {
    if (!text) return;
    for (const n of b.pending) {
      if (text.includes(n)) { b.seen[n] = Date.now(); b.pending.delete(n); }
    }
  };
  new MutationObserver((muts) => {
    if (b.pending.size === 0) return;
    for (const m of muts) {
      if (m.type === "characterData") check(m.target.data);
      for (const node of m.addedNodes) check(node.textContent);
    }
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
}"""


# -- CPU time ---------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        f = _stat(pid)
        if f is not None:
            out[pid] = (int(f[11]) + int(f[12])) / CLK
    return out


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for e in Path("/proc").iterdir():
        if e.name.isdigit() and (f := _stat(int(e.name))) is not None:
            parents[int(e.name)] = int(f[1])
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def chromium_pids() -> list[int]:
    pids = []
    for pid in descendants(os.getpid()):
        try:
            if os.readlink(f"/proc/{pid}/exe").startswith("/usr/lib/chromium/"):
                pids.append(pid)
        except OSError:
            continue
    return pids


def podman_service_pids(world: World) -> list[int]:
    """The world's `podman system service` (and its children), by the world's mount ns."""
    try:
        ns = os.readlink(f"/proc/{world.pid1}/ns/mnt")
    except OSError:
        return []
    pids = []
    for e in Path("/proc").iterdir():
        if not e.name.isdigit():
            continue
        try:
            if os.readlink(e / "ns" / "mnt") != ns:
                continue
            cmd = (e / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"system" in cmd and b"service" in cmd and cmd[0].endswith(b"podman"):
            pids.append(int(e.name))
    return pids


# -- the measurements ---------------------------------------------------------------------

@dataclass
class Side:
    """What one page got."""

    page: str
    single_ms: list[float]
    burst_all_shown_s: float | None      # from the burst's first request
    burst_after_last_create_s: float | None
    burst_shown: int
    cpu_browser_s: float
    cpu_server_s: dict[str, float]

    def row(self) -> dict[str, Any]:
        ms = sorted(self.single_ms)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))] if ms else None
        return {
            "page": self.page, "single_median_ms": statistics.median(ms) if ms else None,
            "single_p95_ms": p95, "singles": len(ms),
            "burst": BURST, "burst_shown": self.burst_shown,
            "burst_all_shown_s": self.burst_all_shown_s,
            "burst_after_last_create_s": self.burst_after_last_create_s,
            "cpu_browser_s": round(self.cpu_browser_s, 2),
            "cpu_server_s": {k: round(v, 2) for k, v in self.cpu_server_s.items()},
            "cpu_server_total_s": round(sum(self.cpu_server_s.values()), 2),
        }


def _wait_seen(frame: Any, names: list[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        seen: dict[str, float] = frame.evaluate(
            "(names) => Object.fromEntries(names.filter((n) => n in window.__pbBench.seen)"
            ".map((n) => [n, window.__pbBench.seen[n]]))", names)
        if len(seen) == len(names) or time.monotonic() > deadline:
            return seen
        time.sleep(0.02)


def _expect(frame: Any, names: list[str]) -> None:
    frame.evaluate("(names) => { for (const n of names) window.__pbBench.pending.add(n); }",
                   names)


async def _create_burst(socket: Path, names: list[str]) -> tuple[float, float]:
    """Creates the containers through Podman's API, BURST_PARALLEL at a time; returns the
    wall-clock times (ms since the epoch) of the first request and the last answer."""
    sem = asyncio.Semaphore(BURST_PARALLEL)
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(str(socket))) as http:
        async def one(name: str) -> None:
            async with sem, http.post("http://d/v4.0.0/libpod/containers/create",
                                      json={"name": name, "image": SLEEP}) as res:
                assert res.status == 201, await res.text()

        start = time.time() * 1000
        await asyncio.gather(*(one(n) for n in names))
        return start, time.time() * 1000


def _open(browser: Any, cockpit: CockpitWS, which: str, seed: str) -> tuple[Any, Any]:
    path, frame_name = PAGES[which]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(cockpit.url + path)
    # Cockpit names its page frames after loading them: find the frame by its element.
    iframe = page.wait_for_selector(f'iframe[name="{frame_name}"]', state="attached",
                                    timeout=PAGE_LOAD_MS)
    assert iframe is not None
    frame = iframe.content_frame()
    assert frame is not None, f"no frame {frame_name}"
    # Loaded and in its steady state: the seed container is on it.
    frame.wait_for_function("(n) => document.body && document.body.textContent.includes(n)",
                            arg=seed, timeout=PAGE_LOAD_MS)
    frame.evaluate(OBSERVER)
    return context, frame


def measure(browser: Any, world: World, which: str, tag: str, seed: str,
            opener: Callable[[], tuple[Any, Any]],
            server: dict[str, Callable[[], list[int]]]) -> Side:
    """One page: ``opener`` gives (browser context, the page's frame, loaded); ``server``
    names the processes whose CPU time counts as the server side's."""
    context, frame = opener()
    try:
        singles = []
        for i in range(SINGLES):
            name = f"{tag}-{which[:2]}-s{i:04d}"
            _expect(frame, [name])
            world.podman("create", "--name", name, SLEEP)
            returned = time.time() * 1000
            seen = _wait_seen(frame, [name], 30)
            if name in seen:
                singles.append(seen[name] - returned)

        names = [f"{tag}-{which[:2]}-b{i:04d}" for i in range(BURST)]
        _expect(frame, names)
        server = {**server, "podman API service": lambda: podman_service_pids(world)}
        before_b = cpu_seconds(chromium_pids())
        before_s = {k: cpu_seconds(f()) for k, f in server.items()}
        # In a thread of its own: Playwright's sync API holds this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            start, last = pool.submit(asyncio.run, _create_burst(world.podman_socket, names)
                                      ).result()
        seen = _wait_seen(frame, names, 180)
        after_b = cpu_seconds(chromium_pids())
        after_s = {k: cpu_seconds(f()) for k, f in server.items()}
        all_seen = max(seen.values()) if len(seen) == len(names) else None
        return Side(
            page=which, single_ms=singles,
            burst_all_shown_s=(all_seen - start) / 1000 if all_seen else None,
            burst_after_last_create_s=(all_seen - last) / 1000 if all_seen else None,
            burst_shown=len(seen),
            cpu_browser_s=spent(before_b, after_b),
            cpu_server_s={k: spent(before_s[k], after_s[k]) for k in server})
    finally:
        context.close()
        world.podman("rm", "-a", "-f", "-t", "0", timeout=600)
        world.podman("create", "--name", seed, SLEEP)


def _in_cockpit(browser: Any, cockpit: CockpitWS, which: str, seed: str
                ) -> Callable[[], tuple[Any, Any]]:
    def opener() -> tuple[Any, Any]:
        cockpit.restart()  # a fresh session: only this page is loaded in it
        return _open(browser, cockpit, which, seed)
    return opener


def _standalone(browser: Any, bridge: BridgeProcess, seed: str
                ) -> Callable[[], tuple[Any, Any]]:
    def opener() -> tuple[Any, Any]:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(bridge.url)
        frame = page.main_frame
        frame.wait_for_function("(n) => document.body && document.body.textContent"
                                ".includes(n)", arg=seed, timeout=PAGE_LOAD_MS)
        frame.evaluate(OBSERVER)
        return context, frame
    return opener


def _build_panel() -> Path:
    subprocess.run(["bash", str(ROOT / "scripts" / "build-panel.sh")], cwd=ROOT, check=True,
                   timeout=600)
    return ROOT / "frontend" / "dist"


def run() -> dict[str, Any]:
    if reason := cockpit_missing():
        return {"skipped": reason}
    from playwright.sync_api import sync_playwright

    tag = f"cs{uuid.uuid4().hex[:4]}"
    seed = f"{tag}-seed"
    panel = _build_panel()
    sides: list[Side] = []
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-") as tmp:
        world = World(Path(tmp) / "world").up()
        bridge = UnixBridge(world, Path(tmp) / "bridge" / "state")
        cockpit = CockpitWS(world, install_package(world))
        tcp: BridgeProcess | None = None
        try:
            world.podman("create", "--name", seed, SLEEP)
            bridge.start()
            cockpit.start()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                            headless=True)
                try:
                    for which, extra in (("podbridge", {"podbridge": lambda: [bridge.pid]}),
                                         ("cockpit-podman", {})):
                        sides.append(measure(
                            browser, world, which, tag, seed,
                            _in_cockpit(browser, cockpit, which, seed),
                            {"cockpit (ws + session)": cockpit.session_pids, **extra}))
                    # The standalone panel, served by a bridge on TCP (the same code), with
                    # no Cockpit in between; the unix-socket bridge is stopped first.
                    cockpit.stop()
                    bridge.stop()
                    tcp = BridgeProcess(world, Path(tmp) / "tcp" / "state", panel).start()
                    pid = tcp.proc.pid if tcp.proc else 0
                    sides.append(measure(browser, world, "podbridge standalone", tag, seed,
                                         _standalone(browser, tcp, seed),
                                         {"podbridge": lambda: [pid]}))
                finally:
                    browser.close()
        finally:
            if tcp is not None:
                tcp.stop()
            cockpit.stop()
            bridge.stop()
            world.down()
    rows = [s.row() for s in sides]
    return {"pages": rows}


def report(result: dict[str, Any]) -> None:
    if "skipped" in result:
        print(f"podbridge vs cockpit-podman: skipped ({result['skipped']})")
        return
    print(f"podbridge's page vs Cockpit's Podman page, same world, same Chromium, inside "
          f"Cockpit ({SINGLES} single creates; a burst of {BURST}, {BURST_PARALLEL} at a "
          f"time through Podman's API):")
    for r in result["pages"]:
        burst = (f"all {r['burst']} shown {r['burst_all_shown_s']:.2f} s after the burst "
                 f"began, {r['burst_after_last_create_s']:.2f} s after the last create"
                 if r["burst_all_shown_s"] is not None
                 else f"only {r['burst_shown']} of {r['burst']} shown in time")
        print(f"  {r['page']:>20}: row after `podman create` returned: median "
              f"{r['single_median_ms']:.0f} ms, p95 {r['single_p95_ms']:.0f} ms; {burst}; "
              f"CPU in the burst: browser {r['cpu_browser_s']:.2f} s, server "
              f"{r['cpu_server_total_s']:.2f} s {r['cpu_server_s']}")


if __name__ == "__main__":
    import json

    res = run()
    report(res)
    print(json.dumps(res))
