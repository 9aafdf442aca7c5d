"""containers.create records the ``podman create`` command line (Config.CreateCommand), as
Podman's CLI does: the real CLI run with it makes the same container; a ``--new`` unit
generated from it runs ``podman run ... --replace``; and the real ``podman auto-update``
replaces the container that unit runs when its image changes."""

from __future__ import annotations

import json
from typing import Any

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, SLEEP
from tests.helpers import free_port, unique
from tests.integration.bridgefix import refused

# PID 1 of a container ignores SIGTERM unless it traps it: stop then takes a second, not 10.
QUICK_STOP = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]


def inspect(world: World, name: str) -> dict[str, Any]:
    info: dict[str, Any] = json.loads(world.podman("inspect", name).stdout)[0]
    return info


def same_parts(info: dict[str, Any], port: int) -> dict[str, Any]:
    """What the two containers must share (not their names, IDs or create commands; nor
    the host port Podman picks for a port given without one)."""
    config, host = info["Config"], info["HostConfig"]
    ports = {key: [{**b, "HostPort": b["HostPort"] if b["HostPort"] == str(port) else "picked"}
                   for b in binds] for key, binds in host["PortBindings"].items()}
    return {
        "image": info["ImageName"], "env": sorted(config["Env"]), "labels": config["Labels"],
        "cmd": config["Cmd"], "entrypoint": config["Entrypoint"],
        "health": config.get("Healthcheck"),
        "on_failure": config.get("HealthcheckOnFailureAction"), "restart": host["RestartPolicy"],
        "ports": ports, "pod": bool(info["Pod"]), "tty": config["Tty"],
        "limits": (host["Memory"], host["CpuShares"], host["NanoCpus"], host["CpuQuota"],
                   host["CpuPeriod"]),
        "mounts": sorted((m["Type"], m.get("Name", ""), m["Source"] if m["Type"] == "bind"
                          else "", m["Destination"], m["RW"]) for m in info["Mounts"]),
    }


async def test_the_recorded_command_makes_the_same_container(
        world: World, gen_client: BridgeClient) -> None:
    name, again, vol = unique("cc"), unique("cc-cli"), unique("ccvol")
    data = (await world.arun(["mktemp", "-d"])).stdout.strip()
    port = free_port()
    try:
        await gen_client.call("containers.create", {
            "image": HTTPD_V1, "name": name, "start": False,
            "command": ["echo 'a b'", "$HOME", "--not-a-flag"],
            "entrypoint": ["/bin/sh", "-c"],
            "ports": [{"host_port": port, "container_port": 80, "host_ip": "127.0.0.1"},
                      {"container_port": 8080, "protocol": "udp"}],
            "env": {"GREETING": "hello world", "RATE": "100%", "EMPTY": ""},
            "volumes": [{"source": data, "destination": "/data", "read_only": True},
                        {"source": vol, "destination": "/vol"}],
            "restart_policy": "on-failure", "restart_retries": 3,
            "labels": {"team": "web shop"}, "auto_update": "local",
            "health": {"command": "wget -q -O /dev/null http://127.0.0.1/ || exit 1",
                       "interval": 5, "timeout": 2.5, "retries": 2, "start_period": 1,
                       "on_failure": "stop"},
            "tty": True, "limits": {"memory": 96 * 1024 * 1024, "cpu_shares": 256, "cpus": 1.5},
        })
        made = inspect(world, name)
        command = made["Config"]["CreateCommand"]
        print("\nCreateCommand:", json.dumps(command))
        assert command[:2] == ["podman", "create"], command
        assert command[command.index("--name") + 1] == name
        # The real CLI, given that command line (under another name), makes the same container.
        words = list(command[1:])
        words[words.index("--name") + 1] = again
        world.podman(*words)
        assert same_parts(inspect(world, again), port) == same_parts(made, port)
        assert made["Config"]["Labels"]["io.containers.autoupdate"] == "local"
        # Podman's inspect carries the health check's action on failure, from the spec's
        # number and from the CLI's --health-on-failure alike.
        assert same_parts(made, port)["on_failure"] == "stop"
        assert same_parts(made, port)["tty"] is True
        assert same_parts(made, port)["limits"][:2] == (96 * 1024 * 1024, 256)
    finally:
        world.podman("rm", "-f", "--ignore", name, again, check=False)
        world.podman("volume", "rm", "-f", vol, check=False)
        await world.arun(["rm", "-rf", data])


async def test_a_new_unit_from_it_runs_and_podman_auto_update_replaces_it(
        world: World, gen_client: BridgeClient) -> None:
    """The Create dialog's "run it from a unit, with auto-update": containers.create (not
    started), then units.install with new=true: the unit runs `podman run ... --replace`;
    after a newer local image of its tag appears, Podman's own auto-update replaces it."""
    name = unique("ccau")
    image = f"localhost/podbridge/{name}:latest"
    unit = f"container-{name}.service"
    world.podman("tag", SLEEP, image)
    try:
        await gen_client.call("containers.create", {
            "image": image, "name": name, "command": QUICK_STOP, "auto_update": "local",
            "start": False})
        done = await gen_client.call("units.install", {
            "name": name, "format": "systemd", "new": True, "enable": True, "start": True})
        print("\nunits.install:", json.dumps(done))
        text = (world.unit_dir / unit).read_text()
        exec_start = text.split("ExecStart=", 1)[1].split("\nExecStop", 1)[0]
        print(exec_start)
        assert " run" in exec_start and "--replace" in exec_start, exec_start
        assert world.systemctl("is-active", unit, check=False).stdout.strip() == "active"
        first = inspect(world, name)
        assert first["State"]["Running"], first["State"]
        labels = first["Config"]["Labels"]
        assert labels["io.containers.autoupdate"] == "local", labels
        assert labels["PODMAN_SYSTEMD_UNIT"] == unit, labels

        fmt = "{{.Unit}} {{.Policy}} {{.Updated}}"
        dry = world.podman("auto-update", "--dry-run", "--format", fmt).stdout
        assert f"{unit} local false" in dry, dry
        # A newer local image of its tag: Podman's auto-update recreates the container.
        world.podman("tag", HTTPD_V1, image)
        out = world.podman("auto-update", "--format", fmt, timeout=300).stdout
        print(out)
        assert f"{unit} local true" in out, out
        now = inspect(world, name)
        assert now["Id"] != first["Id"] and now["Image"] != first["Image"]
        assert now["State"]["Running"], now["State"]
        assert world.systemctl("is-active", unit, check=False).stdout.strip() == "active"
    finally:
        world.systemctl("disable", "--now", unit, check=False)
        (world.unit_dir / unit).unlink(missing_ok=True)
        world.systemctl("daemon-reload")
        world.systemctl("reset-failed", check=False)
        world.podman("rm", "-f", "--ignore", name, check=False)
        world.podman("rmi", "-f", image, check=False)


async def test_a_path_the_cli_cannot_say_leaves_no_create_command(
        world: World, gen_client: BridgeClient) -> None:
    """A bind mount whose path has ':' and ',' cannot be given to `podman create` (-v splits
    on ':', --mount on ','): the container is made without a create command, and a --new
    unit for it is refused as not-supported (the panel then installs a unit that starts it)."""
    name = unique("ccpath")
    base = (await world.arun(["mktemp", "-d"])).stdout.strip()
    odd = f"{base}/a:b,c"
    await world.arun(["mkdir", odd])
    try:
        await gen_client.call("containers.create", {
            "image": SLEEP, "name": name, "start": False,
            "volumes": [{"source": odd, "destination": "/data"}]})
        info = inspect(world, name)
        assert not info["Config"].get("CreateCommand"), info["Config"].get("CreateCommand")
        assert any(m["Source"] == odd for m in info["Mounts"]), info["Mounts"]
        exc = await refused(gen_client, "units.generate", {"name": name, "new": True})
        assert exc.code == "not-supported" and "create command" in exc.message
    finally:
        world.podman("rm", "-f", "--ignore", name, check=False)
        await world.arun(["rm", "-rf", base])
