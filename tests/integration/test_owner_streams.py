"""A root bridge serving users (bridge/owners.py): the issue-19 methods take ``owner`` as
the existing container methods do, and reach that user's rootless Podman: create, logs,
exec, stats, images and remove of two users' containers of the same name."""

from __future__ import annotations

from pathlib import Path

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1
from tests.helpers import unique
from tests.integration.bridgefix import refused
from tests.integration.worldbridge import world_client


async def test_owner_reaches_the_users_podman(users_world: World, tmp_path: Path) -> None:
    name = unique("twin")
    try:
        async with world_client(users_world, None, tmp_path / "root-bridge.log") as client:
            for user in ("alice", "bob"):
                await client.call("containers.create", {
                    "image": HTTPD_V1, "name": name, "owner": user,
                    "command": ["sh", "-c", f"echo I am {user}; exec sleep 1000"]})
            for user in ("alice", "bob"):
                logs = await client.call("containers.logs", {"name": name, "owner": user})
                assert [x["text"] for x in logs["lines"]] == [f"I am {user}"], logs
                stream = await client.stream("containers.exec", {
                    "name": name, "owner": user, "tty": False, "command": ["id", "-u"]})
                out = "".join([d["output"] async for d in stream])
                # Root inside a rootless container: uid 0 in the user's namespace.
                assert out == "0\n" and stream.end is not None
                assert stream.end["exit_code"] == 0
                info = await client.call("system.info", {"owner": user})
                if info["cgroup_version"] == "v1":
                    # Rootless Podman reads stats from cgroup v2 only (this machine's
                    # cgroups are hybrid): a clear not-supported.
                    exc = await refused(client, "containers.stats", {"name": name, "owner": user})
                    assert exc.code == "not-supported" and "cgroup v2" in str(exc)
                else:
                    sample = await client.call("containers.stats", {"name": name,
                                                                    "owner": user})
                    assert sample["pids"] >= 1
                images = await client.call("images.list", {"owner": user})
                assert name in next(i for i in images if HTTPD_V1 in i["names"])["in_use_by"]
            # Not the system's: root has no such container.
            assert (await refused(client, "containers.logs", {"name": name})).code == "not-found"
            exc = await refused(client, "containers.pause", {"name": name, "owner": "carol"})
            assert exc.code == "not-found" and "enable-linger" in exc.message
            await client.call("containers.remove", {"name": name, "owner": "alice",
                                                    "force": True})
            exc = await refused(client, "containers.inspect", {"name": name, "owner": "alice"})
            assert exc.code == "not-found"
            assert (await client.call("containers.inspect", {"name": name, "owner": "bob"})
                    )["State"]["Running"]
    finally:
        for user in ("alice", "bob"):
            users_world.run_as(user, ["podman", "rm", "-f", "--ignore", name])
