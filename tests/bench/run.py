"""`make bench`: figures and ratios against references measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import json

from tests.bench import autoupdate, fanout, latency, units


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("fanout", "latency", "memory", "units", "autoupdate"))
    parser.add_argument("--flavours", default="",
                        help="also measure the event latency and state.get in test worlds "
                             "of these flavours (comma separated: debian12,debian13)")
    args = parser.parse_args()
    results = {}
    if args.only in (None, "fanout"):
        rows = asyncio.run(fanout.run())
        results["fanout"] = rows
        print("bus fan-out over websocket (loopback), events/s delivered in all:")
        for r in rows:
            print(f"  {r['clients']:>3} clients: podbridge {r['podbridge_events_per_s']:>9,}"
                  f"   bare aiohttp {r['aiohttp_reference_events_per_s']:>9,}"
                  f"   ratio {r['ratio']:.2f}")
    if args.only in (None, "latency", "memory"):
        r = asyncio.run(latency.run())
        results["podman"] = r
        lat = r["latency"]
        print("added latency, a Podman event seen over the bridge's websocket vs by a raw "
              f"reader of Podman's /events ({lat['events']} events):")
        print(f"  delay from the event's time: raw reader p50 {lat['raw_p50_ms']:.2f} ms,"
              f" p99 {lat['raw_p99_ms']:.2f} ms; bridge websocket p50 {lat['ws_p50_ms']:.2f}"
              f" ms, p99 {lat['ws_p99_ms']:.2f} ms")
        print(f"  added by the bridge: p50 {lat['added_p50_ms']:.2f} ms, "
              f"p99 {lat['added_p99_ms']:.2f} ms")
        print(f"bridge RSS: idle {r['rss_idle_kib'] / 1024:.1f} MiB, with "
              f"{r['containers']} containers {r['rss_1000_kib'] / 1024:.1f} MiB")
        print(f"state.get with {r['containers']} containers: {r['state_get_ms']:.1f} ms "
              f"(median) vs Podman's own GET /containers/json?all: "
              f"{r['podman_list_ms']:.1f} ms   ratio "
              f"{r['state_get_ms'] / r['podman_list_ms']:.2f}")
    for flavour in [f for f in args.flavours.replace(",", " ").split() if f]:
        if args.only not in (None, "latency"):
            break
        r = asyncio.run(latency.run(flavour=flavour))
        results[f"podman-{flavour}"] = r
        lat = r["latency"]
        print(f"{flavour} world (Podman {r['podman']}): event latency added by the bridge "
              f"p50 {lat['added_p50_ms']:.2f} ms, p99 {lat['added_p99_ms']:.2f} ms "
              f"(raw reader p50 {lat['raw_p50_ms']:.2f} ms, bridge {lat['ws_p50_ms']:.2f} ms; "
              f"{lat['events']} events); state.get with {r['containers']} containers "
              f"{r['state_get_ms']:.1f} ms vs Podman's GET /containers/json?all "
              f"{r['podman_list_ms']:.1f} ms   ratio "
              f"{r['state_get_ms'] / r['podman_list_ms']:.2f}")
    if args.only in (None, "units"):
        u = asyncio.run(units.run())
        results["units"] = u
        print(f"systemd with {u['units_loaded']} loaded units: the bridge's resync "
              f"{u['resync_ms']:.0f} ms vs `systemctl list-units --all` "
              f"{u['systemctl_list_units_ms']:.0f} ms (ratio "
              f"{u['resync_ms'] / u['systemctl_list_units_ms']:.2f}); memory "
              f"+{u['rss_growth_kib'] / 1024:.1f} MiB; 200 restarts -> "
              f"{u['unit_state_events_for_200_restarts']} unit.state events")
    if args.only in (None, "autoupdate"):
        rows = autoupdate.run()
        results["autoupdate"] = rows
        print("auto-update of N independent units, seconds (same world, same run):")
        for r in rows:
            print(f"  {r['units']} units: podbridge {r['podbridge_s']:.2f} s "
                  f"(CLI {r['podbridge_cli_s']:.2f} s)   podman auto-update "
                  f"{r['podman_s']:.2f} s   ratio {r['ratio']:.2f} (CLI {r['ratio_cli']:.2f})")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
