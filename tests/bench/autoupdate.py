"""Helpers of the auto-update tests and bench: units as `podman generate systemd --new`
writes them, images pushed to the world's registry, and the two tools to compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.sandbox import World
from bridge.sandbox.demo import notify_unit
from bridge.sandbox.registry import free_port

ROOT = Path(__file__).resolve().parents[2]



@dataclass(frozen=True)
class Unit:
    name: str      # the container's name; the unit is NAME.service
    image: str
    policy: str

    @property
    def unit(self) -> str:
        return f"{self.name}.service"


def registries_conf(world: World) -> str:
    return str(world.root / "etc-containers" / "registries.conf")


def start_units(world: World, units: list[Unit], extra_unit: str = "") -> None:
    for u in units:
        (world.unit_dir / u.unit).write_text(notify_unit(
            u.name, u.image, args=f"--label io.containers.autoupdate={u.policy}",
            unit_extra=extra_unit))
    world.systemctl("daemon-reload")
    world.systemctl("start", *[u.unit for u in units])


def remove_units(world: World, units: list[Unit]) -> None:
    world.systemctl("stop", *[u.unit for u in units], check=False)
    for u in units:
        (world.unit_dir / u.unit).unlink(missing_ok=True)
    world.systemctl("daemon-reload")
    world.systemctl("reset-failed", check=False)


def dead_registry_image(world: World, source: str, name: str) -> str:
    """A local image named as if from a registry nobody answers at: its checks fail."""
    ref = f"127.0.0.1:{free_port()}/podbridge/{name}:latest"
    world.podman("tag", source, ref)
    return ref


def unexecutable_image(world: World, source: str, name: str) -> str:
    """``source`` with a command that does not exist: ``podman run`` of it fails, so the
    unit's start job fails, as in upstream's rollback test. (The world's ``httpd:broken``
    starts and then exits 1: with ``--sdnotify=conmon`` its restart job is ``done``.)"""
    tmp = f"{name.replace('/', '-').replace(':', '-')}-tmp"
    world.podman("create", "--name", tmp, source)
    try:
        world.podman("commit", "--quiet", "--change", 'CMD ["/bin/no-such-command"]', tmp,
                     name)
    finally:
        world.podman("rm", "-f", tmp)
    return name


def serving(world: World, container: str) -> str:
    """What the container's httpd serves (from inside it)."""
    deadline = time.monotonic() + 10
    while True:
        done = world.podman("exec", container, "wget", "-q", "-O", "-",
                            "http://127.0.0.1:80/", check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done.stdout.strip()
        time.sleep(0.1)


def image_id(world: World, name: str) -> str:
    return world.podman("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()


def container_image(world: World, container: str) -> str:
    return world.podman("inspect", "--format", "{{.Image}}", container).stdout.strip()


def ours(world: World, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`podbridge auto-update --format json ARGS` against the world: status, rows, stderr."""
    env = {**os.environ, **world.env()}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "auto-update", "--format", "json", "--no-history",
         "--registries-conf", registries_conf(world), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    return done.returncode, _rows(done.stdout, done.stderr), done.stderr


def podmans(world: World, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """The real `podman auto-update --format json ARGS` inside the world."""
    done = world.podman("auto-update", "--format", "json", *args, check=False, timeout=300)
    return done.returncode, _rows(done.stdout, done.stderr), done.stderr


def _rows(stdout: str, stderr: str) -> list[dict[str, Any]]:
    text = stdout.strip()
    if not text or text == "null":
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        raise AssertionError(f"not JSON: {stdout!r} (stderr {stderr!r})") from None
    return list(rows or [])


def results(rows: list[dict[str, Any]], units: list[Unit]) -> dict[str, str]:
    """ContainerName -> Updated, for ``units`` only (the world may hold others)."""
    names = {u.name for u in units}
    return {r["ContainerName"]: r["Updated"] for r in rows if r["ContainerName"] in names}


# -- the bench: updating N independent units, podbridge vs podman auto-update ------------

def _prepare(world: World, tag: str, n: int) -> list[Unit]:
    """N units on N images of the registry at v1, then v2 pushed: N updates are due."""
    from bridge.sandbox.images import HTTPD_V1, HTTPD_V2

    units = []
    for i in range(n):
        ref = f"{world.registry}/podbridge/bench-{tag}{i}:latest"
        world.podman("push", "--quiet", HTTPD_V1, ref)
        units.append(Unit(f"bench-{tag}{i}", ref, "registry"))
    start_units(world, units)
    for u in units:
        world.podman("push", "--quiet", HTTPD_V2, u.image)
    return units


async def _ours_in_process(world: World) -> list[dict[str, Any]]:
    from bridge.podman import PodmanClient
    from bridge.systemd import SystemdClient
    from plugins.auto_update.updater import Options, Updater

    podman = PodmanClient(world.podman_url)
    systemd = SystemdClient("system", world.dbus_address)
    try:
        await systemd.connect()
        await systemd.subscribe()
        report = await Updater(podman, systemd, Options(
            registries_conf=registries_conf(world))).run()
    finally:
        systemd.close()
        await podman.close()
    return [r.podman_json() for r in report.rows]


def _timed(world: World, tag: str, n: int, how: str) -> float:
    import asyncio

    units = _prepare(world, tag, n)
    try:
        start = time.perf_counter()
        if how == "ours":
            rows = asyncio.run(_ours_in_process(world))
        elif how == "ours-cli":
            rows = ours(world)[1]
        else:
            rows = podmans(world)[1]
        took = time.perf_counter() - start
        got = results(rows, units)
        assert set(got.values()) == {"true"} and len(got) == n, f"{how}: {got}"
        return took
    finally:
        remove_units(world, units)


def run(sizes: tuple[int, ...] = (2, 4, 8)) -> list[dict[str, Any]]:
    """Seconds to update N independent units (each its own image, a registry update
    due) with podbridge (in process, as ``autoupdate.run`` does; and as the CLI, which
    adds Python's start-up) and with ``podman auto-update`` in the same world, one after
    another; the ratio podbridge / podman (target <= 0.6 at 4 units)."""
    import tempfile

    out = []
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-") as tmp:
        world = World(Path(tmp) / "world").up()
        try:
            for n in sizes:
                podman_s = _timed(world, f"m{n}-", n, "podman")
                ours_s = _timed(world, f"p{n}-", n, "ours")
                cli_s = _timed(world, f"c{n}-", n, "ours-cli")
                out.append({"units": n, "podbridge_s": round(ours_s, 3),
                            "podbridge_cli_s": round(cli_s, 3),
                            "podman_s": round(podman_s, 3),
                            "ratio": round(ours_s / podman_s, 3),
                            "ratio_cli": round(cli_s / podman_s, 3)})
        finally:
            world.down()
    return out


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
