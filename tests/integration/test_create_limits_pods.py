"""What Cockpit's Create dialogs set beyond the basics, against the real world: a terminal
and resource limits on a container (Podman's inspect carries them, and so does the create
command a ``--new`` unit rebuilds it from), volumes on a pod, a pod paused and unpaused,
an image's history as Podman tells it, and a create for a rootless owner landing in that
user's Podman."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.helpers import unique
from tests.integration.bridgefix import refused
from tests.integration.worldbridge import world_client

IMAGE = "localhost/podbridge/httpd:v1"
MiB = 1024 * 1024


async def podman(world: Any, *args: str, check: bool = True) -> str:
    done = await asyncio.to_thread(world.podman, *args, check=check)
    return str(done.stdout)


async def inspect(world: Any, name: str) -> dict[str, Any]:
    return dict(json.loads(await podman(world, "container", "inspect", name))[0])


async def test_create_with_terminal_and_limits(world: Any, client: BridgeClient) -> None:
    name = unique("limited")
    made = await client.call("containers.create", {
        "image": SLEEP, "name": name, "tty": True,
        "limits": {"memory": 64 * MiB, "cpu_shares": 512, "cpus": 0.5}})
    try:
        assert made["name"] == name and "warnings" not in made, made
        info = await inspect(world, name)
        assert info["Config"]["Tty"] is True
        host = info["HostConfig"]
        assert host["Memory"] == 64 * MiB
        assert host["CpuShares"] == 512
        assert host["NanoCpus"] == 500_000_000 or (host["CpuQuota"], host["CpuPeriod"]) == \
            (50_000, 100_000), host
        assert info["State"]["Running"] is True
        # The command a --new unit rebuilds it from says the same.
        create = info["Config"]["CreateCommand"]
        for flag in ("--tty", "--memory", str(64 * MiB), "--cpu-shares", "512",
                     "--cpus", "0.5"):
            assert flag in create, create
        # Podman's own generator reads it back: the unit recreates it with the limits.
        unit = await podman(world, "generate", "systemd", "--new", name)
        assert f"--memory {64 * MiB}" in unit and "--cpu-shares 512" in unit, unit
        assert "--tty" in unit, unit
    finally:
        await podman(world, "rm", "-f", "--ignore", name, check=False)


async def test_create_without_a_terminal_by_default(world: Any, client: BridgeClient) -> None:
    name = unique("plain")
    await client.call("containers.create", {"image": IMAGE, "name": name, "start": False})
    try:
        info = await inspect(world, name)
        assert info["Config"]["Tty"] is False and info["HostConfig"]["Memory"] == 0
    finally:
        await podman(world, "rm", "-f", "--ignore", name, check=False)


async def test_limits_out_of_range_are_refused(client: BridgeClient) -> None:
    for limits, field in (({"memory": 1024}, "limits.memory"),
                          ({"cpu_shares": 1}, "limits.cpu_shares"),
                          ({"cpus": 0}, "limits.cpus")):
        exc = await refused(client, "containers.create", {"image": IMAGE, "limits": limits})
        assert exc.code == "invalid-params" and field in exc.message, exc


async def pod_state(world: Any, pod: str) -> str:
    """Podman's own word (``podman pod inspect``: an object in Podman 4, a list in 5)."""
    found = json.loads(await podman(world, "pod", "inspect", pod))
    return str((found[0] if isinstance(found, list) else found)["State"])


async def test_pod_pause_and_unpause(world: Any, client: BridgeClient) -> None:
    pod, member = unique("pausing"), unique("member")
    await client.call("pods.create", {"name": pod})
    try:
        await client.call("containers.create", {"image": SLEEP, "name": member, "pod": pod})
        await client.call("pods.start", {"name": pod})
        assert await pod_state(world, pod) == "Running"
        await client.call("pods.pause", {"name": pod})
        assert await pod_state(world, pod) == "Paused"
        assert (await inspect(world, member))["State"]["Status"] == "paused"
        rows = {p["name"]: p for p in await client.call("pods.list")}
        assert rows[pod]["status"] == "Paused"
        await client.call("pods.unpause", {"name": pod})
        assert await pod_state(world, pod) == "Running"
        assert (await inspect(world, member))["State"]["Status"] == "running"
        # As Podman's own `pod unpause` / `pod pause`: acting on a pod with nothing to
        # act on changes nothing and is no error.
        await client.call("pods.unpause", {"name": pod})
        assert await pod_state(world, pod) == "Running"
        await client.call("pods.stop", {"name": pod, "timeout": 1})
        stopped = await pod_state(world, pod)
        await client.call("pods.pause", {"name": pod})
        assert await pod_state(world, pod) == stopped != "Paused"
        exc = await refused(client, "pods.pause", {"name": unique("nopod")})
        assert exc.code == "not-found", exc
    finally:
        await podman(world, "pod", "rm", "-f", "--ignore", pod, check=False)


async def test_pod_with_volumes_gives_them_to_its_containers(world: Any,
                                                             client: BridgeClient) -> None:
    pod, member, vol = unique("vpod"), unique("vmember"), unique("podvol")
    await podman(world, "volume", "create", vol)
    try:
        await client.call("pods.create", {"name": pod, "volumes": [
            {"source": vol, "destination": "/data"},
            {"source": "/etc", "destination": "/hostetc", "read_only": True}]})
        await client.call("containers.create", {"image": SLEEP, "name": member, "pod": pod})
        mounts = {m["Destination"]: m for m in (await inspect(world, member))["Mounts"]}
        assert mounts["/data"]["Name"] == vol and mounts["/data"]["Type"] == "volume", mounts
        assert mounts["/hostetc"]["Source"] == "/etc" and not mounts["/hostetc"]["RW"], mounts
        rows = {v["name"]: v for v in await client.call("volumes.list")}
        assert rows[vol]["in_use_by"], rows[vol]
        exc = await refused(client, "pods.create", {"name": unique("bad"), "volumes": [
            {"source": "rel/path", "destination": "/x"}]})
        assert exc.code == "invalid-params", exc
    finally:
        await podman(world, "pod", "rm", "-f", "--ignore", pod, check=False)
        await podman(world, "volume", "rm", "-f", vol, check=False)


async def test_image_history_is_podmans(world: Any, client: BridgeClient) -> None:
    layers = await client.call("images.history", {"name": IMAGE})
    theirs = json.loads(await podman(world, "history", "--format", "json", IMAGE))
    assert [x["id"] for x in layers] == [x["id"] for x in theirs]
    # Podman's JSON (entities.ImageHistoryLayer) names it "CreatedBy", and omits it empty.
    assert [x["created_by"] for x in layers] == [x.get("CreatedBy", "") for x in theirs]
    assert [x["size"] for x in layers] == [x["size"] for x in theirs]
    assert all(x["created"] and x["created"].endswith("Z") for x in layers), layers
    exc = await refused(client, "images.history", {"name": "localhost/podbridge/nope:1"})
    assert exc.code == "not-found"


async def test_create_for_a_rootless_owner_lands_in_their_podman(users_world: World,
                                                                 tmp_path: Path) -> None:
    w, name, limited = users_world, unique("mine"), unique("mine-limited")
    pod, member = unique("mypod"), unique("mypod-m")
    try:
        async with world_client(w, None, tmp_path / "root-bridge.log") as client:
            for _ in range(300):
                if {o["user"] for o in await client.call("owners.list")} >= {"alice"}:
                    break
                await asyncio.sleep(0.1)
            made = await client.call("containers.create", {
                "image": SLEEP, "name": name, "tty": True, "owner": "alice"})
            assert made["name"] == name
            mine = json.loads(w.run_as("alice", ["podman", "inspect", name]).stdout)[0]
            assert mine["Config"]["Tty"] is True and mine["State"]["Running"] is True
            assert w.run_as("bob", ["podman", "container", "exists", name],
                            check=False).returncode == 1
            assert w.podman("container", "exists", name, check=False).returncode == 1
            # A --new unit for it goes to alice's user manager, which runs it.
            done = await client.call("units.install", {
                "name": name, "format": "systemd", "new": True, "enable": True,
                "start": True, "owner": "alice"})
            unit = done["installed"][0]["unit"]
            assert done["user"] == "alice" and unit == f"container-{name}.service", done
            state = w.run_as("alice", ["systemctl", "--user", "is-active", unit],
                             check=False).stdout.strip()
            assert state == "active", state
            await client.call("units.remove", {"unit": unit, "owner": "alice", "force": True})
            # A memory limit for a rootless owner: applied, or Podman's warning that it is
            # not (a rootless Podman on cgroup v1 ignores limits) -- never silently lost.
            made = await client.call("containers.create", {
                "image": SLEEP, "name": limited, "owner": "alice", "start": False,
                "limits": {"memory": 64 * MiB}})
            got = json.loads(w.run_as("alice", ["podman", "inspect", limited]).stdout)[0]
            applied = got["HostConfig"]["Memory"] == 64 * MiB
            warned = any("limit" in x.lower() for x in made.get("warnings", []))
            print(f"\nrootless memory limit: applied={applied}, warnings={made.get('warnings')}")
            assert applied or warned, (got["HostConfig"]["Memory"], made)
            # A rootless pod paused: done, or refused as this host's limit (not-supported)
            # exactly when Podman's own CLI refuses it too.
            await client.call("pods.create", {"name": pod, "owner": "alice"})
            await client.call("containers.create", {"image": SLEEP, "name": member,
                                                    "pod": pod, "owner": "alice"})
            cli = w.run_as("alice", ["podman", "pause", member], check=False)
            if cli.returncode == 0:
                w.run_as("alice", ["podman", "unpause", member])
            try:
                await client.call("pods.pause", {"name": pod, "owner": "alice"})
                paused = True
            except BridgeError as exc:
                print(f"rootless pod pause: {exc.code}: {exc.message}")
                assert exc.code == "not-supported", exc
                paused = False
            assert paused == (cli.returncode == 0), cli.stderr
            if paused:
                inspect_pod = w.run_as("alice", ["podman", "pod", "inspect", "--format",
                                                 "{{.State}}", pod])
                assert inspect_pod.stdout.strip() == "Paused"
    finally:
        for n in (name, limited):
            w.run_as("alice", ["podman", "rm", "-f", "--ignore", n], check=False)
        w.run_as("alice", ["podman", "pod", "rm", "-f", "--ignore", pod], check=False)
