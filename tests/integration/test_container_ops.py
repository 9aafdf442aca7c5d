"""containers.commit / checkpoint / restore / details / healthcheck against a real Podman
(both flavours): the image a commit makes runs, a health check run lands in the log the
details show, and checkpoint/restore either work or say clearly why they cannot here."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1
from tests.helpers import unique
from tests.integration.bridgefix import refused
from tests.integration.worldbridge import world_client


async def read(client: BridgeClient, name: str, path: str) -> str:
    stream = await client.stream("containers.exec", {
        "name": name, "tty": False, "command": ["sh", "-c", f"cat {path} 2>/dev/null"]})
    return "".join([d["output"] async for d in stream])


async def model_state(client: BridgeClient, name: str, state: str) -> None:
    seen = None
    for _ in range(200):
        snap = await client.call("state.get")
        seen = next((c["state"] for c in snap["containers"] if c["name"] == name), None)
        if seen == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} is {seen} in the live model, not {state}")


async def remove(client: BridgeClient, *names: str) -> None:
    for name in names:
        try:
            await client.call("containers.remove", {"name": name, "force": True,
                                                    "volumes": True})
        except BridgeError as exc:
            assert exc.code == "not-found", exc


async def test_commit_makes_an_image_that_runs(world: World, client: BridgeClient) -> None:
    name, again, repo = unique("commit"), unique("fromcommit"), unique("committed")
    await client.call("containers.create", {
        "image": HTTPD_V1, "name": name,
        "command": ["sh", "-c", "echo made-inside > /marker; exec sleep 1000"]})
    try:
        for _ in range(200):
            if await read(client, name, "/marker") == "made-inside\n":
                break
            await asyncio.sleep(0.05)
        made = await client.call("containers.commit", {
            "name": name, "repo": repo, "tag": "t1", "author": "Ada <ada@example.org>",
            "message": "a snapshot", "command": ["cat", "/marker"], "pause": True,
            "format": "docker"})
        assert made["image"] == f"localhost/{repo}:t1" and len(made["id"]) == 64, made
        image = await client.call("images.inspect", {"name": made["image"]})
        assert image["Author"] == "Ada <ada@example.org>"
        assert image["Comment"] == "a snapshot"
        assert image["Config"]["Cmd"] == ["cat", "/marker"]
        # The container's writable layer is in the image: a container of it prints it.
        await client.call("containers.create", {"image": made["image"], "name": again})
        lines: list[str] = []
        for _ in range(400):
            lines = [x["text"] for x in
                     (await client.call("containers.logs", {"name": again}))["lines"]]
            if lines:
                break
            await asyncio.sleep(0.05)
        assert lines == ["made-inside"], lines
        # Paused while committing, then running again.
        assert (await client.call("containers.inspect", {"name": name}))["State"]["Running"]
        # Bad input is refused whole; an unknown container is not found.
        assert (await refused(client, "containers.commit",
                              {"name": name, "repo": "Not A Name"})).code == "invalid-params"
        assert (await refused(client, "containers.commit",
                              {"name": name, "repo": repo, "command": []})).code \
            == "invalid-params"
        err = await refused(client, "containers.commit",
                            {"name": name, "repo": repo, "message": "m", "format": "oci"})
        assert err.code == "invalid-params" and "docker" in err.message, err
        assert (await refused(client, "containers.commit",
                              {"name": unique("nobody"), "repo": repo})).code == "not-found"
    finally:
        await remove(client, again, name)
        try:
            await client.call("images.remove", {"name": f"localhost/{repo}:t1", "force": True})
        except BridgeError as exc:
            assert exc.code == "not-found", exc


async def test_details_and_health_check_runs(world: World, client: BridgeClient) -> None:
    good, bad, plain, vol = unique("hc-good"), unique("hc-bad"), unique("plain"), unique("v")
    data = (await world.arun(["mktemp", "-d"])).stdout.strip()
    await client.call("containers.create", {
        "image": HTTPD_V1, "name": good, "command": ["sleep", "1000"],
        "env": {"GREETING": "hello world", "EMPTY": ""},
        "volumes": [{"source": data, "destination": "/data", "read_only": True},
                    {"source": vol, "destination": "/vol"}],
        "health": {"command": "echo ok from $HOSTNAME", "interval": 3600, "retries": 1}})
    await client.call("containers.create", {
        "image": HTTPD_V1, "name": bad, "command": ["sleep", "1000"],
        "health": {"command": ["sh", "-c", "echo broken; exit 3"], "interval": 3600,
                   "retries": 1}})
    await client.call("containers.create", {"image": HTTPD_V1, "name": plain,
                                            "command": ["sleep", "1000"]})
    try:
        details = await client.call("containers.details", {"name": good})
        env = {e["name"]: e["value"] for e in details["env"]}
        assert env["GREETING"] == "hello world" and env["EMPTY"] == ""
        mounts = {m["destination"]: m for m in details["mounts"]}
        assert mounts["/data"]["type"] == "bind" and mounts["/data"]["source"] == data
        assert mounts["/data"]["read_only"] is True
        assert mounts["/vol"]["type"] == "volume" and mounts["/vol"]["name"] == vol
        assert mounts["/vol"]["read_only"] is False
        health = details["health"]
        assert health["test"] == ["CMD-SHELL", "echo ok from $HOSTNAME"]
        assert health["interval"] == 3600 and health["retries"] == 1
        before = len(health["log"])

        ran = await client.call("containers.healthcheck", {"name": good})
        assert ran["status"] == "healthy" and ran["failing_streak"] == 0, ran
        health = (await client.call("containers.details", {"name": good}))["health"]
        assert health["status"] == "healthy" and len(health["log"]) >= min(before + 1, 5)
        assert health["log"] == ran["log"]
        last = health["log"][-1]
        assert last["exit_code"] == 0 and last["output"].startswith("ok from ")
        assert last["start"] and last["end"] and last["end"] >= last["start"][:19]

        ran = await client.call("containers.healthcheck", {"name": bad})
        assert ran["status"] == "unhealthy" and ran["failing_streak"] >= 1, ran
        last = ran["log"][-1]
        # Podman logs a failed run as exit code 1, whatever the command exited with.
        assert last["exit_code"] == 1 and "broken" in last["output"], last

        assert (await client.call("containers.details", {"name": plain}))["health"] is None
        err = await refused(client, "containers.healthcheck", {"name": plain})
        assert err.code == "not-supported" and "no health check" in err.message
        await client.call("containers.stop", {"name": good, "timeout": 0})
        err = await refused(client, "containers.healthcheck", {"name": good})
        assert err.code == "conflict" and "not running" in err.message, err
        assert (await refused(client, "containers.details",
                              {"name": unique("nobody")})).code == "not-found"
    finally:
        await remove(client, good, bad, plain)
        await asyncio.to_thread(world.podman, "volume", "rm", "-f", vol, check=False)
        await world.arun(["rm", "-rf", data])


COUNTER = ["sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /n; sleep 0.2; done"]


async def criu_state(world: World) -> int:
    """0: CRIU works here; 127: there is none; else: it is there and fails (`criu check`)."""
    probe = await world.arun(["sh", "-c", "command -v criu >/dev/null || exit 127; "
                                          "criu check"], check=False)
    return probe.returncode


async def test_checkpoint_and_restore_or_why_not(world: World, client: BridgeClient) -> None:
    """Whatever this host's CRIU can do: with a working CRIU the container stops and comes
    back with its memory; with a CRIU that fails (too old for the kernel) Podman's error
    comes back, with where CRIU's log is, and the container runs on."""
    name, idle = unique("ckpt"), unique("ckpt-idle")
    criu = await criu_state(world)
    await client.call("containers.create", {"image": HTTPD_V1, "name": name,
                                            "command": COUNTER})
    await client.call("containers.create", {"image": HTTPD_V1, "name": idle,
                                            "command": ["sleep", "1000"], "start": False})
    try:
        assert (await client.call("containers.checkpoint_support", {"name": name})
                )["supported"] in (True, None)
        assert (await refused(client, "containers.checkpoint",
                              {"name": unique("nobody")})).code == "not-found"
        assert (await refused(client, "containers.restore",
                              {"name": name, "bogus": 1})).code == "invalid-params"
        if criu == 127:
            pytest.skip("no CRIU in this world: test_checkpoint_without_criu covers it")
        # Never checkpointed: nothing to restore; not running: nothing to checkpoint.
        err = await refused(client, "containers.restore", {"name": idle})
        assert err.code == "conflict" and "checkpoint" in err.message, err
        err = await refused(client, "containers.checkpoint", {"name": idle})
        assert err.code == "conflict", err
        if criu != 0:
            err = await refused(client, "containers.checkpoint", {"name": name})
            assert err.code == "failed" and "CRIU failed" in err.message, err
            assert err.message.endswith("/userdata/dump.log)"), err
            assert (await client.call("containers.checkpoint_support", {"name": name})
                    )["supported"] is None
        else:
            count = 0
            while count < 10:     # 2 s of counting: more than a fresh start reaches at once
                count = int(await read(client, name, "/n") or 0)
                await asyncio.sleep(0.1)
            # Left running: a checkpoint on disk, the container goes on.
            await client.call("containers.checkpoint", {"name": name, "leave_running": True,
                                                        "keep": True})
            assert (await client.call("containers.inspect", {"name": name}))["State"]["Running"]
            assert not (await client.call("containers.details", {"name": name}))["checkpointed"]
            err = await refused(client, "containers.restore", {"name": name})
            assert err.code == "conflict" and "running" in err.message, err
            await client.call("containers.checkpoint", {"name": name})
            info = await client.call("containers.inspect", {"name": name})
            assert not info["State"]["Running"]
            assert (await client.call("containers.details", {"name": name}))["checkpointed"]
            # The live model follows (Podman's checkpoint event says no state: the bridge
            # reads it after, as container.state).
            await model_state(client, name, "exited")
            await client.call("containers.restore", {"name": name, "keep": True})
            assert (await client.call("containers.inspect", {"name": name})
                    )["State"]["Running"]
            await model_state(client, name, "running")
            # Its memory came back: the loop counts on from where it was, not from 1.
            assert int(await read(client, name, "/n")) >= count
            assert not (await client.call("containers.details", {"name": name}))["checkpointed"]
        # Whatever CRIU did, the container runs on (a failed checkpoint leaves it be).
        assert (await client.call("containers.inspect", {"name": name}))["State"]["Running"]
    finally:
        await remove(client, name, idle)


@pytest.mark.flavours("debian13", why="hides the world's criu, which only a world with a root "
                      "of its own may do (debian12 boots the machine's own root on Debian 12)")
async def test_checkpoint_without_criu(world: World, client: BridgeClient) -> None:
    """Podman without CRIU: not-supported, and the panel is told before the next try
    (checkpoint_support false, with the reason). A world with its own root (an overlay of
    its own) hides its criu for the test; the machine's own is never touched."""
    if world.flavour.uses_host_root():
        pytest.skip("this world runs on the machine's own root: its criu stays")
    criu = await criu_state(world)
    path = (await world.arun(["sh", "-c", "command -v criu || true"])).stdout.strip()
    name, idle = unique("nocriu"), unique("nocriu-idle")
    await client.call("containers.create", {"image": HTTPD_V1, "name": name,
                                            "command": COUNTER})
    await client.call("containers.create", {"image": HTTPD_V1, "name": idle,
                                            "command": ["sleep", "1000"], "start": False})
    if path:
        await world.arun(["mv", path, f"{path}.hidden"])
    try:
        err = await refused(client, "containers.checkpoint", {"name": name, "keep": True})
        assert err.code == "not-supported" and "CRIU is not installed" in err.message, err
        known = await client.call("containers.checkpoint_support", {"name": name})
        assert known["supported"] is False and "install the criu package" in known["reason"]
        # Known now: refused before Podman is asked, restore too.
        err = await refused(client, "containers.restore", {"name": idle})
        assert err.code == "not-supported" and "criu" in err.message, err
        assert (await client.call("containers.inspect", {"name": name}))["State"]["Running"]
    finally:
        if path:
            await world.arun(["mv", f"{path}.hidden", path])
        await remove(client, name, idle)
    assert await criu_state(world) == criu


async def test_owner_commits_but_cannot_checkpoint(users_world: World, tmp_path: Path) -> None:
    """A root bridge routes the new methods to the user's rootless Podman: commit and
    details work there; checkpoint is refused as rootful-only before Podman is asked."""
    name, repo = unique("mine"), unique("usercommit")
    try:
        async with world_client(users_world, None, tmp_path / "root-bridge.log") as client:
            await client.call("containers.create", {
                "image": HTTPD_V1, "name": name, "owner": "alice", "env": {"WHO": "alice"},
                "command": ["sleep", "1000"]})
            details = await client.call("containers.details", {"name": name,
                                                               "owner": "alice"})
            assert {"name": "WHO", "value": "alice"} in details["env"]
            made = await client.call("containers.commit", {"name": name, "owner": "alice",
                                                           "repo": repo})
            images = await client.call("images.list", {"owner": "alice"})
            assert any(f"localhost/{repo}:latest" in i["names"] for i in images), made
            assert not any(f"localhost/{repo}:latest" in i["names"]
                           for i in await client.call("images.list"))
            known = await client.call("containers.checkpoint_support",
                                      {"name": name, "owner": "alice"})
            assert known["supported"] is False and "rootful" in known["reason"]
            err = await refused(client, "containers.checkpoint", {"name": name,
                                                                  "owner": "alice"})
            assert err.code == "not-supported" and "rootful" in err.message
            assert (await refused(client, "containers.details", {"name": name})).code \
                == "not-found"
    finally:
        users_world.run_as("alice", ["podman", "rm", "-f", "--ignore", name])
        users_world.run_as("alice", ["podman", "rmi", "--ignore", f"localhost/{repo}:latest"])
