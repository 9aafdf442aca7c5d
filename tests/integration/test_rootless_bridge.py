"""A user's own bridge, and a root bridge that also serves every user, inside a world with
two users (alice, bob), each with a user manager and rootless Podman."""

from __future__ import annotations

import asyncio
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, SLEEP
from bridge.sandbox.users import command
from bridge.tasks import within
from tests.helpers import unique
from tests.integration.bridgefix import wait_for
from tests.integration.worldbridge import (
    WorldBridge,
    podbridge_argv,
    run_podbridge,
    world_client,
)


def names(rows: list[dict[str, Any]]) -> set[str]:
    return {r["name"] for r in rows}


async def test_user_bridge_serves_its_own_podman_and_user_manager(
        users_world: World, tmp_path: Path) -> None:
    mine, theirs, roots = unique("mine"), unique("theirs"), unique("roots")
    users_world.run_as("alice", ["podman", "create", "--name", mine, SLEEP])
    users_world.run_as("bob", ["podman", "create", "--name", theirs, SLEEP])
    users_world.podman("create", "--name", roots, SLEEP)
    bridge = WorldBridge(users_world, "alice", tmp_path / "alice-bridge.log")
    await bridge.astart()
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            status = await client.call("bridge.status")
            alice = users_world.user("alice")
            assert status["podman"]["url"] == f"unix:///run/user/{alice.uid}/podman/podman.sock"
            assert status["systemd"]["scope"] == "user"
            assert status["systemd"]["address"] == f"unix:path=/run/user/{alice.uid}/bus"
            state: dict[str, Any] = {}

            async def seen() -> bool:
                state.update(await client.call("state.get"))
                return mine in names(state["containers"])

            await wait_for(seen, 60, "her container in her bridge's state", 0.1)
            got = names(state["containers"])
            assert mine in got
            # A user's bridge never sees another user's containers, nor root's.
            assert theirs not in got and roots not in got
            assert all("uid" not in c for c in state["containers"])
            # The user manager's units: the user's bus and Podman's socket.
            units = {u["name"]: u for u in state["units"]}
            assert units["podman.socket"]["active_state"] == "active"
            assert units["dbus.socket"]["active_state"] == "active"
            assert await client.call("owners.list") == []
    finally:
        await bridge.astop()
        users_world.run_as("alice", ["podman", "rm", "-f", mine])
        users_world.run_as("bob", ["podman", "rm", "-f", theirs])
        users_world.podman("rm", "-f", roots)
    # Settings, store and token under the user's XDG folders, private.
    state_dir = bridge.state_dir
    assert state_dir.stat().st_uid == users_world.user("alice").uid
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    for name in ("token", "podbridge.db"):
        assert stat.S_IMODE((state_dir / name).stat().st_mode) == 0o600, name


async def test_root_bridge_serves_every_user_and_acts_by_owner(
        users_world: World, tmp_path: Path) -> None:
    name = unique("same")
    for user in ("alice", "bob"):
        users_world.run_as(user, ["podman", "run", "-d", "--name", name,
                                  "--stop-timeout", "1", HTTPD_V1])
    try:
        async with world_client(users_world, None, tmp_path / "root-bridge.log") as client:
            owners = await client.call("owners.list")
            assert {o["user"] for o in owners} == {"alice", "bob"}
            uids = {o["user"]: o["uid"] for o in owners}
            assert uids["alice"] == users_world.user("alice").uid

            async def rows() -> list[dict[str, Any]]:
                listed: list[dict[str, Any]] = await client.call("containers.list")
                return [c for c in listed if c["name"] == name]

            mine: list[dict[str, Any]] = []
            for _ in range(200):
                mine = await rows()
                if len(mine) == 2:
                    break
                await asyncio.sleep(0.1)
            assert {(c["user"], c["uid"], c["state"]) for c in mine} == {
                ("alice", uids["alice"], "running"), ("bob", uids["bob"], "running")}
            # User units carry their owner as well.
            units = await client.call("units.list")
            assert {u.get("user") for u in units if u["name"] == "podman.socket"} >= {
                "alice", "bob"}
            got = await client.call("units.get", {"name": "podman.socket", "owner": "bob"})
            assert got["user"] == "bob" and got["active_state"] == "active"

            events = client.events(["container.*"])
            stop = asyncio.ensure_future(
                client.call("containers.stop", {"name": name, "owner": "bob", "timeout": 1}))
            died: dict[str, Any] = {}
            async for ev in events:
                if ev["type"] == "container.died" and ev["subject"] == name:
                    died = ev
                    break
            await stop
            await events.aclose()  # type: ignore[attr-defined]
            assert died["data"]["user"] == "bob" and died["data"]["uid"] == uids["bob"]
            for _ in range(200):
                states = {c["user"]: c["state"] for c in await rows()}
                if states.get("bob") == "exited":
                    break
                await asyncio.sleep(0.1)
            assert states == {"alice": "running", "bob": "exited"}
            bob_ps = users_world.run_as("bob", ["podman", "ps", "--format", "{{.Names}}"])
            assert name not in bob_ps.stdout.split()
            alice_ps = users_world.run_as("alice", ["podman", "ps", "--format", "{{.Names}}"])
            assert name in alice_ps.stdout.split()
            # A user unit, started and stopped over bob's user manager by owner.
            unit = f"{name}.service"
            users_world.run_as("bob", ["sh", "-c", "mkdir -p ~/.config/systemd/user && "
                                       f"printf '[Service]\\nExecStart=/bin/sleep infinity\\n' "
                                       f"> ~/.config/systemd/user/{unit} && "
                                       "systemctl --user daemon-reload"])
            done = await client.call("units.start", {"name": unit, "owner": "bob"})
            assert done == {"unit": unit, "job_result": "done"}
            assert users_world.run_as("bob", ["systemctl", "--user", "is-active", unit]
                                      ).stdout.strip() == "active"
            with pytest.raises(BridgeError):  # root's manager has no such unit
                await client.call("units.start", {"name": unit})
            done = await client.call("units.stop", {"name": unit, "owner": "bob"})
            assert done["job_result"] == "done"
            assert users_world.run_as("bob", ["systemctl", "--user", "is-active", unit],
                                      check=False).stdout.strip() == "inactive"
            users_world.run_as("bob", ["sh", "-c", f"rm ~/.config/systemd/user/{unit} && "
                                       "systemctl --user daemon-reload"])
            # An owner nobody serves is a clear error naming the fix.
            with pytest.raises(BridgeError, match="loginctl enable-linger carol"):
                await client.call("containers.stop", {"name": name, "owner": "carol"})
    finally:
        for user in ("alice", "bob"):
            users_world.run_as(user, ["podman", "rm", "-f", "-t", "0", name])


def test_user_without_subuids_or_manager_gets_the_fix(users_world: World) -> None:
    bob = users_world.user("bob")
    users_world.run(["sed", "-i", "-e", "s/^bob:/nobob:/", "/etc/subuid", "/etc/subgid"])
    try:
        done = run_podbridge(users_world, "bob", "serve", "--listen", "127.0.0.1:0")
    finally:
        users_world.run(["sed", "-i", "-e", "s/^nobob:/bob:/", "/etc/subuid", "/etc/subgid"])
    assert done.returncode == 2
    assert "no subordinate id range" in done.stderr
    assert "usermod --add-subuids" in done.stderr and "bob" in done.stderr
    # No user manager: the bus a user's bridge would use is not there.
    argv = ["env", f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{bob.uid}/nobus",
            *podbridge_argv(users_world, "serve", "--listen", "127.0.0.1:0")]
    done = subprocess.run(command(users_world, bob, argv), capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    assert "no user manager runs for bob" in done.stderr
    assert "loginctl enable-linger bob" in done.stderr


async def test_hooks_of_a_users_bridge_run_as_the_user(users_world: World,
                                                       tmp_path: Path) -> None:
    name = unique("crash")
    out = users_world.root / "home" / "alice" / f"hook-{name}"
    bridge = WorldBridge(users_world, "alice", tmp_path / "alice-bridge.log")
    await bridge.astart()
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            await client.call("hooks.add", {"rule": {
                "name": "crash-" + name[-8:], "on": {"topic": "container.died",
                                                     "subject": name},
                "actions": [{"type": "command", "argv": [
                    "/bin/sh", "-c", 'echo "$(id -un) $(id -u) $HOME" > "$HOME/hook-$1"',
                    "sh", "{{subject}}"]}]}})
            users_world.run_as("alice", ["podman", "run", "--name", name, SLEEP,
                                         "sh", "-c", "exit 3"], check=False)
            await wait_for(lambda: out.exists() and out.read_text().strip(), 20,
                           "the hook's output", 0.1)
        alice = users_world.user("alice")
        assert out.read_text().split() == ["alice", str(alice.uid), "/home/alice"]
        assert out.stat().st_uid == alice.uid
    finally:
        await bridge.astop()
        users_world.run_as("alice", ["podman", "rm", "-f", "--ignore", name])
        out.unlink(missing_ok=True)


def test_missing_podman_socket_names_the_fix(users_world: World) -> None:
    alice = users_world.user("alice")
    done = run_podbridge(users_world, "alice", "serve", "--listen", "127.0.0.1:0", "--url",
                         f"unix:///run/user/{alice.uid}/podman/none.sock")
    assert done.returncode == 2
    assert "no rootless Podman socket at" in done.stderr
    assert "systemctl --user enable --now podman.socket" in done.stderr


async def test_root_bridge_follows_user_managers_that_come_and_go(
        users_world: World, tmp_path: Path) -> None:
    from bridge.sandbox.users import wait_ready

    bob = users_world.user("bob")
    name = unique("bobs")
    users_world.run_as("bob", ["podman", "create", "--name", name, SLEEP])
    try:
        async with world_client(users_world, None, tmp_path / "root-bridge.log") as client:
            events = client.events(["bridge.owner_*"])

            async def next_owner_event() -> dict[str, Any]:
                async for ev in events:
                    return ev
                raise AssertionError("the event stream ended")

            async def bobs_rows() -> int:
                return sum(1 for c in await client.call("containers.list")
                           if c.get("user") == "bob")

            await wait_for(bobs_rows, 30, "bob's container", 0.1)
            assert await bobs_rows() == 1
            await asyncio.to_thread(users_world.systemctl, "stop", f"user@{bob.uid}.service")
            ev = await within(next_owner_event(), 30)
            assert ev["type"] == "bridge.owner_removed" and ev["data"]["uid"] == bob.uid
            assert "bob" not in {o["user"] for o in await client.call("owners.list")}
            assert await bobs_rows() == 0
            await asyncio.to_thread(users_world.systemctl, "start", f"user@{bob.uid}.service")
            ev = await within(next_owner_event(), 60)
            assert ev["type"] == "bridge.owner_added" and ev["data"]["user"] == "bob"
            await wait_for(bobs_rows, 60, "bob's container again", 0.1)
            assert await bobs_rows() == 1
            await events.aclose()  # type: ignore[attr-defined]
    finally:
        users_world.systemctl("start", f"user@{bob.uid}.service")
        await asyncio.to_thread(wait_ready, users_world, bob)
        users_world.run_as("bob", ["podman", "rm", "-f", "--ignore", name])


# The descriptor check once failed here (debian12, one run in four): opening alice's bus
# switched the ids of every thread, the event reader's connect to her podman.sock got
# EACCES, and that socket was never closed (bridge/userbus.py, bridge/podman_stream.py).
async def test_bridge_outside_the_world_serves_a_user_from_sandbox_env(
        users_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`podbridge sandbox env DIR --user alice`: what a bridge outside needs; as root,
    it opens alice's bus as alice."""
    from bridge.app import Bridge
    from bridge.config import Settings
    from bridge.sandbox.users import host_env

    env = host_env(users_world, users_world.user("alice"))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    name = unique("outside")
    users_world.run_as("alice", ["podman", "create", "--name", name, SLEEP])
    bridge = Bridge(Settings(state_dir=tmp_path / "state", listen="127.0.0.1:0"),
                    plugins={})
    await bridge.start()
    try:
        for _ in range(200):
            snap = await bridge.methods.call("state.get", {})
            units = {u["name"] for u in snap["units"]}
            if name in names(snap["containers"]) and "podman.socket" in units:
                break
            await asyncio.sleep(0.1)
        assert bridge.systemd.scope == "user" and bridge.owners is None
        assert name in names(snap["containers"])
        assert "podman.socket" in units and "dbus.socket" in units
    finally:
        await bridge.stop()
        users_world.run_as("alice", ["podman", "rm", "-f", name])
