"""Record golden units from a test world's own Podman: ``python -m tests.unit.golden_record
--flavour debian13`` (as root; a world of its own, torn down after).

For containers and a pod made in the world, and every flag set of the world parity test,
it keeps what ``podman generate systemd`` printed (plain text, as a user sees it) beside
the inputs our renderer takes (the inspect data, Podman's version and run root), in
``tests/unit/data/golden-podman-VERSION.json``. ``test_generate_golden_recorded.py``
then renders the same inputs offline and compares byte for byte, per Podman version,
without a world.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, SLEEP

DATA = Path(__file__).parent / "data"

CONTAINERS: dict[str, list[str]] = {
    "ports": ["-p", "127.0.0.1:18080:80", HTTPD_V1],
    "env": ["-e", "GREETING=hello world", "-e", "RATE=100%", "-e", "DOLLAR=$HOME", HTTPD_V1],
    "labels": ["--label", "app=web shop", "--label", "io.containers.autoupdate=registry",
               HTTPD_V1],
    "volume": ["-v", "/srv:/data:ro", "--tmpfs", "/scratch", HTTPD_V1],
    "entry": ["--entrypoint", '["/bin/sh","-c"]', HTTPD_V1, "echo 'a b' \"c\" \\\\d"],
    "restart": ["--restart", "on-failure:3", "--stop-timeout", "7", HTTPD_V1],
    "always": ["--restart", "unless-stopped", SLEEP, "sleep", "100"],
}
FLAG_SETS: list[list[str]] = [
    ["--name"], ["--name", "--new"], [],
    ["--name", "--new", "--restart-policy", "always", "--stop-timeout", "5",
     "--restart-sec", "4"],
    ["--name", "--new", "--after", "a.service", "--wants", "b.service", "--requires",
     "c.service", "--start-timeout", "20", "--container-prefix", "ctr", "--separator", "_",
     "-e", "X=1"],
    ["--name", "--template", "--new"],
]
POD = "golden-pod"


def record(w: World) -> dict[str, Any]:
    version = w.podman("version", "--format", "{{.Client.Version}}").stdout.strip()
    run_root = w.podman("info", "--format", "{{.Store.RunRoot}}").stdout.strip()
    cases: list[dict[str, Any]] = []
    targets: dict[str, dict[str, Any]] = {}
    for case, words in CONTAINERS.items():
        name = f"golden-{case}"
        w.podman("create", "--name", name, *words)
        targets[name] = {"container": json.loads(w.podman("inspect", name).stdout)[0]}
    w.podman("pod", "create", "--name", POD, "-p", "127.0.0.1:18090:80")
    for member, extra in (("a", []), ("b", ["--requires", f"{POD}-a"])):
        w.podman("create", "--pod", POD, "--name", f"{POD}-{member}", *extra, HTTPD_V1,
                 "sleep", "100")
    pod = json.loads(w.podman("pod", "inspect", POD).stdout)
    pod = pod[0] if isinstance(pod, list) else pod
    ids = [c["Id"] for c in pod["Containers"]]
    targets[POD] = {"pod": pod, "members": json.loads(w.podman("inspect", *ids).stdout)}
    for target in targets:
        for flags in FLAG_SETS:
            if "--template" in flags and target == POD:
                continue   # Podman refuses templates of pods
            done = w.podman("generate", "systemd", *flags, target, check=False)
            cases.append({"target": target, "flags": flags, "stdout": done.stdout,
                          "exit": done.returncode})
    return {"version": version, "run_root": run_root, "flavour": w.flavour.name,
            "targets": targets, "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--flavour", required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podbridge-golden-") as tmp:
        w = World(Path(tmp) / "world", flavour=args.flavour).up()
        try:
            data = record(w)
        finally:
            w.down()
    out = DATA / f"golden-podman-{data['version']}.json"
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{len(data['cases'])} cases of Podman {data['version']} -> {out}")


if __name__ == "__main__":
    main()
