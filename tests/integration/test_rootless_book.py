"""The book's rootless flow, as a user of the world, through the user's own bridge and
tools: ``myapp`` generated (``--new``), installed into ``~/.config/systemd/user``, started
over the user manager and serving; auto-update false -> pending -> true -> rolled back,
the same JSON, tables, stderr and statuses as the user's own ``podman auto-update``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from bridge.tasks import within
from tests.helpers import fetch
from tests.integration.autoupdate_dropin import Outcome, comparable
from tests.integration.worldbridge import WorldBridge, host_port, run_podbridge, world_client

USER = "alice"


def user_podman(world: World, *args: str, check: bool = True) -> str:
    return world.run_as(USER, ["podman", *args], check=check).stdout


def systemctl_user(world: World, *args: str, check: bool = True) -> str:
    return world.run_as(USER, ["systemctl", "--user", *args], check=check).stdout.strip()


def push(world: World, source: str, ref: str) -> None:
    user_podman(world, "push", "--quiet", "--tls-verify=false", source, ref)


async def test_myapp_generated_installed_and_started_over_the_user_manager(
        users_world: World, tmp_path: Path) -> None:
    world = users_world
    app = f"myapp-{uuid.uuid4().hex[:6]}"
    port = host_port()
    ref = f"{world.registry}/alice/{app}:latest"
    push(world, HTTPD_V1, ref)
    user_podman(world, "create", "--name", app, "-p", f"{port}:80", "--stop-timeout", "1",
                "--label", "io.containers.autoupdate=registry", ref)
    unit = f"container-{app}.service"
    home_units = world.root / "home" / USER / ".config" / "systemd" / "user"
    bridge = WorldBridge(world, USER, tmp_path / "bridge.log")
    await bridge.astart()
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            generated = await client.call("units.generate", {"name": app, "new": True})
            text = generated["units"][unit]
            assert "--cidfile=%t/%n.ctr-id" in text and "--sdnotify=conmon" in text
            assert "WantedBy=default.target" in text
            try:
                done = await client.call("units.install", {"name": app, "new": True,
                                                           "start": True})
            except BridgeError as exc:
                status = world.run_as(USER, ["systemctl", "--user", "status", "--no-pager",
                                             "-n", "30", unit], check=False)
                raise AssertionError(f"{exc}: {status.stdout} {status.stderr}") from None
            installed = done["installed"][0]
            assert installed["path"] == f"/home/{USER}/.config/systemd/user/{unit}"
            assert installed["enabled"] and installed["job_result"] == "done"
        assert (home_units / unit).is_file()
        assert (home_units / "default.target.wants" / unit).is_symlink()
        assert systemctl_user(world, "is-active", unit) == "active"
        assert systemctl_user(world, "is-enabled", unit) == "enabled"
        assert "podbridge httpd v1" in fetch(f"http://127.0.0.1:{port}/")
        # The container the unit runs is alice's, made by --new (not the one created).
        ps = user_podman(world, "ps", "--format", "{{.Names}} {{.Labels.PODMAN_SYSTEMD_UNIT}}")
        assert f"{app} {unit}" in ps.splitlines()
    finally:
        await bridge.astop()
        systemctl_user(world, "disable", "--now", unit, check=False)
        (home_units / unit).unlink(missing_ok=True)
        systemctl_user(world, "daemon-reload")
        user_podman(world, "rm", "-f", "--ignore", app)


# -- auto-update: podbridge's and Podman's, as the user -------------------------------------
Tool = Callable[[World, tuple[str, ...]], Outcome]


def _rows(stdout: str) -> list[dict[str, Any]]:
    text = stdout.strip()
    return [] if not text or text == "null" else list(json.loads(text))


def ours(world: World, args: tuple[str, ...]) -> Outcome:
    done = run_podbridge(world, USER, "auto-update", *args)
    return Outcome(done.returncode, done.stdout, done.stderr)


def podmans(world: World, args: tuple[str, ...]) -> Outcome:
    done = world.run_as(USER, ["podman", "auto-update", *args], check=False, timeout=300)
    return Outcome(done.returncode, done.stdout, done.stderr)


def serving(world: World, container: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        done = world.run_as(USER, ["podman", "exec", container, "wget", "-q", "-O", "-",
                                   "http://127.0.0.1:80/"], check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done.stdout.strip()
        time.sleep(0.1)


def book_unit(world: World, name: str, image: str, *labels: str) -> str:
    """The book's way: podman generate systemd --new into ~/.config/systemd/user."""
    extra = [arg for label in labels for arg in ("--label", label)]
    user_podman(world, "create", "--name", name, "--stop-timeout", "1",
                "--label", "io.containers.autoupdate=registry", *extra, image)
    unit = f"container-{name}.service"
    text = user_podman(world, "generate", "systemd", "--new", "--name", name)
    world.run_as(USER, ["sh", "-c", f"mkdir -p ~/.config/systemd/user && cat > "
                                    f"~/.config/systemd/user/{unit}"], input=text)
    user_podman(world, "rm", name)
    systemctl_user(world, "daemon-reload")
    systemctl_user(world, "start", unit)
    return unit


def with_cmd(world: World, source: str, ref: str, cmd: str = '["/bin/no-such-command"]'
             ) -> None:
    """The user's image ``ref``: ``source`` with another CMD (by default one that cannot
    run)."""
    tmp = f"tmp-{uuid.uuid4().hex[:6]}"
    user_podman(world, "create", "--name", tmp, source)
    try:
        user_podman(world, "commit", "--quiet", "--change", f"CMD {cmd}", tmp, ref)
    finally:
        user_podman(world, "rm", "-f", tmp)


Compared = tuple[int, list[str], list[str]]


def scenario(world: World, tool: Tool, tag: str) -> tuple[list[str], list[Compared]]:
    """Steps nothing new, pending, true, rolled back with ``tool``, each as JSON and the
    dry run as a table too: the verdicts, and every step's status, stdout and stderr with
    the run's names, IDs and digests made equal (autoupdate_dropin.normalise)."""
    name = f"au-{tag}{uuid.uuid4().hex[:6]}"
    remote = f"{world.registry}/alice/{name}:latest"
    push(world, HTTPD_V1, remote)
    unit = book_unit(world, name, remote)
    verdicts: list[str] = []
    outputs: list[Compared] = []

    def run(*args: str) -> Outcome:
        done = tool(world, args)
        outputs.append(comparable(done, name, world.registry, unordered=False))
        return done

    def step(*args: str) -> str:
        done = run("--format", "json", *args)
        assert done.status == 0, done.stderr
        rows = _rows(done.stdout)
        mine = [r for r in rows if r["ContainerName"] == name]
        assert len(mine) == 1, rows
        assert mine[0]["Unit"] == unit and mine[0]["Policy"] == "registry"
        verdicts.append(mine[0]["Updated"])
        return str(mine[0]["Updated"])

    try:
        assert "v1" in serving(world, name)
        assert step() == "false"
        push(world, HTTPD_V2, remote)
        assert step("--dry-run") == "pending"
        table = run("--dry-run")
        assert table.status == 0 and "UNIT" in table.stdout.split("\n")[0], table
        assert "v1" in serving(world, name), "a dry run changes nothing"
        assert step() == "true"
        assert "v2" in serving(world, name)
        broken = f"localhost/alice/{name}:broken"
        with_cmd(world, HTTPD_V2, broken)
        push(world, broken, remote)
        assert step() == "rolled back"
        assert "v2" in serving(world, name), "the old image serves again"
        assert systemctl_user(world, "is-active", unit) == "active"
    finally:
        systemctl_user(world, "stop", unit, check=False)
        world.run_as(USER, ["rm", "-f", f"/home/{USER}/.config/systemd/user/{unit}"])
        systemctl_user(world, "daemon-reload")
        systemctl_user(world, "reset-failed", check=False)
    return verdicts, outputs


def test_autoupdate_as_the_user_matches_podman(users_world: World) -> None:
    """The user's own `podman auto-update` and podbridge's, as the user: the same verdicts,
    and the same JSON, table, stderr (pull lines, errors) and exit status at every step."""
    mine, ours_out = scenario(users_world, ours, "p")
    theirs, podman_out = scenario(users_world, podmans, "m")
    assert mine == theirs == ["false", "pending", "true", "rolled back"]
    table = podman_out[2][1]
    assert table[0].split() == ["UNIT", "CONTAINER", "IMAGE", "POLICY", "UPDATED"], table
    for n, (got, want) in enumerate(zip(ours_out, podman_out, strict=True)):
        assert got == want, f"step {n}: podbridge {got}\npodman {want}"


def test_user_registries_conf_is_read(users_world: World) -> None:
    """A registry only the user's ~/.config/containers/registries.conf marks insecure."""
    world = users_world
    conf = world.root / "home" / USER / ".config" / "containers" / "registries.conf"
    # The world's /etc/containers/registries.conf already names the registry: the user's
    # file takes over entirely (containers/image reads one or the other).
    world.run_as(USER, ["sh", "-c", "mkdir -p ~/.config/containers && cat > "
                                    "~/.config/containers/registries.conf"],
                 input=f'[[registry]]\nlocation = "{world.registry}"\ninsecure = true\n')
    try:
        name = f"au-conf{uuid.uuid4().hex[:6]}"
        remote = f"{world.registry}/alice/{name}:latest"
        push(world, HTTPD_V1, remote)
        unit = book_unit(world, name, remote)
        try:
            push(world, HTTPD_V2, remote)
            done = ours(world, ("--format", "json", "--dry-run"))
            assert done.status == 0, done.stderr
            assert [r["Updated"] for r in _rows(done.stdout)
                    if r["ContainerName"] == name] == ["pending"]
        finally:
            systemctl_user(world, "stop", unit, check=False)
            world.run_as(USER, ["rm", "-f", f"/home/{USER}/.config/systemd/user/{unit}"])
            systemctl_user(world, "daemon-reload")
    finally:
        conf.unlink()


# -- a late crash: the rollback watcher of the user's bridge --------------------------------
PROBATION = 12
# Ready at once (conmon notifies when the container starts), serves, exits 1 after 5 s.
EXIT5_CMD = ('["/bin/sh", "-c", "trap \'exit 0\' TERM; httpd -f -p 80 -h /var/www & '
             'sleep 5; exit 1"]')


async def test_late_crash_rolled_back_by_the_users_watcher(
        users_world: World, tmp_path: Path) -> None:
    world = users_world
    name = f"late-{uuid.uuid4().hex[:6]}"
    remote = f"{world.registry}/alice/{name}:latest"
    push(world, HTTPD_V1, remote)
    unit = book_unit(world, name, remote,
                     f"io.podbridge.rollback.probation={PROBATION}s")
    exit5 = f"localhost/alice/{name}:exit5"
    with_cmd(world, HTTPD_V2, exit5, EXIT5_CMD)
    bridge = WorldBridge(world, USER, tmp_path / "bridge.log")
    await bridge.astart()
    try:
        v1 = user_podman(world, "image", "inspect", "--format", "{{.Id}}", remote).strip()
        push(world, exit5, remote)
        async with BridgeClient(bridge.url, bridge.token) as client:
            events = client.events(["rollback.*"])
            seen: list[dict[str, Any]] = []

            async def until_end() -> None:
                async for ev in events:
                    if ev["subject"] == unit:
                        seen.append(ev)
                        if ev["type"] in ("rollback.passed", "rollback.performed",
                                          "rollback.failed"):
                            return

            waiter = asyncio.ensure_future(until_end())
            report = await client.call("autoupdate.run", {}, timeout=120)
            [row] = [r for r in report["rows"] if r["Unit"] == unit]
            # As Podman's rule says: the restart job was done, so it is an update...
            assert row["Updated"] == "true", row
            # ...which the watcher judges bad within the probation, and rolls back.
            await within(waiter, 90)
            await events.aclose()  # type: ignore[attr-defined]
        end = seen[-1]
        assert end["type"] == "rollback.performed", seen
        assert end["data"]["rolled_back_by"] == "rollback_watcher", end["data"]
        assert systemctl_user(world, "is-active", unit) == "active"
        running = user_podman(world, "inspect", "--format", "{{.Image}}", name).strip()
        assert running == v1
        assert "v1" in serving(world, name)
    finally:
        await bridge.astop()
        systemctl_user(world, "stop", unit, check=False)
        world.run_as(USER, ["rm", "-f", f"/home/{USER}/.config/systemd/user/{unit}"])
        systemctl_user(world, "daemon-reload")
        systemctl_user(world, "reset-failed", check=False)


async def test_unwritable_unit_folder_names_the_fix_and_writes_nothing(
        users_world: World, tmp_path: Path) -> None:
    world = users_world
    app = f"ro-{uuid.uuid4().hex[:6]}"
    user_podman(world, "create", "--name", app, HTTPD_V1)
    # The world's system unit folder: root's, not alice's.
    try:
        async with world_client(world, USER, tmp_path / "bridge.log",
                                "--unit-dir", "/etc/systemd/system") as client:
            with pytest.raises(BridgeError) as info:
                await client.call("units.install", {"name": app, "new": True})
        message = info.value.message
        assert "cannot write units to /etc/systemd/system" in message
        assert "is not writable by alice" in message and "Fix:" in message
        assert "nothing was written" in message
        assert not (world.unit_dir / f"container-{app}.service").exists()
        assert not list(world.unit_dir.glob(f".container-{app}*"))
    finally:
        user_podman(world, "rm", "-f", "--ignore", app)


async def test_the_users_own_timer_updates_from_the_users_settings(
        users_world: World, tmp_path: Path) -> None:
    """~/.config/podbridge/podbridge.toml sets the user's auto-update schedule; the user's
    bridge updates the user's unit when its timer fires."""
    world = users_world
    name = f"timer-{uuid.uuid4().hex[:6]}"
    remote = f"{world.registry}/alice/{name}:latest"
    push(world, HTTPD_V1, remote)
    unit = book_unit(world, name, remote)
    settings = world.root / "home" / USER / ".config" / "podbridge" / "podbridge.toml"
    world.run_as(USER, ["sh", "-c", "mkdir -p ~/.config/podbridge && cat > "
                                    "~/.config/podbridge/podbridge.toml"],
                 input='[plugins.auto_update]\nschedule = "*:*:0/2"\nrandomized_delay = 0\n')
    push(world, HTTPD_V2, remote)
    bridge = WorldBridge(world, USER, tmp_path / "bridge.log")
    await bridge.astart()
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            status = await client.call("autoupdate.status")
            assert status["schedule"] == "*:*:0/2" and status["timer"] is True

            async def updated() -> None:
                async for ev in client.events(["autoupdate.updated"]):
                    if ev["subject"] == unit:
                        return

            await within(updated(), 120)
        assert "v2" in serving(world, name)
    finally:
        await bridge.astop()
        settings.unlink(missing_ok=True)
        systemctl_user(world, "stop", unit, check=False)
        world.run_as(USER, ["rm", "-f", f"/home/{USER}/.config/systemd/user/{unit}"])
        systemctl_user(world, "daemon-reload")
