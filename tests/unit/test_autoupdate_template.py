"""--format as Podman: the Go template subset, Podman's preprocessing, Go's tabwriter and
Podman's error joining. Expected texts are what the real podman auto-update 4.3.1 printed
in the test world for the same rows (test_autoupdate_dropin compares them live)."""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from bridge.cli import main
from plugins.auto_update.cli import go_bool, podman_output
from plugins.auto_update.compat import Compat, join_errors, major_of
from plugins.auto_update.formats import Formatter, normalize, tabwriter
from plugins.auto_update.gotemplate import Struct, Template, TemplateError
from plugins.auto_update.output import Row, table

ID = "7bc6479e44b96dd0e608346a7f997da769c60b0baaea0cda4aec10d63ae39c40"
ROW = Row("xa.service", ID, "xa", "127.0.0.1:53903/podbridge/x:latest", "registry", "false")


def render(fmt: str, rows: list[Row] | None = None) -> tuple[str, str | None]:
    text, error = Formatter.parse(fmt).render([ROW] if rows is None else rows)
    return text, None if error is None else str(error)


def parse_error(fmt: str) -> str:
    with pytest.raises(TemplateError) as info:
        Formatter.parse(fmt)
    return str(info.value)


@pytest.mark.parametrize(("fmt", "text"), [
    pytest.param("", table([ROW]), id="default_is_the_table"),
    pytest.param("{{.Unit}},{{.Image}},{{.Updated}},{{.Policy}}",
                 "xa.service,127.0.0.1:53903/podbridge/x:latest,false,registry\n",
                 id="the_issue_s_script_template"),
    pytest.param("table {{.Unit}} {{.Updated}} {{json .}}", (
        'UNIT        UPDATED     {"Container":"CONTAINER","ContainerID":"CONTAINER ID",'
        '"ContainerName":"CONTAINER NAME","Image":"IMAGE","Policy":"POLICY","Unit":"UNIT",'
        '"Updated":"UPDATED"}\n'
        'xa.service  false       {"Unit":"xa.service","Container":"7bc6479e44b9 (xa)",'
        f'"ContainerName":"xa","ContainerID":"{ID}","Image":"127.0.0.1:53903/podbridge/x:'
        'latest","Policy":"registry","Updated":"false"}\n'),
        id="table_template_with_headers_and_json"),
    pytest.param("{{.}}", f"{{xa.service 7bc6479e44b9 (xa) xa {ID} 127.0.0.1:53903/podbridge/x:"
                 "latest registry false}\n", id="dot_prints_the_struct"),
])
def test_render(fmt: str, text: str) -> None:
    assert render(fmt) == (text, None)


def test_errors_are_gos() -> None:
    assert parse_error("{{.Unit") == "template: auto-update:1: bad character U+007B '{'"
    assert parse_error("{{.Unit}") == "template: auto-update:1: bad character U+007D '}'"
    assert parse_error("{{}}") == "template: auto-update:1: missing value for command"
    assert parse_error("{{end}}") == "template: auto-update:1: unexpected {{end}}"
    assert parse_error("{{foo .}}") == 'template: auto-update:1: function "foo" not defined'
    assert parse_error("{{range .}}") == "template: auto-update:1: unexpected EOF"
    assert parse_error("{{.Unit)}}") == 'template: auto-update:1: unexpected ")" in command'
    assert render("{{.Foo}}") == ("", 'template: auto-update:1:13: executing "auto-update" '
                                  "at <.Foo>: can't evaluate field Foo in type "
                                  "main.autoUpdateOutput")
    # A table runs on the headers (a map: no error) before the rows.
    text, error = render("table {{.Foo}}")
    assert text == "<no value>\n" and error is not None and "<.Foo>" in error


def test_functions_and_control() -> None:
    assert render("{{.Unit | upper}} {{lower .Policy}}")[0] == "XA.SERVICE registry\n"
    assert render('{{printf "%-12s|" .Unit}}')[0] == "xa.service  |\n"
    assert render('{{if eq .Updated "false"}}no{{else}}yes{{end}}')[0] == "no\n"
    assert render("{{- .Unit -}}  x")[0] == "xa.servicex\n"
    # A comment's trim marker is a space and a dash, as text/template's trimMarkerLen.
    assert render("{{.Unit}} {{/* c */ -}}x")[0] == "xa.service x\n"
    assert render("{{.Unit}} {{/* c */}}  x")[0] == "xa.service   x\n"
    assert render("{{truncate .ContainerID 5}}")[0] == "7bc64\n"
    assert render('{{truncate .Unit "x"}}')[1] == (
        'template: auto-update:1:28: executing "auto-update" at <"x">: expected integer; '
        'found "x"')
    assert "not supported" in parse_error('{{define "x"}}{{end}}')
    assert parse_error("{{if .Unit}}a{{else if .Image}}b{{end}}") == (
        "template: auto-update:1: {{else if}} and {{else with}} are not supported by "
        "podbridge's --format")


def test_template_on_plain_values() -> None:
    out: list[str] = []
    Template("t", "{{range .}}{{.A}}={{index .B 1}};{{end}}").execute(
        [Struct("main.T", {"A": "a", "B": ["x", "y"]})], out)
    assert "".join(out) == "a=y;"


def test_podman_preprocessing() -> None:
    assert normalize("table {{.A}} {{.B}}") == "{{.A}}\t{{.B}}\n"
    assert normalize("{{.A}}\\t{{.B}}\\n") == "{{.A}}\t{{.B}}\n"


def test_tabwriter_column_blocks() -> None:
    # A line without a tab ends the block: the next block's widths are its own.
    assert tabwriter("a\tb\nlonger-cell\tc\nplain\nx\ty\n") == (
        "a" + " " * 12 + "b\nlonger-cell  c\nplain\nx" + " " * 11 + "y\n")


def test_output_as_podman_prints_it() -> None:
    assert podman_output([], [], "json", 4) == ("", "", 0), "nothing to update: nothing"
    assert podman_output([], [], "{{.Unit", 4) == ("", "", 0), "not even parsed"
    out, err, status = podman_output([ROW], ["a", "b"], "{{.Unit", 4)
    assert (out, status) == ("", 125)
    assert err == ("Error: 3 errors occurred:\n\t* a\n\t* b\n\t* template: auto-update:1: "
                   "bad character U+007B '{'\n")
    assert podman_output([ROW], [], "json", 5)[0].startswith('[\n    {\n        "Unit"')


def test_compat_and_flags() -> None:
    assert major_of("4.3.1") == 4 and major_of("5.4.2") == 5 and major_of("x") is None
    assert Compat(4).restart_failed("a.service", "failed") == (
        'expected "done" but received "failed"')
    assert Compat(5).restart_failed("a.service", "failed") == (
        'error restarting systemd unit "a.service" expected "done" but received "failed"')
    assert join_errors(["one"]) == "one"
    assert go_bool("--rollback")("F") is False and go_bool("--rollback")("1") is True
    with pytest.raises(argparse.ArgumentTypeError) as info:
        go_bool("--rollback")("maybe")
    assert str(info.value) == ('invalid argument "maybe" for "--rollback" flag: '
                               'strconv.ParseBool: parsing "maybe": invalid syntax')


def test_quoted_values_are_strconv_quotes() -> None:
    """Go's %q writes \\a, \\b, \\f and \\v by name and every rune strconv.IsPrint
    refuses (a no-break space, a zero-width space, a soft hyphen) as \\u: Podman's texts
    here too."""
    with pytest.raises(argparse.ArgumentTypeError) as info:
        go_bool("--rollback")("\a\v\u00a0\u200b")
    quoted = '"\\a\\v\\u00a0\\u200b"'
    assert str(info.value) == (f'invalid argument {quoted} for "--rollback" flag: '
                               f"strconv.ParseBool: parsing {quoted}: invalid syntax")
    assert render('{{printf "%q" .Unit}}', [replace(ROW, unit="a\fb\u00adc")]) == (
        '"a\\fb\\u00adc"\n', None)


def test_bad_flags_are_refused_as_podman_refuses_them(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    for argv, message in (
            (["--foo"], "Error: unknown flag: --foo\nSee 'podbridge auto-update --help'\n"),
            (["--rollback=maybe"], 'Error: invalid argument "maybe" for "--rollback" flag: '
             'strconv.ParseBool: parsing "maybe": invalid syntax\n')):
        with pytest.raises(SystemExit) as info:
            main(["auto-update", *argv])
        assert info.value.code == 125
        assert capsys.readouterr().err == message
    assert main(["auto-update", "extra"]) == 125
    assert capsys.readouterr().err == "Error: `podbridge auto-update` takes no arguments\n"


def test_case_functions_map_runes_as_go_does() -> None:
    # Podman 4.3.1's answers (`podman version --format '{{upper "..."}}'`, the same
    # report.DefaultFuncs): Go maps one rune at a time by the simple mappings, and
    # strings.Title starts a word only after ASCII punctuation or a space.
    cases = {
        '{{upper "straße ŉ ᾀ ǆ"}}': "STRAßE ŉ ᾈ Ǆ",
        '{{lower "İSTANBUL ΣΑΣ"}}': "istanbul σασ",  # noqa: RUF001
        """{{title "hello wORLD ǆx o'neil ß-x"}}""": "Hello WORLD ǅx O'Neil ß-X",
        '{{title "«hello» a–b x²y ä.ö 1a _b"}}': "«hello» A–b X²y Ä.Ö 1a _b",  # noqa: RUF001
        '{{upper "ﬀ ǰ ᾳ ᾼ"}}': "ﬀ ǰ ᾼ ᾼ",
        '{{lower "ᾈ Σ"}}': "ᾀ σ",  # noqa: RUF001
    }
    for template, text in cases.items():
        out: list[str] = []
        Template("t", template).execute(None, out)
        assert "".join(out) == text, template
