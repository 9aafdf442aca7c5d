"""`make bench` section "registry": the digest lookup of an update check, both ways in one
run against one real registry (`docker-registry`, the world's registry binary): skopeo
(containers/image, what the auto-update plugin calls) and a registry v2 client of our own
written in Python (tests/bench/registry_v2.py, the plugin's client before it switched; the
reference). Each lookup is a fresh client, as one check of one image in one auto-update
run is; the two take turns. Then the cases Podman resolves through containers/image, each
tried both ways: which one resolves it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from plugins.auto_update.reference import ImageRef, parse_reference
from plugins.auto_update.registry import Platform, RegistryError
from plugins.auto_update.skopeo import SkopeoClient
from tests import registry_support as rs
from tests.bench import registry_v2

AMD64 = Platform("linux", "amd64")
ROUNDS = 30


def conf(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    t0 = time.perf_counter()
    await fn()
    return time.perf_counter() - t0


def summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
            "p90": ordered[int(0.9 * (len(ordered) - 1))], "n": len(ordered)}


async def lookups(folder: Path, reg: rs.Registry) -> dict[str, Any]:
    insecure = conf(folder, "insecure.conf",
                    f'[[registry]]\nlocation = "{reg.host}"\ninsecure = true\n')
    out: dict[str, Any] = {}
    for image in ("t/one:latest", "t/multi:latest"):
        ref = parse_reference(f"{reg.host}/{image}")

        async def ours(ref: ImageRef = ref) -> None:
            async with registry_v2.RegistryClient(registry_v2.load_conf(insecure)) as c:
                await c.remote_image(ref, AMD64)

        async def skopeo(ref: ImageRef = ref) -> None:
            async with SkopeoClient(insecure) as c:
                await c.remote_image(ref, AMD64)

        times: dict[str, list[float]] = {"skopeo": [], "python-v2": []}
        await ours()  # warm both (page cache, registry)
        await skopeo()
        for i in range(ROUNDS):
            pair = [("skopeo", skopeo), ("python-v2", ours)]
            for name, fn in pair if i % 2 == 0 else reversed(pair):
                times[name].append(await timed(fn))
        out[image] = {k: summary(v) for k, v in times.items()}
    return out


async def resolves(client: SkopeoClient | registry_v2.RegistryClient, ref: ImageRef) -> str:
    try:
        async with client:
            await client.remote_image(ref, AMD64)
        return "yes"
    except RegistryError as exc:
        return f"no ({str(exc)[:70]})"


async def cases(folder: Path, open_reg: rs.Registry, auth_reg: rs.Registry
                ) -> dict[str, dict[str, str]]:
    """The cases of docs/choices.md's table, each tried by both clients."""
    insecure_both = conf(folder, "both.conf", "".join(
        f'[[registry]]\nlocation = "{h}"\ninsecure = true\n'
        for h in (open_reg.host, auth_reg.host)))
    mirror = conf(folder, "mirror.conf", f'[[registry]]\nlocation = '
                  f'"registry.podbridge.invalid"\n[[registry.mirror]]\nlocation = '
                  f'"{open_reg.host}"\ninsecure = true\n')
    creds = base64.b64encode(f"{auth_reg.user}:{auth_reg.password}".encode()).decode()
    run = folder / "xdg-run"
    (run / "containers").mkdir(parents=True, exist_ok=True)
    (run / "containers" / "auth.json").write_text(json.dumps(
        {"auths": {auth_reg.host: {"auth": creds}}}))
    helper_dir = folder / "bin"
    helper_dir.mkdir(exist_ok=True)
    helper = helper_dir / "docker-credential-podbridgebench"
    helper.write_text("#!/bin/sh\nread server\nprintf '{\"ServerURL\":\"%s\",\"Username\":"
                      f"\"{auth_reg.user}\",\"Secret\":\"{auth_reg.password}\"}}' \"$server\"\n")
    helper.chmod(0o755)
    helper_auth = folder / "helper-auth.json"
    helper_auth.write_text(json.dumps({"credHelpers": {auth_reg.host: "podbridgebench"}}))
    private = parse_reference(f"{auth_reg.host}/t/private:latest")
    mirrored = parse_reference("registry.podbridge.invalid/t/one:latest")
    table: dict[str, dict[str, str]] = {}
    saved = {k: os.environ.get(k) for k in ("XDG_RUNTIME_DIR", "PATH", "REGISTRY_AUTH_FILE",
                                            "HOME", "XDG_CONFIG_HOME")}
    try:
        os.environ.pop("REGISTRY_AUTH_FILE", None)
        os.environ.pop("XDG_CONFIG_HOME", None)
        os.environ["HOME"] = str(folder / "home")
        table["mirror in registries.conf"] = {
            "skopeo": await resolves(SkopeoClient(mirror), mirrored),
            "python-v2": await resolves(registry_v2.RegistryClient(
                registry_v2.load_conf(mirror)), mirrored)}
        os.environ["XDG_RUNTIME_DIR"] = str(run)
        table["$XDG_RUNTIME_DIR/containers/auth.json (root)"] = {
            "skopeo": await resolves(SkopeoClient(insecure_both), private),
            "python-v2": await resolves(registry_v2.RegistryClient(
                registry_v2.load_conf(insecure_both)), private)}
        os.environ["XDG_RUNTIME_DIR"] = str(folder / "empty-run")
        os.environ["PATH"] = f"{helper_dir}{os.pathsep}{saved['PATH']}"
        table["credential helper (credHelpers)"] = {
            "skopeo": await resolves(SkopeoClient(
                insecure_both, authfile_path=str(helper_auth)), private),
            "python-v2": await resolves(registry_v2.RegistryClient(
                registry_v2.load_conf(insecure_both), authfile_path=str(helper_auth)),
                private)}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return table


def run() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-registry-") as tmp:
        folder = Path(tmp)
        layout = folder / "oci"
        rs.oci_layout(layout)
        open_reg = rs.start(folder / "open")
        auth_reg = rs.start(folder / "auth", "bench", "bench-pw")
        try:
            rs.push(layout, "single", f"{open_reg.host}/t/one:latest", open_reg)
            rs.push(layout, "multi", f"{open_reg.host}/t/multi:latest", open_reg)
            rs.push(layout, "single", f"{auth_reg.host}/t/private:latest", auth_reg)
            return {"lookups": asyncio.run(lookups(folder, open_reg)),
                    "cases": asyncio.run(cases(folder, open_reg, auth_reg))}
        finally:
            open_reg.stop()
            auth_reg.stop()


def report(r: dict[str, Any]) -> None:
    print(f"registry: one digest lookup (fresh client each, median of {ROUNDS}, taking "
          "turns, one local docker-registry):")
    for image, t in r["lookups"].items():
        ref = t["python-v2"]["median"]
        for name in ("python-v2", "skopeo"):
            s = t[name]
            print(f"  {image:<16} {name:<10} {s['median'] * 1000:7.1f} ms  (p90 "
                  f"{s['p90'] * 1000:.1f}, min {s['min'] * 1000:.1f})   ratio "
                  f"{s['median'] / ref:.2f}")
    print("  resolved as Podman resolves it (containers/image):")
    for case, row in r["cases"].items():
        print(f"    {case:<44} skopeo: {row['skopeo']:<4}  python-v2: {row['python-v2']}")
