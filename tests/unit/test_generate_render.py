"""render() from inspect JSON, option validation, the CLI parser and output formatting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.gotext import go_json
from plugins.unit_generator.cli_args import format_output, parse_generate_args
from plugins.unit_generator.context import RenderContext, unix_date
from plugins.unit_generator.errors import GenerateError
from plugins.unit_generator.options import GenerateOptions
from plugins.unit_generator.render import render, render_with_warnings, unit_file_name

CID = "c" * 64
CTX = RenderContext(timestamp=None)


def container(cid: str = CID, name: str = "web", command: list[str] | None = None,
              **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "Id": cid, "Name": name, "GraphDriver": {"Name": "overlay"},
        "ConmonPidFile": f"/run/containers/storage/overlay-containers/{cid}/userdata/conmon.pid",
        "Config": {"CreateCommand": command, "Env": ["PATH=/bin"], "StopTimeout": 10},
        "HostConfig": {"RestartPolicy": {"Name": "", "MaximumRetryCount": 0}},
    }
    data.update(extra)
    return data


def opts(**kwargs: Any) -> GenerateOptions:
    return GenerateOptions.build(**kwargs)


def test_container_unit_derives_run_root_and_names() -> None:
    units = render(container(), None, [], opts(name=True), ctx=CTX)
    assert list(units) == ["container-web"]
    text = units["container-web"]
    assert "RequiresMountsFor=/run/containers/storage\n" in text
    assert "ExecStart=/usr/bin/podman start web\n" in text


def test_run_root_from_context_wins_and_custom_pidfile_needs_it() -> None:
    data = container(ConmonPidFile="/tmp/custom.pid")
    with pytest.raises(GenerateError, match="runroot"):
        render(data, None, [], opts(), ctx=CTX)
    units = render(data, None, [], opts(), ctx=RenderContext(timestamp=None, run_root="/rr"))
    assert "RequiresMountsFor=/rr\n" in units[f"container-{CID}"]


def test_new_without_create_command_is_refused_like_podman() -> None:
    with pytest.raises(GenerateError, match="no create command found") as err:
        render(container(), None, [], opts(new=True), ctx=CTX)
    assert err.value.code == "not-supported"


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (["podman", "run", "img", "echo", "a\nb"], "Config.CreateCommand[4]"),
        (["podman", "run", "--label", "x=\r", "img"], "Config.CreateCommand[3]"),
    ],
)
def test_newline_in_an_argument_is_refused_naming_it(command: list[str], field: str) -> None:
    with pytest.raises(GenerateError) as err:
        render(container(command=command), None, [], opts(new=True), ctx=CTX)
    assert field in str(err.value)


def test_newline_in_env_refused() -> None:
    data = container(command=["podman", "run", "-e", "K", "img"])
    data["Config"]["Env"] = ["K=a\nb"]
    with pytest.raises(GenerateError, match=r"Config\.Env\[K\]"):
        render(data, None, [], opts(new=True), ctx=CTX)
    with pytest.raises(GenerateError, match=r"--env\[0\]"):
        render(container(), None, [], opts(env=["X=1\n"]), ctx=CTX)
    with pytest.raises(GenerateError, match="after"):
        opts(after=["a.service\nExecStart=/bin/evil"])


def test_restart_policy_warning_without_new() -> None:
    data = container(HostConfig={"RestartPolicy": {"Name": "always"}})
    result = render_with_warnings(data, None, [], opts(), ctx=CTX)
    assert result.warnings and "always" in result.warnings[0]


def test_env_from_caller_environment() -> None:
    ctx = RenderContext(timestamp=None, environ={"TOKEN": "s3 %x", "TZ_A": "1", "TZ_B": "2"})
    text = render(container(), None, [], opts(env=["TOKEN", "TZ_*", "MISSING", "E="]),
                  ctx=ctx)[f"container-{CID}"]
    assert 'Environment="TOKEN=s3 %%x"\nEnvironment=TZ_A=1\nEnvironment=TZ_B=2\n' \
        "Environment=E\n" in text


def test_pod_units() -> None:
    infra, a, b = "1" * 64, "2" * 64, "3" * 64
    pod = {"Id": "p" * 64, "Name": "shop", "InfraContainerID": infra,
           "CreateCommand": ["podman", "pod", "create", "--name", "shop"],
           "Containers": [{"Id": infra}, {"Id": a}, {"Id": b}]}
    members = [container(infra, "shop-infra", IsInfra=True),
               container(a, "shop-a", ["podman", "create", "--pod", "shop", "img"],
                         Dependencies=[infra]),
               container(b, "shop-b", ["podman", "create", "--pod=shop", "img"],
                         Dependencies=[infra, a])]
    units = render(None, pod, members, opts(new=True, name=True), ctx=CTX)
    assert list(units) == ["pod-shop", "container-shop-a", "container-shop-b"]
    assert "Wants=container-shop-a.service container-shop-b.service\n" in units["pod-shop"]
    assert "BindsTo=container-shop-a.service pod-shop.service\n" in units["container-shop-b"]
    assert "--pod-id-file %t/pod-shop.pod-id" in units["container-shop-b"]
    assert "--pod=shop" not in units["container-shop-b"]
    with pytest.raises(GenerateError, match="--template is not supported for pods"):
        render(None, pod, members, opts(template=True), ctx=CTX)
    with pytest.raises(GenerateError, match="no infra container"):
        render(None, {**pod, "InfraContainerID": ""}, members, opts(), ctx=CTX)
    with pytest.raises(GenerateError, match="no inspect data"):
        render(None, pod, members[:2], opts(), ctx=CTX)
    with pytest.raises(GenerateError, match="no create command found") as err:
        render(None, {**pod, "CreateCommand": []}, members, opts(new=True), ctx=CTX)
    assert err.value.code == "not-supported"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": True, "new": False}, "--template cannot be set with --new=false"),
        ({"stop_timeout": 1, "time": 2}, "redundant"),
        ({"restart_policy": "sometimes"}, "sometimes is not a valid restart policy"),
        ({"restart_sec": -1}, "greater than or equal to 0"),
        ({"format": "yaml"}, "unknown --format argument: yaml"),
        ({"env": ["=x"]}, "invalid environment variable"),
    ],
)
def test_option_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(GenerateError, match=message):
        GenerateOptions.build(**kwargs)


def test_template_implies_new_and_time_alias() -> None:
    assert GenerateOptions.build(template=True).is_new
    assert GenerateOptions.build(time=5).effective_stop_timeout == 5


def test_cli_parses_every_podman_flag() -> None:
    parsed = parse_generate_args([
        "systemd", "-n", "--new", "-f", "--format", "json", "--restart-policy", "always",
        "--restart-sec", "3", "--start-timeout", "4", "--stop-timeout", "5",
        "--container-prefix", "c", "--pod-prefix", "p", "--separator", "_", "--no-header",
        "--after", "a", "--after", "b", "--wants", "w", "--requires", "r", "-e", "A=1",
        "--env", "B", "--template", "web"])
    assert parsed.command == "systemd" and parsed.target == "web"
    assert parsed.options.model_dump() == {
        "name": True, "new": True, "files": True, "format": "json",
        "restart_policy": "always", "restart_sec": 3, "start_timeout": 4, "stop_timeout": 5,
        "time": None, "container_prefix": "c", "pod_prefix": "p", "separator": "_",
        "no_header": True, "after": ["a", "b"], "wants": ["w"], "requires": ["r"],
        "env": ["A=1", "B"], "template": True}
    assert parse_generate_args(["systemd", "-t", "7", "x"]).options.time == 7
    assert parse_generate_args(["systemd", "--new=false", "x"]).options.new is False
    assert parse_generate_args(["systemd", "--name=true", "x"]).options.name is True
    assert parse_generate_args(["quadlet", "x"]).command == "quadlet"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["systemd"], "required"),
        (["systemd", "a", "b"], "unrecognized arguments"),
        (["systemd", "--restart-sec", "x", "a"], 'invalid argument "x" for "--restart-sec"'),
        (["systemd", "--new=maybe", "a"], 'invalid argument "maybe" for "--new"'),
        (["systemd", "--template", "--new=false", "a"], "--template cannot be set"),
        (["systemd", "--bogus", "a"], "unrecognized arguments: --bogus"),
    ],
)
def test_cli_errors_raise(argv: list[str], message: str) -> None:
    with pytest.raises(GenerateError, match=message):
        parse_generate_args(argv)


def test_bad_flag_values_are_quoted_as_pflag_quotes_them() -> None:
    """pflag and strconv write the refused value with %q (strconv.Quote): a double quote in
    it is escaped (flagscan's own: test_scan_errors)."""
    with pytest.raises(GenerateError) as info:
        parse_generate_args(["systemd", '--new=a"b', "x"])
    assert str(info.value) == ('invalid argument "a\\"b" for "--new" flag: '
                               'strconv.ParseBool: parsing "a\\"b": invalid syntax')
    # A flag with a shorthand is named by both, as `podman generate systemd --name=x` says.
    for word in ("--name=x", "-n=x"):
        with pytest.raises(GenerateError) as info:
            parse_generate_args(["systemd", word, "x"])
        assert str(info.value) == ('invalid argument "x" for "-n, --name" flag: '
                                   'strconv.ParseBool: parsing "x": invalid syntax')
    with pytest.raises(GenerateError) as info:
        parse_generate_args(["systemd", "--restart-sec", '1"', "x"])
    assert str(info.value).endswith('invalid argument "1\\"" for "--restart-sec" flag: '
                                    'strconv.ParseUint: parsing "1\\"": invalid syntax')


def test_output_formats() -> None:
    units = {"container-a": "A&<\n", "container-b": "B\n"}
    assert format_output(units, opts()).stdout == "A&<\nB\n"
    printed = format_output(units, opts(format="json")).stdout
    assert json.loads(printed) == units and "\\u0026\\u003c" in printed
    files = format_output(units, opts(files=True), cwd="/w")
    assert files.files == {"/w/container-a.service": "A&<\n", "/w/container-b.service": "B\n"}
    assert files.stdout == "/w/container-a.service\n/w/container-b.service\n"
    as_json = format_output(units, opts(files=True, format="json"), cwd="/w")
    assert json.loads(as_json.stdout) == {"container-a": "/w/container-a.service",
                                          "container-b": "/w/container-b.service"}
    assert unit_file_name("container-a", opts(template=True)) == "container-a@.service"
    assert go_json({"b": 1, "a": "é"}, " ", sort_keys=True) == '{\n "a": "é",\n "b": 1\n}'


def test_unix_date() -> None:
    moment = datetime(2026, 11, 2, 9, 5, 7, tzinfo=UTC)
    assert unix_date(moment) == "Mon Nov  2 09:05:07 UTC 2026"
