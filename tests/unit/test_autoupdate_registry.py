"""Pure parts of registry access: references, platforms, auth files (the pull's
credentials), times; and of the bench's reference client (tests/bench/registry_v2.py):
auth challenges, registries.conf."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bridge.names import split_name
from plugins.auto_update import authfile
from plugins.auto_update.images import LocalImage
from plugins.auto_update.reference import BadReference, ImageRef, parse_reference
from plugins.auto_update.registry import (
    Platform,
    RegistryError,
    parse_time,
    pick_platform,
)
from tests.bench import registry_v2 as registries_conf
from tests.bench.registry_v2 import parse_www_authenticate


def test_bearer_challenge() -> None:
    scheme, params = parse_www_authenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/alpine:pull"')
    assert scheme == "bearer"
    assert params == {"realm": "https://auth.docker.io/token",
                      "service": "registry.docker.io",
                      "scope": "repository:library/alpine:pull"}


def test_challenge_with_commas_escapes_and_bare_values() -> None:
    scheme, params = parse_www_authenticate(
        'Bearer realm="https://r/t", scope="repository:a:pull,push", error=invalid_token, '
        'error_description="say \\"hi\\""')
    assert scheme == "bearer"
    assert params["scope"] == "repository:a:pull,push"
    assert params["error"] == "invalid_token"
    assert params["error_description"] == 'say "hi"'
    assert parse_www_authenticate('Basic realm="Registry Realm"') == (
        "basic", {"realm": "Registry Realm"})


@pytest.mark.parametrize(("name", "ref"), [
    ("quay.io/podman/stable:v4", ImageRef("quay.io", "podman/stable", "v4")),
    ("docker://127.0.0.1:5000/podbridge/httpd", ImageRef("127.0.0.1:5000", "podbridge/httpd",
                                                         "latest")),
    ("alpine", ImageRef("docker.io", "library/alpine", "latest")),
    ("localhost/x/y:1", ImageRef("localhost", "x/y", "1")),
    ("user/app:2", ImageRef("docker.io", "user/app", "2")),
])
def test_references(name: str, ref: ImageRef) -> None:
    assert parse_reference(name) == ref


def test_docker_hub_api_host() -> None:
    assert parse_reference("alpine").api_host == "registry-1.docker.io"


@pytest.mark.parametrize("name", ["quay.io/a@sha256:" + "0" * 64, "", "Quay.io/A/B:x y"])
def test_bad_references(name: str) -> None:
    with pytest.raises(BadReference):
        parse_reference(name)


INDEX = {"manifests": [
    {"digest": "sha256:arm", "platform": {"os": "linux", "architecture": "arm64"}},
    {"digest": "sha256:v6", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
    {"digest": "sha256:v7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
    {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
]}


def test_platform_pick() -> None:
    assert pick_platform(INDEX, Platform("linux", "amd64")) == "sha256:amd"
    assert pick_platform(INDEX, Platform("linux", "arm", "v7")) == "sha256:v7"
    with pytest.raises(RegistryError, match="no image for linux/s390x"):
        pick_platform(INDEX, Platform("linux", "s390x"))
    with pytest.raises(RegistryError, match="bad manifest list"):
        pick_platform({"manifests": "x"}, Platform())


def test_registries_conf_v2_and_v1() -> None:
    conf = registries_conf.parse({
        "registry": [{"location": "127.0.0.1:5000", "insecure": True},
                     {"prefix": "example.com/secure", "location": "x", "insecure": False},
                     {"location": "example.com", "insecure": True},
                     {"location": "*.internal", "insecure": True}],
        "registries": {"insecure": {"registries": ["old.example"]}}})
    assert conf.is_insecure("127.0.0.1:5000", "podbridge/httpd")
    assert conf.is_insecure("example.com", "other/repo")
    assert not conf.is_insecure("example.com", "secure/repo")  # the longer prefix wins
    assert conf.is_insecure("reg.internal", "a")
    assert conf.is_insecure("old.example", "a")
    assert not conf.is_insecure("quay.io", "a")


def test_registries_conf_file(tmp_path: Path) -> None:
    p = tmp_path / "registries.conf"
    p.write_text('[[registry]]\nlocation = "localhost:5000"\ninsecure = true\n')
    assert registries_conf.load_conf(p).is_insecure("localhost:5000")
    assert registries_conf.load_conf(tmp_path / "missing.conf").insecure == {}


def test_authfile_lookup(tmp_path: Path) -> None:
    def enc(user: str, pw: str) -> dict[str, str]:
        return {"auth": base64.b64encode(f"{user}:{pw}".encode()).decode()}

    p = tmp_path / "auth.json"
    p.write_text(json.dumps({"auths": {
        "quay.io": enc("q", "1"), "quay.io/org": enc("org", "2"),
        "https://index.docker.io/v1/": enc("hub", "3")}}))
    assert authfile.lookup("quay.io", "org/app", p) == authfile.Credentials("org", "2")
    assert authfile.lookup("quay.io", "other/app", p) == authfile.Credentials("q", "1")
    assert authfile.lookup("docker.io", "library/alpine", p) == authfile.Credentials("hub",
                                                                                      "3")
    assert authfile.lookup("ghcr.io", "a", p) is None
    # Docker Hub's names for one namespace: docker.io's own key wins, in every run.
    both = {"index.docker.io/org": enc("index", "4"), "docker.io/org": enc("hub", "5"),
            "registry-1.docker.io/org": enc("r1", "6")}
    assert authfile.find(both, "docker.io", "org/app") == authfile.Credentials("hub", "5")
    creds = authfile.Credentials("u", "p:w")
    assert creds.basic() == "Basic " + base64.b64encode(b"u:p:w").decode()
    header = json.loads(base64.urlsafe_b64decode(creds.x_registry_auth("quay.io")))
    assert header == {"username": "u", "password": "p:w", "serveraddress": "quay.io"}


def test_times() -> None:
    assert parse_time("2024-05-01T10:20:30.123456789Z") == datetime(
        2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)
    assert parse_time("2024-05-01T10:20:30+02:00") == datetime(2024, 5, 1, 8, 20, 30,
                                                               tzinfo=UTC)
    assert parse_time("yesterday") is None


def test_local_image_and_names() -> None:
    img = LocalImage.from_inspect({"Id": "abc", "Digest": "sha256:1", "RepoDigests": [
        "r/a@sha256:1", "r/a@sha256:2"], "Architecture": "amd64", "Os": "linux"})
    assert img.digests == {"sha256:1", "sha256:2"}
    assert split_name("127.0.0.1:5000/a/b:v2") == ("127.0.0.1:5000/a/b", "v2")
    assert split_name("127.0.0.1:5000/a/b") == ("127.0.0.1:5000/a/b", "latest")
