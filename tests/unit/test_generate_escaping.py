"""Escaping and flag filtering: Podman 4.3.1's common_test.go tables, plus our refusals."""

from __future__ import annotations

import re

import pytest

from bridge.gotext import go_quote
from plugins.unit_generator.create_command import (
    filter_common_container_flags,
    filter_pod_flags,
)
from plugins.unit_generator.errors import GenerateError
from plugins.unit_generator.escaping import (
    check_expressible,
    escape_arg,
    escape_args,
    format_options,
)
from plugins.unit_generator.flagscan import CONTAINER_FLAGS, scan_flags


@pytest.mark.parametrize(
    ("command", "output", "arg_count"),
    [
        (["podman", "pod", "create"], ["podman", "pod", "create"], 0),
        (["podman", "pod", "create", "--name", "foo"],
         ["podman", "pod", "create", "--name", "foo"], 0),
        (["podman", "pod", "create", "--pod-id-file", "foo"], ["podman", "pod", "create"], 0),
        (["podman", "pod", "create", "--pod-id-file=foo"], ["podman", "pod", "create"], 0),
        (["podman", "pod", "create", "--pod-id-file", "foo", "--infra-conmon-pidfile", "foo"],
         ["podman", "pod", "create"], 0),
        (["podman", "pod", "create", "--pod-id-file", "foo", "--infra-conmon-pidfile=foo"],
         ["podman", "pod", "create"], 0),
        (["podman", "run", "--pod", "foo"], ["podman", "run"], 0),
        (["podman", "run", "--pod=foo"], ["podman", "run"], 0),
        (["podman", "run", "--pod=foo", "fedora", "podman", "run", "--pod=test", "alpine"],
         ["podman", "run", "fedora", "podman", "run", "--pod=test", "alpine"], 5),
        (["podman", "run", "--pod", "foo", "fedora", "podman", "run", "--pod", "test",
          "alpine"],
         ["podman", "run", "fedora", "podman", "run", "--pod", "test", "alpine"], 6),
        (["podman", "run", "--pod-id-file=foo", "fedora", "podman", "run",
          "--pod-id-file=test", "alpine"],
         ["podman", "run", "fedora", "podman", "run", "--pod-id-file=test", "alpine"], 5),
        (["podman", "run", "--pod-id-file", "foo", "fedora", "podman", "run",
          "--pod-id-file", "test", "alpine"],
         ["podman", "run", "fedora", "podman", "run", "--pod-id-file", "test", "alpine"], 6),
    ],
)
def test_filter_pod_flags(command: list[str], output: list[str], arg_count: int) -> None:
    assert filter_pod_flags(command, arg_count) == output


@pytest.mark.parametrize(
    ("command", "output", "arg_count"),
    [
        (["podman", "run", "alpine"], ["podman", "run", "alpine"], 1),
        (["podman", "run", "--conmon-pidfile", "foo", "alpine"],
         ["podman", "run", "--conmon-pidfile", "foo", "alpine"], 1),
        (["podman", "run", "--conmon-pidfile=foo", "alpine"],
         ["podman", "run", "--conmon-pidfile=foo", "alpine"], 1),
        (["podman", "run", "--cidfile", "foo", "alpine"], ["podman", "run", "alpine"], 1),
        (["podman", "run", "--cidfile=foo", "alpine"], ["podman", "run", "alpine"], 1),
        (["podman", "run", "--cgroups", "foo", "alpine"], ["podman", "run", "alpine"], 1),
        (["podman", "run", "--cgroups=foo", "--restart=foo", "alpine"],
         ["podman", "run", "alpine"], 1),
        (["podman", "run", "--cgroups=foo", "--rm", "--restart", "foo", "alpine"],
         ["podman", "run", "alpine"], 1),
        (["podman", "run", "--cgroups", "--rm=bogus", "alpine", "--cgroups", "foo",
          "--conmon-pidfile", "foo", "--cidfile", "foo", "--rm"],
         ["podman", "run", "alpine", "--cgroups", "foo", "--conmon-pidfile", "foo",
          "--cidfile", "foo", "--rm"], 7),
    ],
)
def test_filter_common_container_flags(command: list[str], output: list[str],
                                       arg_count: int) -> None:
    assert filter_common_container_flags(command, arg_count) == output


@pytest.mark.parametrize(
    ("words", "escaped"),
    [
        (["foo", 'bar="arg"'], ["foo", '"bar=\\"arg\\""']),
        (["foo", 'bar="arg with space"'], ["foo", '"bar=\\"arg with space\\""']),
        (["foo", 'bar="arg with\ttab"'], ["foo", '"bar=\\"arg with\\ttab\\""']),
        (["$"], ["$$"]),
        (["foo", "command with dollar sign $"], ["foo", '"command with dollar sign $$"']),
        (["foo", "command with two dollar signs $$"],
         ["foo", '"command with two dollar signs $$$$"']),
        (["%"], ["%%"]),
        (["foo", "command with percent sign %"], ["foo", '"command with percent sign %%"']),
        (["foo", "command with two percent signs %%"],
         ["foo", '"command with two percent signs %%%%"']),
        (["\\"], ["\\\\"]),
        (["foo", "command with backslash \\"], ["foo", '"command with backslash \\\\"']),
        (["foo", "command with two backslashes \\\\"],
         ["foo", '"command with two backslashes \\\\\\\\"']),
        (["podman", "create", "--entrypoint", "foo"], ["podman", "create", "--entrypoint", "foo"]),
        (["podman", "create", "--entrypoint=foo"], ["podman", "create", "--entrypoint=foo"]),
        (["podman", "create", "--entrypoint", '["foo"]'],
         ["podman", "create", "--entrypoint", '"[\\"foo\\"]"']),
        (["podman", "create", "--entrypoint", '["sh", "-c", "date \'+%s\'"]'],
         ["podman", "create", "--entrypoint",
          '"[\\"sh\\", \\"-c\\", \\"date \'+%%s\'\\"]"']),
    ],
)
def test_escape_systemd_arguments(words: list[str], escaped: list[str]) -> None:
    assert escape_args(words) == escaped


def test_go_quote_matches_strconv_quote() -> None:
    assert go_quote("a\x01b") == '"a\\x01b"'
    assert go_quote("\x7f") == '"\\x7f"'
    assert go_quote("é ü") == '"é ü"'
    assert go_quote("\u00a0") == '"\\u00a0"'
    assert go_quote("\a\b\f\v") == '"\\a\\b\\f\\v"'


def test_escape_arg_quotes_only_on_space_tab_quote() -> None:
    assert escape_arg("a'b") == "a'b"
    assert escape_arg("a b") == '"a b"'
    assert escape_arg("a\\b") == "a\\\\b"
    assert escape_arg("a\\ b") == '"a\\\\ b"'


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\x00b"])
def test_check_expressible_refuses_line_breaks_and_nul(bad: str) -> None:
    with pytest.raises(GenerateError, match=re.escape("Config.CreateCommand[3]")):
        check_expressible(bad, "Config.CreateCommand[3]")


def test_format_options() -> None:
    assert format_options([]) == ""
    assert format_options(["a", "-b", "c", "--d"]) == "a \\\n\t-b c \\\n\t--d"


@pytest.mark.parametrize(
    ("words", "positional"),
    [
        (["-d", "--name", "x", "img", "cmd"], ["img", "cmd"]),
        # An unknown flag swallows the next word (pflag): only "cmd" is positional.
        (["--privileged", "img", "cmd"], ["cmd"]),
        (["--privileged", "--rm", "img", "cmd"], ["cmd"]),
        (["--foo=bar", "img"], ["img"]),
        # Short-flag groups look at the same next word for every unknown letter.
        (["-dti", "img", "cmd"], ["cmd"]),
        (["-it", "img"], []),
        (["-p=80:80", "img"], ["img"]),
        (["-h", "host", "img"], ["img"]),
        (["--", "img", "-x"], ["img", "-x"]),
        (["-", "img"], ["-", "img"]),
    ],
)
def test_scan_positional_like_pflag(words: list[str], positional: list[str]) -> None:
    assert scan_flags(words, CONTAINER_FLAGS).positional == positional


def test_scan_values() -> None:
    scan = scan_flags(["-eA=1", "--env", "B", "-e=C", "--detach=false", "--name=x",
                       "--sdnotify", "container", "--restart=always", "img"], CONTAINER_FLAGS)
    assert scan.get_list("env") == ["A=1", "B", "C"]
    assert scan.get_bool("detach") is False
    assert "detach" in scan.changed
    assert scan.get_str("name") == "x"
    assert scan.get_str("sdnotify") == "container"
    assert scan.get_str("restart") == "always"


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (["--detach=maybe", "img"], 'invalid argument "maybe"'),
        (['--detach=a"b', "img"], 'invalid argument "a\\"b" for "-d, --detach" flag: '
         'strconv.ParseBool: parsing "a\\"b": invalid syntax'),
        (["--name"], "flag needs an argument: --name"),
        # pflag names a flag with a shorthand by both (podman 4.3.1: `podman run -d=x`).
        (["-d=x", "img"], 'invalid argument "x" for "-d, --detach" flag'),
        (["-e"], "flag needs an argument: 'e' in -e"),
        (["---x", "img"], "bad flag syntax: ---x"),
    ],
)
def test_scan_errors(words: list[str], message: str) -> None:
    with pytest.raises(GenerateError, match=re.escape(message)):
        scan_flags(words, CONTAINER_FLAGS)
