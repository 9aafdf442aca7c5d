"""`make bench`: every figure beside a reference doing the same work, measured in the same
run; medians of repeated runs in rotating order, with their spread (lowest..highest), and
the machine's load while each section ran."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import UTC, datetime
from typing import Any

from tests.bench import (
    autoupdate,
    cockpit_side,
    fanout,
    fleet,
    latency,
    rollout,
    rootless,
    units,
)
from tests.bench.stats import Load, loadavg

SECTIONS = ("fanout", "podman", "units", "autoupdate", "rootless", "cockpit", "fleet",
            "rollout")


def spread(s: dict[str, Any], fmt: str = "{:,.0f}") -> str:
    return f"{fmt.format(s['median'])} ({fmt.format(s['min'])}..{fmt.format(s['max'])})"


def ms(s: dict[str, Any]) -> str:
    return spread(s, "{:.1f}")


def secs(s: dict[str, Any]) -> str:
    return spread(s, "{:.2f}")


def mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f}" if kib else "n/a"


def print_fanout(rows: list[dict[str, Any]]) -> None:
    print("fan-out over websocket (loopback), events/s delivered to all clients, median of "
          f"{len(rows[0]['podbridge']['runs'])} runs each; podbridge (Bus + Server, default "
          "queue sizes) vs a bare aiohttp server batching the same way with nothing per client "
          "and event (one shared log of frames, one transport.write per client per burst):")
    for r in rows:
        print(f"  {r['clients']:>3} clients: podbridge {spread(r['podbridge'])}   "
              f"batched bare aiohttp {spread(r['reference'])}   ratio {r['ratio']:.2f} "
              f"(per run {r['ratio_per_run']['min']:.2f}..{r['ratio_per_run']['max']:.2f})")


def print_podman(r: dict[str, Any]) -> None:
    lat = r["latency"]
    n = r["containers"]
    runs = len(r["state_get_ms"]["runs"])
    print("added latency, a Podman event seen over the bridge's websocket vs by a raw "
          f"reader of Podman's /events, {lat['events']} events (one run; each reader's "
          "delay from the event's own time):")
    print(f"  raw reader p50 {lat['raw_p50_ms']:.1f} ms, p99 {lat['raw_p99_ms']:.1f} ms; "
          f"bridge websocket p50 {lat['ws_p50_ms']:.1f} ms, p99 {lat['ws_p99_ms']:.1f} ms; "
          f"added p50 {lat['added_p50_ms']:+.1f} ms, p99 {lat['added_p99_ms']:+.1f} ms")
    sg, pl, own = r["state_get_ms"], r["podman_list_ms"], r["own_list_ms"]
    print(f"the list of all {n} containers, ms, median of {runs} runs:")
    print(f"  podbridge `state.get` (a websocket call) {ms(sg)}   Podman `GET "
          f"/containers/json?all` {ms(pl)}   ratio {sg['median'] / pl['median']:.3f}")
    print(f"  a Podman client keeping its own list from /events answers from its memory "
          f"in {spread(own, '{:.3f}')}: podbridge is {sg['median'] / own['median']:,.0f}x "
          "slower (a round trip and JSON both ways)")
    cu = r["caught_up_s"]
    print(f"  after {n} container creations, seconds until the list was whole: podbridge "
          f"{cu['podbridge']:.2f}, the own-list client {cu['own_list']:.2f} (one run)")
    print(f"memory (RSS, MiB), idle / serving {n} containers and their events:")
    print(f"  podbridge serve {mib(r['rss_idle_kib'])} / {mib(r['rss_1000_kib'])}   "
          f"podman system service {mib(r['podman_service_rss_idle_kib'])} / "
          f"{mib(r['podman_service_rss_1000_kib'])}   cockpit-bridge (C, Cockpit 287, "
          f"cockpit-podman's two requests) {mib(r.get('cockpit_rss_idle_kib'))} / "
          f"{mib(r.get('cockpit_rss_1000_kib'))}")


def print_units(u: dict[str, Any]) -> None:
    rs, lu, sc = u["resync"], u["list_units"], u["systemctl"]
    print(f"systemd with {u['units_loaded']} loaded units, ms, median of {len(rs['runs'])} "
          "runs:")
    print(f"  podbridge resync (ListUnits + a fresh live model) {ms(rs)}   plain dbus-fast "
          f"ListUnits on an open connection {ms(lu)}   ratio "
          f"{rs['median'] / lu['median']:.2f}")
    print(f"  `systemctl list-units --all` (a process) {ms(sc)}; 200 restarts -> "
          f"{u['unit_state_events_for_200_restarts']} unit.state events")


def print_autoupdate(rows: list[dict[str, Any]]) -> None:
    runs = len(rows[0]["update"]["podman"]["runs"])
    print("auto-update, seconds, N units each due a registry update, median of "
          f"{runs} runs in rotating order (one world, one registry):")
    for r in rows:
        for kind in ("dry_run", "update"):
            t = r[kind]
            ref = t["podman"]["median"]
            label = "dry run" if kind == "dry_run" else "update "
            print(f"  {label} {r['units']} unit{'s' if r['units'] > 1 else ' '}: `podman "
                  f"auto-update{' --dry-run' if kind == 'dry_run' else ''}` "
                  f"{secs(t['podman'])}")
            for mode, what in (("cli", "`podbridge auto-update`, bridge running"),
                               ("cli-alone", "`podbridge auto-update`, no bridge"),
                               ("bridge", "the bridge's own run (its timer)")):
                print(f"      {what:<42} {secs(t[mode])}   ratio "
                      f"{t[mode]['median'] / ref:.2f}")


def goals(results: dict[str, Any]) -> list[str]:
    out = []
    if "fanout" in results:
        r = next(r for r in results["fanout"] if r["clients"] == 100)
        out.append(f"fan-out at 100 clients >= 0.5x the batched bare-aiohttp limit: "
                   f"{r['ratio']:.2f}x: {'met' if r['ratio'] >= 0.5 else 'NOT met'}")
    if "autoupdate" in results:
        by = {r["units"]: r for r in results["autoupdate"]}
        for n, kind, limit, what in ((1, "update", 1.0, "no slower than"),
                                     (4, "update", 0.6, "<= 0.6x"),
                                     (1, "dry_run", 2.0, "<= 2x")):
            if n in by:
                t = by[n][kind]
                ratio = t["cli"]["median"] / t["podman"]["median"]
                out.append(f"`podbridge auto-update`{' --dry-run' if kind == 'dry_run' else ''}"
                           f" at {n} unit{'s' if n > 1 else ''} {what} Podman's: {ratio:.2f}x: "
                           f"{'met' if ratio <= limit else 'NOT met'}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=SECTIONS)
    parser.add_argument("--json", help="also write every measurement to this file")
    parser.add_argument("--flavours", default="",
                        help="with the podman section: also measure the event latency and "
                             "state.get in test worlds of these flavours (debian12,debian13)")
    args = parser.parse_args()
    started = time.monotonic()
    print(f"make bench, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"loadavg at start {loadavg():.2f}")
    results: dict[str, Any] = {"loads": []}
    for section in SECTIONS:
        if args.only not in (None, section):
            continue
        load = Load(section)
        if section == "fanout":
            results[section] = asyncio.run(fanout.run())
            print_fanout(results[section])
        elif section == "podman":
            results[section] = asyncio.run(latency.run())
            print_podman(results[section])
            for flavour in [f for f in args.flavours.replace(",", " ").split() if f]:
                r = results[f"podman-{flavour}"] = asyncio.run(latency.run(flavour=flavour))
                print(f"-- the same against a {flavour} test world (Podman {r['podman']}):")
                print_podman(r)
        elif section == "units":
            results[section] = asyncio.run(units.run())
            print_units(results[section])
        elif section == "autoupdate":
            results[section] = autoupdate.run()
            print_autoupdate(results[section])
        elif section == "rootless":
            results[section] = asyncio.run(rootless.run())
            rootless.report(results[section])
        elif section == "fleet":
            results[section] = asyncio.run(fleet.run())
            fleet.report(results[section])
        elif section == "rollout":
            results[section] = rollout.run()
            rollout.report(results[section])
        else:
            results[section] = cockpit_side.run()
            cockpit_side.report(results[section])
        results["loads"].append(load.stop())
        print(load.line(), flush=True)
    print("goals:")
    for line in goals(results):
        print(f"  {line}")
    busy = [r["cpu_busy_pct"] for r in results["loads"]]
    print(f"took {time.monotonic() - started:.0f} s; all CPUs {min(busy)}..{max(busy)}% busy "
          "during the sections (this bench's own work included)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
