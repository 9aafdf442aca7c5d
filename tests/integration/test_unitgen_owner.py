"""A root bridge acts on a user's units (issue 14): ``units.generate``, ``units.install``
and ``units.remove`` with an ``owner``, as the core ``containers.*`` methods take one.

The bridge runs as root outside the world (every flavour), serving the world's users
through their sockets under the world's /run/user; the units land in the user's own
``~/.config/systemd/user``, owned by the user, and run under the user's manager, as the
book's ``podman generate systemd --new > ~/.config/systemd/user/…`` and
``systemctl --user`` flow does.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.app import Bridge
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from plugins.unit_generator.plugin import UnitGeneratorPlugin
from tests.helpers import unique
from tests.integration.bridgefix import refused, start_bridge, until_stopped, wait_for
from tests.unit.unitdiff import diff_unit_sets


@pytest.fixture
async def root_bridge(users_world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                      ) -> AsyncIterator[Bridge]:
    async with until_stopped(start_bridge(
            users_world, tmp_path / "state", monkeypatch,
            plugins={"unit_generator": UnitGeneratorPlugin}, rootless=True,
            user_runtime_root=users_world.run_dir / "user",
            user_fs_root=users_world.root)) as b:
        # Outside the world the machine's passwd has no alice: owners are named by uid.
        uids = {users_world.user(u).uid for u in ("alice", "bob")}
        await wait_for(lambda: b.owners is not None and uids <= {
            o["uid"] for o in b.owners.list() if o["podman"] and o["systemd"]}
            and "units.install" in {m.name for m in b.methods.list()},
            60, what="alice's and bob's sources and the unit generator")
        yield b


def user_config(world: World, user: str) -> Path:
    return world.root / "home" / user / ".config" / "systemd" / "user"


async def test_root_bridge_installs_and_removes_a_users_unit(
        users_world: World, root_bridge: Bridge) -> None:
    w, b = users_world, root_bridge
    name = unique("own")
    unit = f"container-{name}.service"
    alice = w.user("alice")
    owner = str(alice.uid)    # the machine's passwd has no alice (a host's would)
    await asyncio.to_thread(w.run_as, "alice", ["podman", "create", "--name", name,
                                                "--stop-timeout", "1", SLEEP])
    try:
        # The same units as alice's own `podman generate systemd`.
        got = await b.methods.call("units.generate", {"name": name, "owner": owner,
                                                      "new": True})
        assert got["uid"] == alice.uid
        theirs = json.loads((await asyncio.to_thread(
            w.run_as, "alice", ["podman", "generate", "systemd", "--name", "--new",
                                "--format", "json", name])).stdout)
        ours = {k.removesuffix(".service"): v for k, v in got["units"].items()}
        assert diff_unit_sets(theirs, ours) == []
        # root's Podman has no such container: without the owner it is not found.
        info = await refused(b.methods, "units.generate", {"name": name, "new": True})
        assert info.code == "not-found"

        result = await b.methods.call("units.install", {
            "name": name, "owner": owner, "new": True, "start": True})
        installed = result["installed"][0]
        path = user_config(w, "alice") / unit
        assert (installed["unit"], installed["job_result"]) == (unit, "done")
        assert installed["path"] == str(path) and result["uid"] == alice.uid
        st = path.stat()
        assert (st.st_uid, oct(st.st_mode & 0o777)) == (alice.uid, "0o644")
        assert path.parent.stat().st_uid == alice.uid
        assert not (Path(w.unit_dir) / unit).exists()   # nothing in the system's folder
        active = await asyncio.to_thread(w.run_as, "alice", [
            "systemctl", "--user", "is-active", unit], False)
        assert active.stdout.strip() == "active"
        enabled = await asyncio.to_thread(w.run_as, "alice", [
            "systemctl", "--user", "is-enabled", unit], False)
        assert enabled.stdout.strip() == "enabled"
        ps = await asyncio.to_thread(w.run_as, "alice", [
            "podman", "ps", "--format", "{{.Names}}"])
        assert name in ps.stdout.split()
        # bob has no such container: the owner is where it is looked up.
        info = await refused(b.methods, "units.install", {"name": name,
                                                          "owner": str(w.user("bob").uid)})
        assert info.code == "not-found"
        assert not (user_config(w, "bob") / unit).exists()

        removed = await b.methods.call("units.remove", {"unit": unit, "owner": owner})
        assert removed["stop_result"] == "done" and removed["uid"] == alice.uid
        assert not path.exists()
        gone = await asyncio.to_thread(w.run_as, "alice", [
            "systemctl", "--user", "is-active", unit], False)
        assert gone.stdout.strip() in ("inactive", "unknown")
    finally:
        await asyncio.to_thread(w.run_as, "alice", [
            "sh", "-c", f"systemctl --user stop {unit}; systemctl --user disable {unit}; "
            f"rm -f ~/.config/systemd/user/{unit}; systemctl --user daemon-reload; "
            f"podman rm -f -t 0 {name}"], False)


async def test_root_never_follows_a_users_link(users_world: World, root_bridge: Bridge
                                               ) -> None:
    """bob points ~/.config/systemd/user at another folder (on a host it would be
    /etc/systemd/system): root writes nothing there, and says why."""
    w, b = users_world, root_bridge
    name = unique("link")
    await asyncio.to_thread(w.run_as, "bob", ["podman", "create", "--name", name, SLEEP])
    await asyncio.to_thread(w.run_as, "bob", [
        "sh", "-c", "mkdir -p ~/.config/systemd && mv ~/.config/systemd/user "
        "~/.config/systemd/user.kept 2>/dev/null; mkdir -p ~/elsewhere && "
        "ln -s ../../elsewhere ~/.config/systemd/user"])
    try:
        with pytest.raises(BridgeError, match="link"):
            await b.methods.call("units.install", {
                "name": name, "owner": str(w.user("bob").uid), "new": True})
        assert list((w.root / "home" / "bob" / "elsewhere").iterdir()) == []
        with pytest.raises(BridgeError, match="enable-linger carol"):
            await b.methods.call("units.install", {"name": name, "owner": "carol"})
    finally:
        await asyncio.to_thread(w.run_as, "bob", [
            "sh", "-c", "rm ~/.config/systemd/user; rmdir ~/elsewhere; "
            "mv ~/.config/systemd/user.kept ~/.config/systemd/user 2>/dev/null; "
            f"podman rm -f {name}"], False)
