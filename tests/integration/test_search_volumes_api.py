"""images.search / images.registries against the world's real registry (the CNCF
distribution registry: no search API, so Podman lists its catalog), compared with `podman
search` on the same world; volumes.create / list / remove / prune, with their events."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox.images import SLEEP
from bridge.tasks import within
from tests import registry_support as rs
from tests.helpers import unique
from tests.integration.bridgefix import base_url, refused


async def podman(world: Any, *args: str, check: bool = True) -> str:
    done = await asyncio.to_thread(world.podman, *args, check=check)
    return str(done.stdout)


@pytest.fixture
async def pushed(world: Any) -> AsyncIterator[tuple[str, list[str]]]:
    """A unique word and three repositories in the world's registry: two whose name has
    it (one with two tags), one whose name does not."""
    word = unique("srch").replace("-", "")
    repos = [f"podbridge/{word}", f"other/{word}x", f"podbridge/nothing{word[::-1]}"]
    refs = [f"{world.registry}/{repos[0]}:v1", f"{world.registry}/{repos[0]}:v2",
            f"{world.registry}/{repos[1]}:latest", f"{world.registry}/{repos[2]}:latest"]
    for ref in refs:
        await podman(world, "push", "--quiet", SLEEP, ref)
    yield word, repos
    # The registry keeps them (no delete of repositories); only unique names were used.


async def test_search_a_registry_without_a_search_api(
        world: Any, client: BridgeClient, pushed: tuple[str, list[str]]) -> None:
    word, repos = pushed
    reg = world.registry
    found = await client.call("images.search", {"term": word, "registry": reg})
    assert found["term"] == f"{reg}/{word}" and found["registries"] == [reg]
    names = sorted(r["name"] for r in found["results"])
    # The catalog's repositories whose name contains the word; no description or stars.
    assert names == sorted(f"{reg}/{r}" for r in repos[:2]), found
    for r in found["results"]:
        assert r["index"] == reg and r["description"] == "" and r["stars"] == 0
        assert r["official"] is False and r["automated"] is False and r["tag"] is None
    # Podman's own CLI on the same world finds the same.
    cli = json.loads(await podman(world, "search", "--format", "json", f"{reg}/{word}"))
    assert sorted(r["Name"] for r in cli) == names
    # The same with the registry in the term; and case matters (a substring match).
    same = await client.call("images.search", {"term": f"{reg}/{word}"})
    assert sorted(r["name"] for r in same["results"]) == names
    upper = await client.call("images.search", {"term": word.upper(), "registry": reg})
    assert upper["results"] == []
    # limit applies to the matches, not to the catalog read.
    one = await client.call("images.search", {"term": word, "registry": reg, "limit": 1})
    assert len(one["results"]) == 1 and one["results"][0]["name"] in names
    # One repository's tags.
    tags = await client.call("images.search", {"term": f"{reg}/{repos[0]}",
                                               "list_tags": True})
    assert sorted(r["tag"] for r in tags["results"]) == ["v1", "v2"]
    assert {r["name"] for r in tags["results"]} == {f"{reg}/{repos[0]}"}


async def test_search_registries_and_errors(world: Any, bridge: Bridge,
                                            client: BridgeClient) -> None:
    # A viewer reads the registries but cannot aim the host at one: search is operator's.
    assert bridge.auth is not None
    token = bridge.auth.credentials.add(unique("viewer"), "viewer")
    async with BridgeClient(base_url(bridge), token) as viewer:
        assert (await viewer.call("images.registries"))["search"] == []
        exc = await refused(viewer, "images.search", {"term": "x", "registry": world.registry})
        assert exc.code == "access-denied", exc
    regs = await client.call("images.registries")
    # The world's registries.conf: no unqualified-search registry, its own registry insecure.
    assert regs["search"] == []
    mine = next(r for r in regs["configured"] if r["location"] == world.registry)
    assert mine["insecure"] is True and mine["blocked"] is False
    # A short name with nothing to search: Podman answers no results, and says where it
    # looked (nowhere).
    short = await client.call("images.search", {"term": "busybox"})
    assert short == {"term": "busybox", "registries": [], "results": []}
    # Tags of a repository the registry does not have: not-found.
    exc = await refused(client, "images.search", {"term": f"{world.registry}/podbridge/"
                                                  f"{unique('none')}", "list_tags": True})
    assert exc.code == "not-found", exc
    # list_tags needs a registry; a registry nobody serves fails with the reason, on one line.
    exc = await refused(client, "images.search", {"term": "busybox", "list_tags": True})
    assert exc.code == "invalid-params"
    with pytest.raises(BridgeError) as exc:
        await client.call("images.search", {"term": "x", "registry": "127.0.0.1:1"})
    assert exc.value.code == "failed" and "127.0.0.1:1" in exc.value.message
    assert "connection refused" in exc.value.message and "\n" not in exc.value.message
    # TLS forced on a plain-HTTP registry fails; registries.conf's insecure=true is then ignored.
    exc = await refused(client, "images.search", {"term": "x", "registry": world.registry,
                                                  "tls_verify": True})
    assert "HTTPS" in exc.message, exc
    for bad in ({"term": ""}, {"term": "a b"}, {"term": "x", "registry": "a/b"},
                {"term": "x", "limit": 0}, {"term": "x", "limit": 101}):
        exc = await refused(client, "images.search", bad)
        assert exc.code == "invalid-params", bad


async def test_volumes_create_list_remove_prune_with_events(
        world: Any, bridge: Bridge, client: BridgeClient) -> None:
    vol, spare, user = unique("vol"), unique("spare"), unique("voluser")
    since = bridge.bus.seq
    seen: list[tuple[str, str]] = []

    async def watch() -> None:
        async for ev in client.events(["volume.*"], since=since):
            seen.append((ev["type"], ev["subject"]))
            if (ev["type"], ev["subject"]) == ("volume.remove", vol):
                return

    task = asyncio.create_task(watch())
    try:
        made = await client.call("volumes.create", {"name": vol, "labels": {"app": "db"}})
        assert made["name"] == vol and made["driver"] == "local" and made["mountpoint"]
        assert made["labels"] == {"app": "db"} and made["in_use_by"] == [] and made["created"]
        inspect = json.loads(await podman(world, "volume", "inspect", vol))[0]
        assert inspect["Labels"] == {"app": "db"} and inspect["Driver"] == "local"
        exc = await refused(client, "volumes.create", {"name": vol})
        assert exc.code == "conflict", exc
        for bad in ({"name": "-x"}, {"name": "a/b"}, {"labels": {"a=b": "c"}},
                    {"name": vol + "y", "driver": "no such driver"}):
            exc = await refused(client, "volumes.create", bad)
            assert exc.code == "invalid-params", bad
        exc = await refused(client, "volumes.create", {"name": vol + "y", "driver": "nodriver"})
        assert exc.code == "failed" and "nodriver" in exc.message, exc
        # Unnamed: Podman picks the name.
        anon = await client.call("volumes.create", {})
        assert len(anon["name"]) == 64
        await client.call("volumes.create", {"name": spare})
        await client.call("containers.create", {"image": SLEEP, "name": user, "start": False,
                                                "volumes": [{"source": vol,
                                                             "destination": "/data"}]})
        rows = {v["name"]: v for v in await client.call("volumes.list")}
        assert rows[vol]["in_use_by"] == [user] and rows[spare]["in_use_by"] == []
        # Prune: every unused one goes, the used one stays.
        pruned = await client.call("volumes.prune")
        assert spare in pruned["removed"] and anon["name"] in pruned["removed"]
        assert vol not in pruned["removed"]
        left = (await podman(world, "volume", "ls", "--format", "{{.Name}}")).split()
        assert vol in left and spare not in left
        # In use: a conflict without force; force removes the container with it.
        exc = await refused(client, "volumes.remove", {"name": vol})
        assert exc.code == "conflict", exc
        await client.call("volumes.remove", {"name": vol, "force": True})
        assert vol not in (await podman(world, "volume", "ls", "--format", "{{.Name}}")).split()
        assert (await asyncio.to_thread(world.podman, "container", "exists", user,
                                        check=False)).returncode != 0
        assert (await refused(client, "volumes.remove", {"name": vol})).code == "not-found"
        await within(task, 30)
        assert ("volume.create", vol) in seen and ("volume.create", spare) in seen
        assert ("volume.remove", spare) in seen or ("volume.prune", spare) in seen
    finally:
        task.cancel()
        await podman(world, "rm", "-f", "--ignore", user, check=False)
        for v in (vol, spare):
            await podman(world, "volume", "rm", "-f", v, check=False)


def mount_repositories(reg: rs.Registry, source: str, names: list[str]) -> None:
    """``source:latest`` under each of ``names``: its blobs mounted across repositories and
    its manifest put (the registry's own API; a push per name would take a minute)."""
    base = f"http://{reg.host}/v2"
    accept = "application/vnd.oci.image.manifest.v1+json"
    get = urllib.request.Request(f"{base}/{source}/manifests/latest", headers={"Accept": accept})
    with urllib.request.urlopen(get, timeout=30) as resp:
        ctype, body = resp.headers["Content-Type"], resp.read()
    manifest = json.loads(body)
    digests = [manifest["config"]["digest"], *(x["digest"] for x in manifest["layers"])]
    for name in names:
        for digest in digests:
            mount = urllib.request.Request(
                f"{base}/{name}/blobs/uploads/?mount={digest}&from={source}", method="POST")
            urllib.request.urlopen(mount, timeout=30).close()
        put = urllib.request.Request(f"{base}/{name}/manifests/latest", data=body,
                                     method="PUT", headers={"Content-Type": ctype})
        urllib.request.urlopen(put, timeout=30).close()


def catalog(reg: rs.Registry) -> list[str]:
    with urllib.request.urlopen(f"http://{reg.host}/v2/_catalog", timeout=10) as resp:
        return list(json.load(resp)["repositories"])


async def test_search_reads_past_the_catalogs_first_page(
        world: Any, client: BridgeClient, tmp_path: Path) -> None:
    """A registry of the test's own with 130 repositories (the distribution registry's
    catalog gives 100 a page): Podman finds names past the first page, and limit counts
    matches, not catalog entries."""
    folder = tmp_path / "oci"
    rs.oci_layout(folder)
    reg = await asyncio.to_thread(rs.start, tmp_path / "registry")
    try:
        await asyncio.to_thread(rs.push, folder, "single", f"{reg.host}/base/img:latest", reg)
        names = [f"zz/r{i:03d}" for i in range(130)]
        await asyncio.to_thread(mount_repositories, reg, "base/img", names)
        first_page = await asyncio.to_thread(catalog, reg)
        assert len(first_page) == 100  # what the registry gives without paging
        # Not in registries.conf: plain HTTP only when asked.
        late = await client.call("images.search", {"term": "r12", "registry": reg.host,
                                                   "tls_verify": False})
        assert sorted(r["name"] for r in late["results"]) == \
            [f"{reg.host}/zz/r{i}" for i in range(120, 130)]
        capped = await client.call("images.search", {"term": "zz/", "registry": reg.host,
                                                     "tls_verify": False, "limit": 100})
        assert len(capped["results"]) == 100
        cli = json.loads(await podman(world, "search", "--tls-verify=false", "--limit", "100",
                                      "--format", "json", f"{reg.host}/zz/"))
        assert sorted(r["Name"] for r in cli) == sorted(r["name"] for r in capped["results"])
        exc = await refused(client, "images.search", {"term": "r12", "registry": reg.host})
        assert "HTTPS" in exc.message, exc
    finally:
        await asyncio.to_thread(reg.stop)


async def test_roles_of_search_and_volume_methods(client: BridgeClient) -> None:
    roles = {m["name"]: (m["role"], m["readonly"]) for m in await client.call("methods.list")}
    assert roles["images.registries"] == ("viewer", True)
    # Reaches a registry the caller names, changes nothing (not audited).
    assert roles["images.search"] == ("operator", True)
    for name in ("volumes.create", "volumes.remove", "volumes.prune"):
        assert roles[name] == ("admin", False), name
    assert roles["volumes.list"] == ("viewer", True)
