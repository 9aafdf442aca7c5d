"""images.*, pods.*, volumes.*, system.* and units.journal against the real world: a real
registry to pull from, Podman's own answers to compare with, the world's journal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox.images import HTTPD_V1
from tests.helpers import unique
from tests.integration.bridgefix import base_url, refused, start_bridge, until_stopped

IMAGE = "localhost/podbridge/httpd:v1"


async def podman(world: Any, *args: str, check: bool = True) -> str:
    done = await asyncio.to_thread(world.podman, *args, check=check)
    return str(done.stdout)


async def test_images_list_inspect_history(world: Any, client: BridgeClient) -> None:
    name = unique("user")
    await client.call("containers.create", {"image": IMAGE, "name": name, "start": False})
    try:
        rows = await client.call("images.list")
        row = next(r for r in rows if IMAGE in r["names"])
        assert name in row["in_use_by"] and row["size"] > 0 and not row["dangling"]
        image_id = (await podman(world, "image", "inspect", "--format", "{{.Id}}",
                                 IMAGE)).strip()
        assert row["id"] == image_id
        info = await client.call("images.inspect", {"name": IMAGE})
        assert info["Id"] == image_id
        layers = await client.call("images.history", {"name": IMAGE})
        assert layers and all("created_by" in x for x in layers)
        exc = await refused(client, "images.inspect", {"name": "localhost/podbridge/nope:1"})
        assert exc.code == "not-found"
    finally:
        await client.call("containers.remove", {"name": name, "force": True})


async def test_pull_with_progress_then_remove(world: Any, client: BridgeClient) -> None:
    ref = f"{world.registry}/podbridge/{unique('pulled')}:latest"
    await podman(world, "push", "--quiet", "--tls-verify=false", IMAGE, ref)
    try:
        stream = await client.stream("images.pull", {"reference": ref, "tls_verify": False,
                                                     "progress": True})
        items = [item async for item in stream]
        assert stream.end is not None and stream.end["reason"] == "eof", stream.end
        progress = "".join(i.get("progress", "") for i in items)
        assert "Copying" in progress and "Writing manifest" in progress, progress
        phases = [i["phase"] for i in items if "phase" in i]
        assert phases[0] == "resolve" and "copy" in phases and phases[-1] == "write", phases
        assert max(i.get("blobs", 0) for i in items) >= 1
        assert items[-1]["reference"] == ref and len(items[-1]["id"]) == 64
        names = [n for r in await client.call("images.list") for n in r["names"]]
        assert ref in names
        # Without progress: one answer, once pulled.
        again = await client.call("images.pull", {"reference": ref, "tls_verify": False})
        assert again == {"id": items[-1]["id"], "reference": ref}
        removed = await client.call("images.remove", {"name": ref})
        assert ref in removed["untagged"]
        names = [n for r in await client.call("images.list") for n in r["names"]]
        assert ref not in names
    finally:
        await podman(world, "rmi", "--ignore", ref, check=False)
    # A pull that fails after Podman's 200: the stream ends with the registry's error.
    stream = await client.stream("images.pull", {"reference": ref + "-missing",
                                                 "tls_verify": False, "progress": True})
    _ = [item async for item in stream]
    assert stream.end is not None and stream.end["reason"] == "error", stream.end
    assert stream.end["error"]["message"].startswith(f"pull {ref}-missing")


async def test_remove_in_use_image_is_a_conflict_and_prune(world: Any,
                                                           client: BridgeClient) -> None:
    name, user = unique("holder"), unique("dangling-user")
    await client.call("containers.create", {"image": IMAGE, "name": name, "start": False,
                                            "command": ["true"]})
    try:
        # A dangling image: a commit without a name; a container uses it.
        dangling = (await podman(world, "commit", "--quiet", name)).strip()
        rows = {r["id"]: r for r in await client.call("images.list")}
        assert rows[dangling]["dangling"] and rows[dangling]["names"] == []
        await client.call("containers.create", {"image": dangling, "name": user,
                                                "start": False, "command": ["true"]})
        exc = await refused(client, "images.remove", {"name": dangling})
        assert exc.code == "conflict", exc
        # In use: prune leaves it.
        assert dangling not in (await client.call("images.prune"))["removed"]
        await client.call("containers.remove", {"name": user})
        pruned = await client.call("images.prune")
        assert dangling in pruned["removed"] and pruned["space_reclaimed"] >= 0
        rows = {r["id"]: r for r in await client.call("images.list")}
        assert dangling not in rows
        assert any(IMAGE in r["names"] for r in rows.values())
    finally:
        for n in (name, user):
            await podman(world, "rm", "-f", "--ignore", n, check=False)


async def pod_status(client: BridgeClient, pod: str) -> str:
    return str(next(p for p in await client.call("pods.list")
                    if p["name"] == pod)["status"])


async def test_pod_lifecycle(client: BridgeClient) -> None:
    pod, member = unique("pod"), unique("member")
    made = await client.call("pods.create", {"name": pod, "labels": {"app": "x"}})
    try:
        assert made["name"] == pod and made["id"]
        await client.call("containers.create", {"image": IMAGE, "name": member, "pod": pod,
                                                "start": False})
        row = next(p for p in await client.call("pods.list") if p["name"] == pod)
        assert row["labels"]["app"] == "x" and row["infra_id"]
        await client.call("pods.start", {"name": pod})
        assert await pod_status(client, pod) == "Running"
        await client.call("pods.stop", {"name": pod, "timeout": 2})
        assert await pod_status(client, pod) in ("Exited", "Stopped")
        await client.call("pods.restart", {"name": pod, "timeout": 2})
        assert await pod_status(client, pod) == "Running"
        member_state = (await client.call("containers.inspect", {"name": member}))["State"]
        assert member_state["Running"]
        exc = await refused(client, "pods.create", {"name": pod})
        assert exc.code == "conflict", exc
        await client.call("pods.remove", {"name": pod, "force": True})
        assert pod not in [p["name"] for p in await client.call("pods.list")]
    finally:
        try:
            await client.call("pods.remove", {"name": pod, "force": True})
        except BridgeError as exc:
            assert exc.code == "not-found"
    assert (await refused(client, "pods.start", {"name": pod})).code == "not-found"


async def test_volumes_list_and_remove(world: Any, client: BridgeClient) -> None:
    vol, name = unique("vol"), unique("voluser")
    await podman(world, "volume", "create", "--label", "k=v", vol)
    try:
        row = next(v for v in await client.call("volumes.list") if v["name"] == vol)
        assert row["in_use_by"] == [] and row["labels"] == {"k": "v"} and row["mountpoint"]
        await client.call("containers.create", {"image": IMAGE, "name": name, "start": False,
                                                "volumes": [{"source": vol,
                                                             "destination": "/v"}]})
        row = next(v for v in await client.call("volumes.list") if v["name"] == vol)
        assert row["in_use_by"] == [name]
        exc = await refused(client, "volumes.remove", {"name": vol})
        assert exc.code == "conflict", exc
        await client.call("containers.remove", {"name": name, "force": True})
        await client.call("volumes.remove", {"name": vol})
        assert vol not in [v["name"] for v in await client.call("volumes.list")]
    finally:
        await podman(world, "rm", "-f", "--ignore", name, check=False)
        await podman(world, "volume", "rm", "-f", vol, check=False)


async def test_system_info_and_df(world: Any, client: BridgeClient) -> None:
    # An image with a second tag: Podman's df lists it twice, it is still one image.
    extra = f"localhost/podbridge/df-{unique('tag')}:two"
    await asyncio.to_thread(world.podman, "tag", HTTPD_V1, extra)
    try:
        info = await client.call("system.info")
        assert info["version"] == world.podman_version()
        assert info["cpus"] >= 1 and info["mem_total"] > 0 and info["kernel"]
        assert info["images"] >= 3 and info["containers"]["total"] >= 0
        df = await client.call("system.df")
        assert df["images"]["total"] == info["images"]
        assert df["images"]["size"] > 0
        assert set(df) == {"images", "containers", "volumes"}
    finally:
        await asyncio.to_thread(world.podman, "untag", HTTPD_V1, extra)


# -- units.journal -------------------------------------------------------------------

@pytest.fixture
async def journal_bridge(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                         ) -> AsyncIterator[BridgeClient]:
    """A bridge whose journalctl reads the world's journal (its namespaces, its root)."""
    reader = ["nsenter", "-t", str(world.pid1), "-m", "-p", "-r", "-w", "--", "journalctl"]
    async with until_stopped(start_bridge(world, tmp_path / "state", monkeypatch,
                                          journalctl=reader)) as b:
        async with BridgeClient(base_url(b), b.token) as c:
            yield c


def write_unit(world: Any, name: str, body: str) -> Path:
    path = Path(world.unit_dir) / name
    path.write_text(body)
    return path


async def test_journal_of_a_unit_tail_and_follow(world: Any, flavour: str,
                                                 journal_bridge: BridgeClient) -> None:
    client = journal_bridge
    unit = unique("talker") + ".service"
    path = write_unit(world, unit, "[Service]\nExecStart=/bin/sh -c 'i=0; while true; do "
                      "echo said $i; i=$((i+1)); sleep 0.2; done'\n")
    try:
        await asyncio.to_thread(world.systemctl, "daemon-reload")
        await client.call("units.start", {"name": unit})
        if flavour == "debian12":
            # No journald in this world: a clear refusal, for the tail and the follow.
            for follow in (False, True):
                with pytest.raises(BridgeError) as exc:
                    await client.call("units.journal", {"name": unit, "follow": follow})
                assert exc.value.code == "not-supported"
                assert "keeps no journal" in exc.value.message
            return
        entries: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while len([e for e in entries if e["message"].startswith("said ")]) < 3:
            assert loop.time() < deadline, entries
            entries = (await client.call("units.journal", {"name": unit, "tail": 5}))["entries"]
            await asyncio.sleep(0.2)
        assert len(entries) <= 5 and all(e["time"] and e["pid"] for e in entries
                                         if e["message"].startswith("said "))
        stream = await client.stream("units.journal", {"name": unit, "tail": 0,
                                                       "follow": True})
        seen: list[str] = []
        async for item in stream:
            seen += [e["message"] for e in item["entries"]]
            if len([m for m in seen if m.startswith("said ")]) >= 3:
                break
        last = max(int(e["message"].split()[1]) for e in entries
                   if e["message"].startswith("said "))
        assert int([m for m in seen if m.startswith("said ")][-1].split()[1]) > last
        await stream.close()
        assert stream.end is None or stream.end["reason"] == "closed"
    finally:
        await asyncio.to_thread(world.systemctl, "stop", unit, check=False)
        path.unlink()
        await asyncio.to_thread(world.systemctl, "daemon-reload")
