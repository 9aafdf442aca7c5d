"""Quadlet as a user: files in ~/.config/containers/systemd, turned into user units by
``podbridge quadlet --user`` run as the user manager's generator, and ``units.install``
with ``format: quadlet`` from the user's own bridge."""

from __future__ import annotations

import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1
from tests.helpers import fetch
from tests.integration.worldbridge import WorldBridge, host_port, python_argv

USER = "alice"


@pytest.fixture
def user_generator(users_world: World) -> Iterator[Path]:
    """podbridge's Quadlet generator where the world's user managers look for generators
    (/etc/systemd/user-generators), as `make install` puts it on a host."""
    argv = " ".join(shlex.quote(a) for a in python_argv(users_world))
    path = users_world.root / "etc-systemd" / "user-generators" / "podman-user-generator"
    path.write_text(f"#!/bin/sh\nexec {argv} -m bridge quadlet --user \"$@\"\n")
    path.chmod(0o755)
    try:
        yield path
    finally:
        path.unlink()


def systemctl_user(world: World, *args: str, check: bool = True) -> str:
    return world.run_as(USER, ["systemctl", "--user", *args], check=check).stdout.strip()


def test_quadlet_file_of_the_user_runs_as_a_user_unit(users_world: World,
                                                      user_generator: Path) -> None:
    world = users_world
    name, port = f"q-{uuid.uuid4().hex[:6]}", host_port()
    # On this cgroup v1 machine rootless Podman cannot split cgroups (Quadlet's default).
    text = (f"[Container]\nImage={HTTPD_V1}\nContainerName={name}\nCgroupsMode=no-conmon\n"
            f"PublishPort={port}:80\n\n[Install]\nWantedBy=default.target\n")
    world.run_as(USER, ["sh", "-c", "mkdir -p ~/.config/containers/systemd && cat > "
                                    f"~/.config/containers/systemd/{name}.container"],
                 input=text)
    try:
        systemctl_user(world, "daemon-reload")
        systemctl_user(world, "start", f"{name}.service")
        assert systemctl_user(world, "is-active", f"{name}.service") == "active"
        assert "podbridge httpd v1" in fetch(f"http://127.0.0.1:{port}/")
        generated = world.run_as(USER, ["systemctl", "--user", "show", "-P", "FragmentPath",
                                        f"{name}.service"]).stdout.strip()
        uid = world.user(USER).uid
        assert generated == f"/run/user/{uid}/systemd/generator/{name}.service"
    finally:
        systemctl_user(world, "stop", f"{name}.service", check=False)
        world.run_as(USER, ["rm", "-f", f"/home/{USER}/.config/containers/systemd/"
                                        f"{name}.container"])
        systemctl_user(world, "daemon-reload")


async def test_units_install_quadlet_into_the_users_folder(
        users_world: World, user_generator: Path, tmp_path: Path) -> None:
    world = users_world
    name, port = f"qi-{uuid.uuid4().hex[:6]}", host_port()
    world.run_as(USER, ["podman", "create", "--name", name, "-p", f"{port}:80", HTTPD_V1])
    bridge = WorldBridge(world, USER, tmp_path / "bridge.log")
    await bridge.astart()
    folder = world.root / "home" / USER / ".config" / "containers" / "systemd"
    try:
        async with BridgeClient(bridge.url, bridge.token) as client:
            # Quadlet's service runs its own container of that name (--replace).
            done = await client.call("units.install", {"name": name, "format": "quadlet",
                                                       "start": True})
            first = done["installed"][0]
            assert first["path"] == f"/home/{USER}/.config/containers/systemd/{name}.container"
            assert first["unit"] == f"{name}.service" and first["job_result"] == "done"
            assert any("CgroupsMode=no-conmon" in w for w in done["warnings"]), done
        assert (folder / f"{name}.container").is_file()
        assert systemctl_user(world, "is-active", f"{name}.service") == "active"
        assert "podbridge httpd v1" in fetch(f"http://127.0.0.1:{port}/")
    finally:
        await bridge.astop()
        systemctl_user(world, "stop", f"{name}.service", check=False)
        (folder / f"{name}.container").unlink(missing_ok=True)
        systemctl_user(world, "daemon-reload")
        world.run_as(USER, ["podman", "rm", "-f", "--ignore", name])
