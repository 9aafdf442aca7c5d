"""``generate quadlet``: each file checked key by key against the container it came from."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.unit_generator.errors import GenerateError
from plugins.unit_generator.quadlet_export import export

from .unitdiff import parse_unit, split_words

ID = "a17463ae78e0" + "0" * 52


def inspect(command: list[str] | None, **config: Any) -> dict[str, Any]:
    return {"Id": ID, "Name": "web", "ConmonPidFile": "/run/x/conmon.pid",
            "Config": {"CreateCommand": command, "Image": "localhost/web:1",
                       "Env": ["PATH=/bin", "HOME=/root", "SECRET=a b"], **config},
            "HostConfig": {"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}}}


def keys(text: str, section: str) -> list[tuple[str, str]]:
    return [(e.key, e.value) for e in parse_unit(text) if e.section == section]


def test_container_keys_match_the_create_command() -> None:
    command = ["podman", "--log-level", "error", "create", "--name", "web", "-p", "8080:80",
               "-p=127.0.0.1:8443:443", "-e", "A=b c %d", "-e", "SECRET", "--label",
               "io.containers.autoupdate=registry", "-l", "tier=front end",
               "-v", "/srv/www:/usr/share/www:ro,z", "--mount",
               "type=tmpfs,destination=/cache", "--health-cmd", "curl -f http://localhost/",
               "--health-interval=30s", "--sdnotify=container", "--restart",
               "on-failure:3", "--rm", "--replace", "--cidfile=/tmp/x", "-u", "1000:100",
               "--security-opt", "label=disable", "--security-opt", "seccomp=unconfined",
               "--cap-add", "NET_ADMIN", "--read-only", "--privileged", "--network", "web-net",
               "-h", "www", "--entrypoint", "/bin/sh", "--foo-unknown", "bar",
               "localhost/web:1", "-c", "echo $HOME 100% \\o/"]
    result = export(inspect(command), None)
    assert list(result.files) == ["web.container"]
    text = result.files["web.container"]
    assert keys(text, "Container") == [
        ("Image", "localhost/web:1"),
        ("ContainerName", "web"),
        ("PublishPort", "8080:80"),
        ("PublishPort", "127.0.0.1:8443:443"),
        ("Environment", '"A=b c %%d"'),
        ("Environment", '"SECRET=a b"'),
        ("AutoUpdate", "registry"),
        ("Label", '"tier=front end"'),
        ("Volume", "/srv/www:/usr/share/www:ro,z"),
        ("Mount", "type=tmpfs,destination=/cache"),
        ("HealthCmd", "curl -f http://localhost/"),
        ("HealthInterval", "30s"),
        ("Notify", "true"),
        ("User", "1000"),
        ("Group", "100"),
        ("SecurityLabelDisable", "true"),
        ("SeccompProfile", "unconfined"),
        ("AddCapability", "NET_ADMIN"),
        ("ReadOnly", "true"),
        ("Network", "web-net"),
        ("HostName", "www"),
        ("Entrypoint", "/bin/sh"),
        ("GlobalArgs", "--log-level error"),
        ("Exec", '-c "echo $$HOME 100%% \\\\o/"'),
        ("PodmanArgs", "--privileged --foo-unknown bar"),
    ]
    assert keys(text, "Service") == [("Restart", "on-failure")]
    assert keys(text, "Unit") == [("StartLimitBurst", "3")]
    assert keys(text, "Install") == [("WantedBy", "default.target")]
    # What Quadlet will read back from the word-split keys is the original argv.
    exec_line = dict(keys(text, "Container"))["Exec"]
    assert split_words(exec_line) == ["-c", "echo $$HOME 100%% \\o/"]


def test_values_quadlet_would_mangle_go_to_podman_args() -> None:
    result = export(inspect(["podman", "create", "--hostname", ' "x" ', "img"]), None)
    container = dict(keys(result.files["web.container"], "Container"))
    assert "HostName" not in container
    assert split_words(container["PodmanArgs"]) == ["--hostname", ' "x" ']


def test_newline_is_refused_naming_the_field() -> None:
    with pytest.raises(GenerateError, match=r"Config\.CreateCommand\[3\]"):
        export(inspect(["podman", "create", "-e", "A=1\n2", "img"]), None)


def test_container_without_create_command_uses_inspect_data() -> None:
    data = inspect(None, Cmd=["sleep", "1d"], Labels={"io.containers.autoupdate": "local"})
    data["HostConfig"] = {"RestartPolicy": {"Name": "always"},
                          "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}
    result = export(data, None)
    text = result.files["web.container"]
    assert keys(text, "Container") == [("Image", "localhost/web:1"), ("ContainerName", "web"),
                                       ("PublishPort", "8080:80"), ("AutoUpdate", "local"),
                                       ("Exec", "sleep 1d")]
    assert keys(text, "Service") == [("Restart", "always")]
    assert result.warnings


def test_pod_export() -> None:
    pod = {"Id": "b" * 64, "Name": "shop", "InfraContainerID": "i" * 64,
           "CreateCommand": ["podman", "pod", "create", "--name", "shop", "-p", "9090:80",
                             "--label", "a=b c", "--infra-conmon-pidfile", "/x"],
           "Containers": [{"Id": "i" * 64}, {"Id": ID}]}
    infra = {"Id": "i" * 64, "Name": "shop-infra", "IsInfra": True, "Config": {}}
    member = inspect(["podman", "create", "--pod", "shop", "--name", "web", "img", "top"])
    result = export(None, pod, [infra, member])
    assert sorted(result.files) == ["shop.pod", "web.container"]
    assert keys(result.files["shop.pod"], "Pod") == [
        ("PodName", "shop"), ("PublishPort", "9090:80"), ("Label", '"a=b c"')]
    assert keys(result.files["web.container"], "Container") == [
        ("Image", "img"), ("Pod", "shop.pod"), ("ContainerName", "web"), ("Exec", "top")]


def test_pod_flags_without_a_key_keep_their_form() -> None:
    """A boolean given false stays ``--x=false`` (``--x false`` would turn it on and
    make ``false`` the pod's name), and a value ``true`` stays with its flag."""
    pod = {"Id": "b" * 64, "Name": "shop", "InfraContainerID": "",
           "CreateCommand": ["podman", "pod", "create", "--name", "shop", "--infra=false",
                             "--share-parent=false", "--no-hosts", "--infra-name", "true"]}
    assert keys(export(None, pod, []).files["shop.pod"], "Pod") == [
        ("PodName", "shop"),
        ("PodmanArgs", "--infra=false --share-parent=false --no-hosts --infra-name true")]
