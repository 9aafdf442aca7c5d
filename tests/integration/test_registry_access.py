"""The auto-update plugin's registry checks (plugins/auto_update/skopeo.py) against real
registries (`docker-registry`, the world's registry binary; open, and behind htpasswd): the
cases Podman resolves through containers/image — digests of one platform and of a list,
mirrors, the auth file at $XDG_RUNTIME_DIR/containers/auth.json, a credential helper,
--authfile, insecure registries from registries.conf — and the words of its errors."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from plugins.auto_update.reference import parse_reference
from plugins.auto_update.registry import Platform, RegistryError
from plugins.auto_update.skopeo import SkopeoClient
from tests import registry_support as rs

AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64")


@pytest.fixture(scope="module")
def layout(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("oci")
    return folder, rs.oci_layout(folder)


@pytest.fixture(scope="module")
def open_registry(tmp_path_factory: pytest.TempPathFactory,
                  layout: tuple[Path, dict[str, str]]) -> Iterator[rs.Registry]:
    reg = rs.start(tmp_path_factory.mktemp("open-registry"))
    try:
        rs.push(layout[0], "single", f"{reg.host}/t/one:latest", reg)
        rs.push(layout[0], "multi", f"{reg.host}/t/multi:latest", reg)
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory,
                  layout: tuple[Path, dict[str, str]]) -> Iterator[rs.Registry]:
    reg = rs.start(tmp_path_factory.mktemp("auth-registry"), "alice", "s3cret-pw")
    try:
        rs.push(layout[0], "single", f"{reg.host}/t/private:latest", reg)
        yield reg
    finally:
        reg.stop()


def conf(tmp_path: Path, text: str) -> str:
    path = tmp_path / "registries.conf"
    path.write_text(text)
    return str(path)


def insecure(tmp_path: Path, *hosts: str) -> str:
    return conf(tmp_path, "".join(f'[[registry]]\nlocation = "{h}"\ninsecure = true\n'
                                  for h in hosts))


@pytest.fixture
def no_default_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No auth file reachable by the default lookup but the one a test writes."""
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    run = tmp_path / "xdg-run"
    (run / "containers").mkdir(parents=True)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(run))
    return run


async def test_one_platforms_digest_is_the_registrys(tmp_path: Path,
                                                    open_registry: rs.Registry) -> None:
    client = SkopeoClient(insecure(tmp_path, open_registry.host))
    got = await client.remote_image(parse_reference(f"{open_registry.host}/t/one:latest"),
                                    AMD64)
    assert got.digest == rs.registry_digest(open_registry, "t/one", "latest")
    assert got.list_digest is None


async def test_a_lists_entry_for_the_local_platform(
        tmp_path: Path, open_registry: rs.Registry,
        layout: tuple[Path, dict[str, str]]) -> None:
    client = SkopeoClient(insecure(tmp_path, open_registry.host))
    ref = parse_reference(f"{open_registry.host}/t/multi:latest")
    index = rs.registry_digest(open_registry, "t/multi", "latest")
    assert index == layout[1]["index"]
    amd, arm = await client.remote_image(ref, AMD64), await client.remote_image(ref, ARM64)
    assert (amd.digest, amd.list_digest) == (layout[1]["amd64"], index)
    assert (arm.digest, arm.list_digest) == (layout[1]["arm64"], index)
    # The local image came from this very list: nothing to update, no entry needed.
    same = await client.remote_image(ref, AMD64, known=frozenset({index}))
    assert (same.digest, same.list_digest) == (index, None)
    created = await client.created(ref, amd.digest)
    assert created == datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


async def test_a_mirror_answers_for_a_registry_nobody_can_reach(
        tmp_path: Path, open_registry: rs.Registry) -> None:
    # registries.conf sends registry.podbridge.invalid to the mirror, as Podman's pull does.
    path = conf(tmp_path, f"""
[[registry]]
location = "registry.podbridge.invalid"
[[registry.mirror]]
location = "{open_registry.host}"
insecure = true
""")
    got = await SkopeoClient(path).remote_image(
        parse_reference("registry.podbridge.invalid/t/one:latest"), AMD64)
    assert got.digest == rs.registry_digest(open_registry, "t/one", "latest")
    # Without the mirror the same name cannot be resolved.
    with pytest.raises(RegistryError):
        await SkopeoClient(conf(tmp_path, "")).remote_image(
            parse_reference("registry.podbridge.invalid/t/one:latest"), AMD64)


async def test_rootless_auth_file_in_xdg_runtime_dir(
        tmp_path: Path, auth_registry: rs.Registry, no_default_auth: Path) -> None:
    ref = parse_reference(f"{auth_registry.host}/t/private:latest")
    client = SkopeoClient(insecure(tmp_path, auth_registry.host))
    with pytest.raises(RegistryError) as refused:
        await client.remote_image(ref, AMD64)
    assert "unauthorized" in str(refused.value)
    (no_default_auth / "containers" / "auth.json").write_text(json.dumps(
        {"auths": {auth_registry.host: {"auth": basic(auth_registry)}}}))
    got = await client.remote_image(ref, AMD64)
    assert got.digest == rs.registry_digest(auth_registry, "t/private", "latest")


async def test_a_credential_helper_named_in_the_auth_file(
        tmp_path: Path, auth_registry: rs.Registry, no_default_auth: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    asked = tmp_path / "asked"
    helper = bin_dir / "docker-credential-podbridgetest"
    # The docker credential helper protocol: `get`, the server on stdin, JSON out.
    helper.write_text(f"""#!/bin/sh
[ "$1" = get ] || exit 1
read server
echo "$server" >> {asked}
printf '{{"ServerURL":"%s","Username":"%s","Secret":"%s"}}' "$server" \
    '{auth_registry.user}' '{auth_registry.password}'
""")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    authfile = tmp_path / "helper-auth.json"
    authfile.write_text(json.dumps({"credHelpers": {auth_registry.host: "podbridgetest"}}))
    client = SkopeoClient(insecure(tmp_path, auth_registry.host), authfile_path=str(authfile))
    got = await client.remote_image(
        parse_reference(f"{auth_registry.host}/t/private:latest"), AMD64)
    assert got.digest == rs.registry_digest(auth_registry, "t/private", "latest")
    assert auth_registry.host in asked.read_text()


async def test_a_containers_authfile_label_beats_the_runs_authfile(
        tmp_path: Path, auth_registry: rs.Registry, no_default_auth: Path) -> None:
    wrong, right = tmp_path / "wrong.json", tmp_path / "right.json"
    wrong.write_text(json.dumps({"auths": {}}))
    right.write_text(json.dumps({"auths": {auth_registry.host: {"auth": basic(auth_registry)}}}))
    client = SkopeoClient(insecure(tmp_path, auth_registry.host), authfile_path=str(wrong))
    ref = parse_reference(f"{auth_registry.host}/t/private:latest")
    with pytest.raises(RegistryError):
        await client.remote_image(ref, AMD64)
    got = await client.remote_image(ref, AMD64, authfile_path=str(right))
    assert got.digest == rs.registry_digest(auth_registry, "t/private", "latest")


async def test_an_http_registry_needs_insecure_in_registries_conf(
        tmp_path: Path, open_registry: rs.Registry) -> None:
    ref = parse_reference(f"{open_registry.host}/t/one:latest")
    with pytest.raises(RegistryError) as err:
        await SkopeoClient(conf(tmp_path, "")).remote_image(ref, AMD64)
    assert "HTTP response to HTTPS client" in err.value.podman
    # --tls-verify=false says the same as insecure = true.
    got = await SkopeoClient(conf(tmp_path, ""), tls_verify=False).remote_image(ref, AMD64)
    assert got.digest == rs.registry_digest(open_registry, "t/one", "latest")


async def test_errors_carry_podmans_words(tmp_path: Path,
                                          open_registry: rs.Registry) -> None:
    client = SkopeoClient(insecure(tmp_path, open_registry.host))
    with pytest.raises(RegistryError) as gone:
        await client.remote_image(parse_reference(f"{open_registry.host}/t/one:nope"))
    assert str(gone.value) == f"not found: the manifest of {open_registry.host}/t/one:nope (404)"
    assert "manifest unknown" in gone.value.podman
    dead = f"127.0.0.1:{rs.free_port()}"
    with pytest.raises(RegistryError) as refused:
        await SkopeoClient(conf(tmp_path, "")).remote_image(parse_reference(f"{dead}/t/x:1"))
    assert refused.value.podman == (f'pinging container registry {dead}: Get "https://{dead}'
                                    f'/v2/": dial tcp {dead}: connect: connection refused')


def basic(reg: rs.Registry) -> str:
    import base64
    return base64.b64encode(f"{reg.user}:{reg.password}".encode()).decode()
