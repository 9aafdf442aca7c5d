"""The create command containers.create records: each param as the podman CLI reads it
(the integration test runs such a command through the real CLI)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.create_command import create_command, duration
from bridge.errors import InvalidParams
from bridge.methods_containers import CreateParams, Volume, spec_of, storage_of


def cmd(**params: Any) -> list[str] | None:
    return create_command(CreateParams.model_validate({"image": "localhost/a:1", **params}))


def test_the_least_is_podman_create_image() -> None:
    assert cmd() == ["podman", "create", "localhost/a:1"]
    # "no" is Podman's default restart policy: not written, as a user would not type it.
    assert cmd(restart_policy="no", command=["-x", "y"]) == [
        "podman", "create", "localhost/a:1", "-x", "y"]


@pytest.mark.parametrize("port, flag", [
    ({"container_port": 80}, "80"),
    ({"container_port": 80, "host_port": 8080}, "8080:80"),
    ({"container_port": 53, "protocol": "udp"}, "53/udp"),
    ({"container_port": 80, "host_ip": "127.0.0.1"}, "127.0.0.1::80"),
    ({"container_port": 80, "host_port": 8080, "host_ip": "::1"}, "[::1]:8080:80"),
])
def test_ports(port: dict[str, Any], flag: str) -> None:
    assert cmd(ports=[port]) == ["podman", "create", "--publish", flag, "localhost/a:1"]


def test_volumes_a_colon_needs_mount_and_a_colon_and_comma_cannot_be_said() -> None:
    assert cmd(volumes=[{"source": "/a:b", "destination": "/d", "read_only": True}])[2:4] == [
        "--mount", "type=bind,source=/a:b,destination=/d,ro"]
    assert cmd(volumes=[{"source": "/a:b,c", "destination": "/d"}]) is None
    assert cmd(volumes=[{"source": "data", "destination": "/d"}])[2:4] == [
        "--volume", "data:/d"]


def test_entrypoint_health_and_restart() -> None:
    assert cmd(entrypoint=["/bin/sh"])[2:4] == ["--entrypoint", "/bin/sh"]
    assert cmd(entrypoint=["/bin/sh", "-c"])[2:4] == ["--entrypoint", '["/bin/sh","-c"]']
    assert cmd(entrypoint=[])[2:4] == ["--entrypoint", "[]"]
    assert cmd(health={"command": ["/bin/check"]})[2:] == [
        "--health-cmd", "/bin/check", "localhost/a:1"]
    assert cmd(health={"command": ["curl", "-f", "x"], "interval": 0.5})[2:6] == [
        "--health-cmd", '["curl","-f","x"]', "--health-interval", "500ms"]
    assert cmd(health={"command": "true", "on_failure": "kill"})[2:] == [
        "--health-cmd", "true", "--health-on-failure", "kill", "localhost/a:1"]
    assert cmd(health={"command": "true", "on_failure": "none"})[2:] == [
        "--health-cmd", "true", "localhost/a:1"]
    assert cmd(restart_policy="on-failure", restart_retries=2)[2:4] == [
        "--restart", "on-failure:2"]
    assert cmd(auto_update="registry", labels={"a": "b"})[2:6] == [
        "--label", "a=b", "--label", "io.containers.autoupdate=registry"]
    assert duration(30) == "30s" and duration(2.5) == "2500ms"


def test_terminal_and_limits() -> None:
    assert cmd(tty=True)[2:] == ["--tty", "localhost/a:1"]
    assert cmd(limits={"memory": 64 * 1024 * 1024, "cpu_shares": 512, "cpus": 0.5})[2:8] == [
        "--memory", str(64 * 1024 * 1024), "--cpu-shares", "512", "--cpus", "0.5"]
    assert cmd(limits={"cpus": 2})[2:4] == ["--cpus", "2"]
    assert cmd(limits={}) == ["podman", "create", "localhost/a:1"]


def test_spec_carries_terminal_limits_and_storage() -> None:
    spec = spec_of(CreateParams.model_validate({
        "image": "localhost/a:1", "tty": True,
        "limits": {"memory": 6 * 1024 * 1024, "cpu_shares": 2, "cpus": 0.25}}))
    assert spec["terminal"] is True
    assert spec["resource_limits"] == {"memory": {"limit": 6 * 1024 * 1024},
                                       "cpu": {"shares": 2, "quota": 25_000, "period": 100_000}}
    assert "terminal" not in spec_of(CreateParams.model_validate({"image": "a"}))
    with pytest.raises(InvalidParams):
        storage_of([Volume(source="rel/x", destination="/x")])
    assert storage_of([]) == {}


def test_health_action_in_the_spec() -> None:
    """libpod's spec takes the action's number (1 is its "invalid"); none is left out."""
    def spec(action: str) -> dict[str, Any]:
        return spec_of(CreateParams.model_validate(
            {"image": "a", "health": {"command": "true", "on_failure": action}}))
    assert [spec(a).get("health_check_on_failure_action") for a in
            ("none", "kill", "restart", "stop")] == [None, 2, 3, 4]
    with pytest.raises(ValueError, match="on_failure"):
        CreateParams.model_validate({"image": "a", "health": {"command": "true",
                                                              "on_failure": "explode"}})
