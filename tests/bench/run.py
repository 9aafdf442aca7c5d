"""`make bench`: figures and ratios against references measured in the same run."""

from __future__ import annotations

import argparse
import asyncio
import json

from tests.bench import fanout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("fanout", "latency", "memory", "autoupdate"))
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
    print(json.dumps(results))


if __name__ == "__main__":
    main()
