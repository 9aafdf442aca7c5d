"""The Quadlet unit-file parser and systemd's exec-line word rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugins.unit_generator.quadlet.generator import load_dropins
from plugins.unit_generator.quadlet.parser import UnitFile, UnitFileError
from plugins.unit_generator.quadlet.split import (
    EXEC_FLAGS,
    STRV_FLAGS,
    SplitError,
    escape_words,
    path_escape,
    split_words,
)

SAMPLE = """\
# leading comment
[Unit]
Description=demo

[Container]
Image="localhost/img"
Environment=A=1
Environment=B=2 \\
# a comment inside a continuation is dropped
  C=3
Exec=/bin/sh -c "echo hi"
Label=
Label=x=y
"""


def test_round_trip_keeps_comments_and_order() -> None:
    unit = UnitFile.from_string(SAMPLE)
    assert unit.list_groups() == ["Unit", "Container"]
    text = unit.to_string()
    assert text.startswith("# leading comment\n[Unit]\nDescription=demo\n\n[Container]\n")
    assert UnitFile.from_string(text).to_string() == text


def test_lookups() -> None:
    unit = UnitFile.from_string(SAMPLE)
    assert unit.lookup("Container", "Image") == "localhost/img"
    assert unit.lookup_last("Container", "Image") == '"localhost/img"'
    assert unit.lookup_all("Container", "Environment") == ["A=1", "B=2 C=3"]
    assert unit.lookup_all("Container", "Label") == ["x=y"]  # Label= reset the list
    assert unit.lookup_last_args("Container", "Exec") == ["/bin/sh", "-c", "echo hi"]
    assert unit.lookup("Container", "Missing") is None
    pairs, warnings = unit.lookup_all_key_val("Container", "Environment")
    assert pairs == {"A": "1", "B": "2", "C": "3"} and not warnings
    assert unit.list_keys("Container") == ["Image", "Environment", "Exec", "Label"]


@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("On", True), ("1", True), ("TRUE", True), ("no", False), ("0", False),
    ("junk", False),
])
def test_booleans(text: str, value: bool) -> None:
    unit = UnitFile.from_string(f"[X]\nKey={text}\n")
    assert unit.lookup_bool("X", "Key") is value
    assert unit.lookup_bool_default("X", "Other", True) is True


@pytest.mark.parametrize(("text", "value"), [
    ("10", 10), ("0x10", 16), ("010", 8), ("-5", 0), ("abc", 0), ("4294967296", 0),
    ("", 0), ("+", 0), ("-", 0),
])
def test_uint32(text: str, value: int) -> None:
    assert UnitFile.from_string(f"[X]\nKey={text}\n").lookup_uint32("X", "Key", 0) == value


def test_groups_of_one_name_merge_and_rename() -> None:
    unit = UnitFile.from_string("[A]\nK=1\n[B]\nK=2\n[A]\nK=3\n")
    assert unit.lookup_all("A", "K") == ["1", "3"]
    unit.rename_group("A", "B")
    assert unit.list_groups() == ["B"]
    assert unit.lookup_all("B", "K") == ["2", "1", "3"]


@pytest.mark.parametrize("bad", ["K=1\n", "[A]\njunk\n", "[A]\n=v\n", "[A\x01]\n"])
def test_parse_errors(bad: str) -> None:
    with pytest.raises(UnitFileError):
        UnitFile.from_string(bad)


def test_edits() -> None:
    unit = UnitFile.from_string("[Unit]\nAfter=a\n")
    unit.prepend_line("Unit", "Wants", "w")
    unit.set("Unit", "After", "b")
    unit.add("Unit", "After", "c")
    unit.add_cmdline("Service", "ExecStart", ["/bin/echo", "an arg", 'q"'])
    unit.add_escaped("Unit", "RequiresMountsFor", "/with space")
    unit.prepend_comment("", "generated", "")
    assert unit.to_string() == (
        "# generated\n# \n[Unit]\nWants=w\nAfter=b\nAfter=c\n"
        'RequiresMountsFor="/with\\x20space"\n\n'
        '[Service]\nExecStart=/bin/echo "an\\x20arg" "q\\""\n')
    assert unit.lookup_last_args("Service", "ExecStart") == ["/bin/echo", "an arg", 'q"']
    unit.unset("Unit", "After")
    assert unit.lookup_all("Unit", "After") == []


@pytest.mark.parametrize(("text", "words"), [
    ("a b\tc", ["a", "b", "c"]),
    ("'a b' \"c d\"", ["a b", "c d"]),
    ("a\\nb", ["a\nb"]),
    ("'\\110ello \\127orld'", ["Hello World"]),
    ("\\x41\\u00e9\\U0001F600\\s", ["Aé😀 "]),
    ("a\"b c\"d", ["ab cd"]),
    ("'unbalanced", ["unbalanced"]),  # relaxed
    ("a \"\" b", ["a"]),  # an empty word ends the split, as in Podman
])
def test_split_exec(text: str, words: list[str]) -> None:
    assert split_words(text, EXEC_FLAGS) == words


@pytest.mark.parametrize("text", ["'test\\.com'", "a\\q", "\\x00"])
def test_split_bad_escape(text: str) -> None:
    with pytest.raises(SplitError, match="unsupported escape char"):
        split_words(text, EXEC_FLAGS)


def test_split_strv_keeps_backslashes() -> None:
    assert split_words("a\\b 'c d'", STRV_FLAGS) == ["a\\b", "c d"]


@pytest.mark.parametrize("words", [
    ["plain", "an arg", "tab\there", "q'uote", 'd"q', "back\\slash", "ctl\x01", "é"],
    ["--label", "a=b c", ""],
])
def test_escape_round_trip(words: list[str]) -> None:
    escaped = escape_words(words)
    assert split_words(escaped) == [w for w in words if w]


def test_path_escape() -> None:
    assert path_escape("/var/lib/my-dir") == "var-lib-my\\x2ddir"


def test_template_parts_and_dropin_paths() -> None:
    unit = UnitFile("foo-bar@inst.container")
    assert unit.template_parts() == ("foo-bar", "inst", True)
    assert unit.dropin_paths() == [
        "foo-bar@inst.container.d", "foo-bar@.container.d", "foo-@.container.d",
        "foo-.container.d", "container.d",
    ]
    assert UnitFile("plain.volume").dropin_paths() == ["plain.volume.d", "volume.d"]


def test_dropins_merge_in_name_order_most_specific_wins(tmp_path: Path) -> None:
    (tmp_path / "web@.container.d").mkdir()
    (tmp_path / "web@.container.d" / "10-a.conf").write_text("[Container]\nLabel=generic\n")
    (tmp_path / "web@.container.d" / "20-b.conf").write_text("[Container]\nLabel=b\n")
    (tmp_path / "web@1.container.d").mkdir()
    (tmp_path / "web@1.container.d" / "10-a.conf").write_text("[Container]\nLabel=specific\n")
    (tmp_path / "container.d").mkdir()
    (tmp_path / "container.d" / "05-all.conf").write_text("[Container]\nLabel=all\n")
    (tmp_path / "container.d" / "ignored.txt").write_text("[Container]\nLabel=no\n")
    unit = UnitFile.from_string("[Container]\nImage=x\n", "web@1.container")
    errors: list[str] = []
    load_dropins(unit, [str(tmp_path)], errors)
    assert not errors
    assert unit.lookup_all("Container", "Label") == ["all", "specific", "b"]
