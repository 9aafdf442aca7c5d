"""Issue 10's round trip, in the test world: a live container (or pod) -> the Quadlet files
our ``units.generate`` (format quadlet) exports -> our Quadlet generator -> service units
in the world's unit folder -> daemon-reload and StartUnit over D-Bus -> the units run the
same container (or pod): same image, name, published port serving the same page,
environment, labels and volumes, as ``podman inspect`` inside the world tells.

The Quadlet files live in a folder inside the world's root: it is visible at the same path
inside the world (its /tmp is private), so the units' SourcePath= exists for systemd.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, SLEEP
from tests.helpers import fetch, free_port, unique
from tests.integration.bridgefix import wait_for

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
AUTOUPDATE = "io.containers.autoupdate"


async def podman_json(world: World, *args: str) -> Any:
    done = await world.arun(["podman", *args])
    found = json.loads(done.stdout)
    if args[:2] == ("pod", "inspect") and isinstance(found, list):
        [found] = found  # Podman 5 prints a list (bridge.podman_compat.pod_inspect_is_list)
    return found


def write_files(folder: Path, files: dict[str, str]) -> None:
    """Write ``folder/NAME`` for each file (small local files, so written in place)."""
    folder.mkdir(exist_ok=True)
    for fname, text in files.items():
        (folder / fname).write_text(text)


def read_services(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in folder.glob("*.service")}


def present(folder: Path, names: Iterable[str]) -> list[str]:
    return [name for name in names if (folder / name).exists()]


def unlink_files(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        (folder / name).unlink()


async def export_quadlet(client: BridgeClient, target: str, folder: Path) -> dict[str, str]:
    """Our exporter's files for ``target``, written into ``folder``."""
    got = await client.call("units.generate", {"name": target, "format": "quadlet"})
    files: dict[str, str] = got["units"]
    write_files(folder, files)
    return files


async def run_generator(quadlet_dir: Path, out: Path) -> dict[str, str]:
    """Our Quadlet generator over ``quadlet_dir``: the service units it writes."""
    write_files(out, {})  # the output folder, empty
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(quadlet_dir)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "plugins.unit_generator.quadlet", "--no-kmsg-log", str(out),
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    stdout, stderr = await proc.communicate()
    assert proc.returncode == 0, stderr.decode() + stdout.decode()
    return read_services(out)


async def install_and_start(bridge: Bridge, world: World, units: dict[str, str],
                            start: str) -> None:
    """Write the units into the world's unit folder, Reload and StartUnit over D-Bus."""
    write_files(world.unit_dir, units)
    await bridge.systemd.reload()
    assert await bridge.systemd.run_job("start", start, timeout=120) == "done"


async def active_state(bridge: Bridge, unit: str) -> str:
    return str((await bridge.systemd.unit_properties(unit))["ActiveState"])


async def remove_units(bridge: Bridge, world: World, units: Iterable[str]) -> None:
    installed = present(world.unit_dir, units)
    for unit in installed:
        await bridge.systemd.run_job("stop", unit, timeout=120)
    unlink_files(world.unit_dir, installed)
    if installed:
        await bridge.systemd.reload()


def mounts(inspect: dict[str, Any]) -> set[tuple[str, str, str, bool]]:
    """(type, source or volume name, destination, rw) of each mount."""
    return {(m["Type"], m.get("Name") or m["Source"], m["Destination"], m["RW"])
            for m in inspect["Mounts"]}


def env_of(inspect: dict[str, Any]) -> dict[str, str]:
    return dict(e.split("=", 1) for e in inspect["Config"]["Env"])


async def test_container_round_trip(world: World, gen_bridge: Bridge,
                                    gen_client: BridgeClient) -> None:
    name = unique("rt")
    port = free_port()
    volume = f"{name}-cache"
    data = world.root / f"{name}-data"  # visible inside the world at the same path
    qdir, out = world.root / f"{name}-quadlet", world.root / f"{name}-units"
    unit = f"{name}.service"
    data.mkdir()
    (data / "note").write_text("bound from the host\n")
    try:
        await world.arun([
            "podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80",
            "-e", "GREETING=hello world", "-e", "RATE=100%", "-e", "DOLLAR=$HOME",
            "--label", "tier=front shop", "--label", f"{AUTOUPDATE}=registry",
            "-v", f"{data}:/data:ro", "-v", f"{volume}:/cache", HTTPD_V1])
        page = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
        assert "podbridge httpd v1" in page
        (before,) = await podman_json(world, "inspect", name)

        files = await export_quadlet(gen_client, name, qdir)
        assert list(files) == [f"{name}.container"]
        units = await run_generator(qdir, out)
        assert list(units) == [unit]
        # ContainerName= is set: the unit runs `--name NAME`, not `systemd-%N`.
        exec_start = next(line for line in units[unit].splitlines()
                          if line.startswith("ExecStart="))
        assert f"--name {name} " in exec_start and "systemd-%N" not in exec_start

        # The unit makes the container afresh: the original goes first.
        await world.arun(["podman", "rm", "-f", name])
        await install_and_start(gen_bridge, world, units, unit)
        assert await active_state(gen_bridge, unit) == "active"

        (after,) = await podman_json(world, "inspect", name)
        assert after["Id"] != before["Id"] and after["State"]["Running"]
        assert after["Name"] == before["Name"] == name
        assert after["ImageName"] == before["ImageName"] == HTTPD_V1
        assert after["Image"] == before["Image"]
        assert after["HostConfig"]["PortBindings"] == before["HostConfig"]["PortBindings"]
        assert await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/") == page
        want_env = {"GREETING": "hello world", "RATE": "100%", "DOLLAR": "$HOME"}
        assert {k: env_of(before)[k] for k in want_env} == want_env
        assert {k: env_of(after)[k] for k in want_env} == want_env
        labels = after["Config"]["Labels"]
        assert labels["tier"] == "front shop" and labels[AUTOUPDATE] == "registry"
        assert labels["PODMAN_SYSTEMD_UNIT"] == unit, "run by the unit"
        assert {k: v for k, v in labels.items() if k != "PODMAN_SYSTEMD_UNIT"} == \
            before["Config"]["Labels"]
        assert mounts(after) == mounts(before) == {
            ("bind", str(data), "/data", False), ("volume", volume, "/cache", True)}
        note = await world.arun(["podman", "exec", name, "cat", "/data/note"])
        assert note.stdout == "bound from the host\n"

        # Stopping the unit removes its container (ExecStopPost).
        assert await gen_bridge.systemd.run_job("stop", unit, timeout=120) == "done"
        listed = await world.arun(["podman", "ps", "-a", "--format", "{{.Names}}"])
        assert name not in listed.stdout.split()
    finally:
        await remove_units(gen_bridge, world, [unit])
        await world.arun(["podman", "rm", "-f", "--ignore", name], check=False)
        await world.arun(["podman", "volume", "rm", "-f", volume], check=False)
        for folder in (data, qdir, out):
            shutil.rmtree(folder, ignore_errors=True)


async def test_pod_round_trip(world: World, gen_bridge: Bridge,
                              gen_client: BridgeClient) -> None:
    pod = unique("rtpod")
    port = free_port()
    members = {f"{pod}-web": HTTPD_V1, f"{pod}-sleep": SLEEP}
    qdir, out = world.root / f"{pod}-quadlet", world.root / f"{pod}-units"
    pod_unit = f"{pod}-pod.service"
    units: dict[str, str] = {}
    try:
        await world.arun(["podman", "pod", "create", "--name", pod, "-p",
                          f"127.0.0.1:{port}:80", "--label", "tier=a b"])
        for member, image in members.items():
            await world.arun(["podman", "create", "--pod", pod, "--name", member,
                              "-e", "MODE=in a pod", image])
        await world.arun(["podman", "pod", "start", pod])
        page = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
        before = await podman_json(world, "pod", "inspect", pod)
        before_members = {m: (await podman_json(world, "inspect", m))[0] for m in members}

        files = await export_quadlet(gen_client, pod, qdir)
        assert sorted(files) == sorted([f"{pod}.pod", *(f"{m}.container" for m in members)])
        for member in members:
            assert f"Pod={pod}.pod" in files[f"{member}.container"].splitlines()
        units = await run_generator(qdir, out)
        assert sorted(units) == sorted([pod_unit, *(f"{m}.service" for m in members)])

        await world.arun(["podman", "pod", "rm", "-f", pod])
        # The pod unit Wants= its members: starting it starts them.
        await install_and_start(gen_bridge, world, units, pod_unit)
        member_units = [f"{m}.service" for m in members]

        async def all_active() -> bool:
            states = [await active_state(gen_bridge, u) for u in [pod_unit, *member_units]]
            return states == ["active"] * 3

        await wait_for(all_active, 60, "the pod's units all to become active", 0.2)

        after = await podman_json(world, "pod", "inspect", pod)
        assert after["Id"] != before["Id"] and after["State"] == "Running"
        assert after["Name"] == pod and after["Labels"]["tier"] == "a b"
        assert after["InfraConfig"]["PortBindings"] == before["InfraConfig"]["PortBindings"]
        running = {c["Name"]: c["State"] for c in after["Containers"]}
        assert all(running.get(m) == "running" for m in members), running
        assert await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/") == page
        for member in members:
            (inspect,) = await podman_json(world, "inspect", member)
            old = before_members[member]
            assert inspect["Pod"] == after["Id"]
            assert inspect["ImageName"] == old["ImageName"] == members[member]
            assert env_of(inspect)["MODE"] == env_of(old)["MODE"] == "in a pod"
            assert inspect["Config"]["Labels"]["PODMAN_SYSTEMD_UNIT"] == f"{member}.service"

        # Stopping the pod unit stops its members (BindsTo=) and removes the pod.
        assert await gen_bridge.systemd.run_job("stop", pod_unit, timeout=120) == "done"
        for unit in member_units:
            # The pod's stop job is done; each member's own stop job may still run.
            settled = await gen_bridge.systemd.settled(unit, timeout=120)
            assert settled["ActiveState"] in ("inactive", "failed"), (unit, settled)
        gone = await world.arun(["podman", "pod", "exists", pod], check=False)
        assert gone.returncode == 1
    finally:
        await remove_units(gen_bridge, world, list(units))
        await world.arun(["podman", "pod", "rm", "-f", "--ignore", pod], check=False)
        for folder in (qdir, out):
            shutil.rmtree(folder, ignore_errors=True)


def install_generator(dest: Path) -> Path:
    """`make install`'s script, staged into ``dest``: the system generator it installed."""
    done = subprocess.run(["bash", str(REPO / "scripts" / "install-generator.sh")],
                          env={**os.environ, "DESTDIR": str(dest)}, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    generator = dest / "usr/lib/systemd/system-generators/podman-system-generator"
    assert generator.is_file() and os.access(generator, os.X_OK)
    assert "--user" in (dest / "usr/lib/systemd/user-generators/podman-user-generator"
                        ).read_text()
    again = subprocess.run(["bash", str(REPO / "scripts" / "install-generator.sh")],
                           env={**os.environ, "DESTDIR": str(dest)}, capture_output=True,
                           text=True, check=True)
    assert again.stdout.count("already installed") == 2, again.stdout
    return generator


@pytest.mark.flavours("debian12", why="`make install` installs no generator where Podman "
                      "has its own Quadlet (debian13; test_quadlet_install runs Podman's there): "
                      "the generator this test runs does not exist in that flavour")
async def test_installed_generator_runs_under_systemd(world: World, gen_bridge: Bridge,
                                                      gen_client: BridgeClient,
                                                      tmp_path: Path) -> None:
    """The generator `make install` installs, run by the world's own systemd at
    daemon-reload: a file in /etc/containers/systemd becomes a unit that starts."""
    assert not world.flavour.native_quadlet and world.flavour.uses_host_root()
    name = unique("gen")
    port = free_port()
    unit = f"{name}.service"
    # Inside the world these are /etc/systemd/system-generators and /etc/containers/systemd.
    generators = world.root / "etc-systemd" / "system-generators"
    quadlets = world.root / "etc-containers" / "systemd"
    staged = await asyncio.to_thread(install_generator, tmp_path / "dest")
    try:
        await world.arun(["podman", "create", "--name", name, "-p", f"127.0.0.1:{port}:80",
                          HTTPD_V1])
        got = await gen_client.call("units.generate", {"name": name, "format": "quadlet"})
        await world.arun(["podman", "rm", name])
        write_files(quadlets, got["units"])
        write_files(generators, {staged.name: staged.read_text()})
        (generators / staged.name).chmod(0o755)

        await gen_bridge.systemd.reload()
        props = await gen_bridge.systemd.unit_properties(unit)
        assert props["LoadState"] == "loaded", props["LoadState"]
        assert props["FragmentPath"] == f"/run/systemd/generator/{unit}"
        assert props["SourcePath"] == f"/etc/containers/systemd/{name}.container"
        assert await gen_bridge.systemd.run_job("start", unit, timeout=120) == "done"
        assert "podbridge httpd v1" in await asyncio.to_thread(
            fetch, f"http://127.0.0.1:{port}/")
        (inspect,) = await podman_json(world, "inspect", name)
        assert inspect["Config"]["Labels"]["PODMAN_SYSTEMD_UNIT"] == unit
        assert await gen_bridge.systemd.run_job("stop", unit, timeout=120) == "done"
    finally:
        unlink_files(quadlets, present(quadlets, [f"{name}.container"]))
        unlink_files(generators, present(generators, [staged.name]))
        for folder in (quadlets, generators):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()
        await gen_bridge.systemd.reload()
        await world.arun(["podman", "rm", "-f", "--ignore", name], check=False)
    assert (await gen_bridge.systemd.unit_properties(unit))["LoadState"] == "not-found"
