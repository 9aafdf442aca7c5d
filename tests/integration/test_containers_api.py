"""containers.create / remove / pause / unpause / rename against a real Podman: what was
asked is what Podman made (its own inspect says so), and bad input is refused whole."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from tests.helpers import free_port, unique
from tests.integration.bridgefix import refused, wait_for

IMAGE = "localhost/podbridge/httpd:v1"


async def inspect(client: BridgeClient, name: str) -> dict[str, Any]:
    result: dict[str, Any] = await client.call("containers.inspect", {"name": name})
    return result


async def test_create_with_everything(world: Any, client: BridgeClient) -> None:
    name, vol = unique("made"), unique("vol")
    port = free_port()
    # A folder as Podman's host sees it (a debian13 world has a root of its own).
    data = (await world.arun(["mktemp", "-d"])).stdout.strip()
    made = await client.call("containers.create", {
        "image": IMAGE, "name": name,
        "ports": [{"host_port": port, "container_port": 80, "host_ip": "127.0.0.1"},
                  {"container_port": 8080, "protocol": "udp"}],
        "env": {"GREETING": "hello world", "PORT": "80"},
        "volumes": [{"source": data, "destination": "/data", "read_only": True},
                    {"source": vol, "destination": "/vol"}],
        "restart_policy": "on-failure", "restart_retries": 3,
        "labels": {"team": "web"}, "auto_update": "registry",
        "health": {"command": ["/bin/healthcheck"], "interval": 5, "retries": 2},
    })
    try:
        assert made["name"] == name and len(made["id"]) == 64
        info = await inspect(client, name)
        assert info["State"]["Running"] is True
        config, host = info["Config"], info["HostConfig"]
        assert config["Labels"]["io.containers.autoupdate"] == "registry"
        assert config["Labels"]["team"] == "web"
        assert "GREETING=hello world" in config["Env"]
        assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        assert host["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1",
                                                   "HostPort": str(port)}]
        picked = host["PortBindings"]["8080/udp"][0]["HostPort"]
        assert picked.isdigit() and int(picked) > 0, host["PortBindings"]
        mounts = {m["Destination"]: m for m in info["Mounts"]}
        assert mounts["/data"]["Source"] == data and mounts["/data"]["RW"] is False
        assert mounts["/vol"]["Type"] == "volume" and mounts["/vol"]["Name"] == vol
        assert config["Healthcheck"]["Test"] == ["CMD", "/bin/healthcheck"]
        assert config["Healthcheck"]["Retries"] == 2
        # The bind mount is the host's folder, read-only, inside the running container.
        await world.arun(["sh", "-c", f"echo from the host > {data}/hello.txt"])
        stream = await client.stream("containers.exec", {
            "name": name, "tty": False,
            "command": ["sh", "-c", "cat /data/hello.txt; touch /data/x 2>/dev/null; "
                                    "echo rc=$?"]})
        out = "".join([d["output"] async for d in stream])
        assert out == "from the host\nrc=1\n", out
        # The live model saw it (the panel reads the model, not inspect): its events reach
        # the model a moment after the call's answer, so wait for that state.
        async def in_model() -> bool:
            snap = await client.call("state.get")
            return any(c["name"] == name and c["state"] == "running"
                       for c in snap["containers"])

        await wait_for(in_model, timeout=60, what=f"{name} running in the model", every=0.2)
    finally:
        await client.call("containers.remove", {"name": name, "force": True,
                                                "volumes": True})
        await asyncio.to_thread(world.podman, "volume", "rm", "-f", vol, check=False)
        await world.arun(["rm", "-rf", data])


async def test_create_without_start_and_in_a_pod(world: Any, client: BridgeClient) -> None:
    name, pod = unique("idle"), unique("pod")
    await client.call("pods.create", {"name": pod})
    try:
        await client.call("containers.create", {"image": IMAGE, "name": name, "pod": pod,
                                                "start": False,
                                                "command": ["sleep", "1000"]})
        info = await inspect(client, name)
        assert info["State"]["Status"] == "created"
        assert info["Pod"] and info["Config"]["Cmd"] == ["sleep", "1000"]
        pods = {p["name"]: p for p in await client.call("pods.list")}
        assert name in [c["name"] for c in pods[pod]["containers"]]
    finally:
        await client.call("pods.remove", {"name": pod, "force": True})
    with pytest.raises(BridgeError) as exc:
        await inspect(client, name)
    assert exc.value.code == "not-found"


async def test_pause_unpause_rename_remove(client: BridgeClient) -> None:
    name, new = unique("life"), unique("renamed")
    await client.call("containers.create", {"image": IMAGE, "name": name})
    try:
        exc = await refused(client, "containers.create", {"image": IMAGE, "name": name})
        assert exc.code == "conflict", exc
        await client.call("containers.pause", {"name": name})
        assert (await inspect(client, name))["State"]["Status"] == "paused"
        exc = await refused(client, "containers.pause", {"name": name})
        assert exc.code in ("failed", "conflict") and "paused" in exc.message
        await client.call("containers.unpause", {"name": name})
        assert (await inspect(client, name))["State"]["Status"] == "running"
        await client.call("containers.rename", {"name": name, "new_name": new})
        assert (await inspect(client, new))["Name"] == new
        with pytest.raises(BridgeError) as exc:
            await inspect(client, name)
        assert exc.value.code == "not-found"
        # Removing a running container needs force: a conflict that says so.
        exc = await refused(client, "containers.remove", {"name": new})
        assert exc.code == "conflict", exc.message
        assert (await inspect(client, new))["State"]["Running"]
        await client.call("containers.remove", {"name": new, "force": True})
        assert (await refused(client, "containers.remove", {"name": new})).code == "not-found"
    finally:
        for n in (name, new):
            try:
                await client.call("containers.remove", {"name": n, "force": True})
            except BridgeError:
                pass


@pytest.mark.parametrize("params, field", [
    ({"image": IMAGE, "restart_policy": "always", "restart_retries": 2}, "restart_retries"),
    ({"image": IMAGE, "volumes": [{"source": "/tmp", "destination": "rel"}]}, "destination"),
    ({"image": IMAGE, "volumes": [{"source": "a/b", "destination": "/x"}]}, "volumes"),
    ({"image": IMAGE, "name": "bad name"}, "name"),
    ({"image": IMAGE, "ports": [{"host_port": 0, "container_port": 80}]}, "host_port"),
    ({"image": IMAGE, "auto_update": "sometimes"}, "auto_update"),
    ({"image": IMAGE, "env": {"A=B": "c"}}, "env"),
    ({"image": IMAGE, "health": {"command": []}}, "health"),
    ({"image": IMAGE, "nope": 1}, "nope"),
])
async def test_create_refuses_bad_input(client: BridgeClient, params: dict[str, Any],
                                        field: str) -> None:
    before = {c["name"] for c in await client.call("containers.list")}
    exc = await refused(client, "containers.create", params)
    assert exc.code == "invalid-params" and field in exc.message, exc
    assert {c["name"] for c in await client.call("containers.list")} == before


async def test_create_of_a_missing_image_is_not_found(client: BridgeClient) -> None:
    exc = await refused(client, "containers.create", {"image": "localhost/podbridge/nope:1",
                                                      "name": unique("nope")})
    assert exc.code == "not-found", exc


async def test_roles_of_the_new_methods(client: BridgeClient) -> None:
    roles = {m["name"]: (m["role"], m["readonly"]) for m in await client.call("methods.list")}
    for name in ("containers.logs", "containers.stats", "images.list", "images.inspect",
                 "images.history", "pods.list", "volumes.list", "system.info", "system.df",
                 "units.journal"):
        assert roles[name] == ("viewer", True), name
    for name in ("containers.pause", "containers.unpause", "images.pull", "pods.start",
                 "pods.stop", "pods.restart"):
        assert roles[name] == ("operator", False), name
    for name in ("containers.create", "containers.remove", "containers.rename",
                 "containers.exec", "images.remove", "images.prune", "pods.create",
                 "pods.remove", "volumes.remove"):
        assert roles[name] == ("admin", False), name
