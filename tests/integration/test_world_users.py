"""Users of the test world: a user manager, the user's bus and rootless Podman, as the book
runs them (``podbridge sandbox up DIR --user NAME``, ``sandbox exec``, ``sandbox env``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1
from tests.helpers import checked_world, fetch, unique
from tests.integration.worldbridge import host_port

PODBRIDGE = [sys.executable, "-m", "bridge"]


def sandbox(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PODBRIDGE, "sandbox", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_users_live_inside_the_world_only(users_world: World) -> None:
    alice, bob = users_world.user("alice"), users_world.user("bob")
    assert alice.uid != bob.uid
    out = users_world.run_as("alice", ["id", "-un"]).stdout.strip()
    assert out == "alice"
    subuid = users_world.run(["cat", "/etc/subuid"]).stdout
    assert f"alice:{alice.subid}:65536" in subuid and f"bob:{bob.subid}:65536" in subuid
    # The machine's own /etc is untouched: the users exist in the world's overlay only.
    assert "alice:" not in Path("/etc/passwd").read_text()
    assert (users_world.root / "home" / "alice").is_dir()
    linger = users_world.run(["ls", "/var/lib/systemd/linger"]).stdout.split()
    assert sorted(linger) == ["alice", "bob"]


def test_user_manager_bus_and_rootless_podman(users_world: World) -> None:
    alice = users_world.user("alice")
    env = users_world.run_as("alice", ["env"]).stdout.splitlines()
    assert f"XDG_RUNTIME_DIR=/run/user/{alice.uid}" in env
    assert f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{alice.uid}/bus" in env
    assert "HOME=/home/alice" in env
    state = users_world.run_as("alice", ["systemctl", "--user", "is-system-running"],
                               check=False).stdout.strip()
    assert state == "running"
    assert users_world.systemctl("is-active", f"user@{alice.uid}.service").stdout.strip() \
        == "active"
    assert users_world.run_as("alice", ["systemctl", "--user", "is-active",
                                        "podman.socket"]).stdout.strip() == "active"
    info = users_world.run_as("alice", ["podman", "info", "--format",
                                        "{{.Host.Security.Rootless}}"]).stdout.strip()
    assert info == "true"
    images = users_world.run_as("alice", ["podman", "images", "--format",
                                          "{{.Repository}}:{{.Tag}}"]).stdout.split()
    assert HTTPD_V1 in images


def test_rootless_container_serves_and_owners_stay_apart(users_world: World) -> None:
    name, port = unique("web"), host_port()
    users_world.run_as("alice", ["podman", "run", "-d", "--name", name, "-p",
                                 f"{port}:80", HTTPD_V1])
    try:
        assert "podbridge httpd v1" in fetch(f"http://127.0.0.1:{port}/")
        # bob's Podman and root's do not see alice's container.
        for ps in (users_world.run_as("bob", ["podman", "ps", "-a", "--format",
                                              "{{.Names}}"]),
                   users_world.podman("ps", "-a", "--format", "{{.Names}}")):
            assert name not in ps.stdout.split()
    finally:
        users_world.run_as("alice", ["podman", "rm", "-f", "-t", "0", name])


def test_sandbox_exec_and_env_from_the_cli(users_world: World) -> None:
    root = str(users_world.root)
    done = sandbox("exec", root, "--user", "bob", "--", "sh", "-c", "id -un; echo $HOME")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["bob", "/home/bob"]
    done = sandbox("exec", root, "--", "id", "-un")
    assert done.stdout.strip() == "root"
    assert sandbox("exec", root, "--", "sh", "-c", "exit 3").returncode == 3
    done = sandbox("env", root, "--user", "bob")
    assert done.returncode == 0, done.stderr
    exports = dict(line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    bob = users_world.user("bob")
    runtime = Path(exports["XDG_RUNTIME_DIR"])
    assert runtime == users_world.root / "run" / "user" / str(bob.uid)
    assert exports["CONTAINER_HOST"] == f"unix://{runtime}/podman/podman.sock"
    assert Path(exports["DBUS_SESSION_BUS_ADDRESS"].removeprefix("unix:path=")).is_socket()
    assert os.stat(runtime).st_uid == bob.uid


def test_unknown_user_is_a_clear_error(users_world: World) -> None:
    done = sandbox("exec", str(users_world.root), "--user", "carol", "--", "true")
    assert done.returncode == 2
    assert "no user 'carol'" in done.stderr and "--user carol" in done.stderr
    done = sandbox("env", str(users_world.root), "--user", "carol")
    assert done.returncode == 2 and "no user 'carol'" in done.stderr


def test_bad_user_name_is_refused(tmp_path: Path) -> None:
    done = sandbox("up", str(tmp_path / "w"), "--user", "Bad Name")
    assert done.returncode == 2
    assert done.stderr.startswith("podbridge sandbox: user name 'Bad Name': use lower-case")
    assert not (tmp_path / "w").exists(), "nothing is made for a bad name"


@pytest.mark.timeout(300)
def test_reboot_brings_back_the_user_manager_and_enabled_units(tmp_path: Path,
                                                                flavour: str) -> None:
    with checked_world(tmp_path / "world", "the test's", flavour, users=["carol"]) as w:
        unit = "~/.config/systemd/user/sleeper.service"
        w.run_as("carol", ["sh", "-ec",
                           "mkdir -p ~/.config/systemd/user\n"
                           f"printf '[Service]\\nExecStart=/bin/sleep infinity\\n"
                           f"[Install]\\nWantedBy=default.target\\n' > {unit}\n"
                           "systemctl --user daemon-reload\n"
                           "systemctl --user enable --now sleeper.service"])
        before = w.run_as("carol", ["systemctl", "--user", "show", "-P", "MainPID",
                                    "sleeper.service"]).stdout.strip()
        w.reboot()
        assert w.run_as("carol", ["systemctl", "--user", "is-active",
                                  "sleeper.service"]).stdout.strip() == "active"
        after = w.run_as("carol", ["systemctl", "--user", "show", "-P", "MainPID",
                                   "sleeper.service"]).stdout.strip()
        assert after != before and after != "0"
        assert w.run_as("carol", ["podman", "info", "--format",
                                  "{{.Host.Security.Rootless}}"]).stdout.strip() == "true"
