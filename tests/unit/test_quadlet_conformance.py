"""Podman's own Quadlet suite (shared/conformance/quadlet) against our generator.

One test per entry of ``entries.json``, run the way Podman's ``quadlet_test.go`` runs it:
the case file (plus its drop-in folders and dependency files) is copied to
``<tmp>/podman-e2e-N/subtest-N/quadlet``, the generator runs with
``QUADLET_UNIT_DIRS`` pointing there and ``--no-kmsg-log <tmp>/.../generated`` (plus
``--user`` when not root), the exit code and stderr are checked, and then every ``##``
line of the case is evaluated against the generated service.
``scripts/quadlet_report.py`` runs the same cases and prints the totals per file type.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from plugins.unit_generator.quadlet import cli
from plugins.unit_generator.quadlet.parser import UnitFile
from plugins.unit_generator.quadlet.split import SplitError
from plugins.unit_generator.quadlet.storage import CsvError, csv_records

ROOT = Path(__file__).resolve().parents[2]
SUITE = Path(os.environ.get("QUADLET_CONFORMANCE_DIR", ROOT.parent / "shared/conformance/quadlet"))
CASES = SUITE / "cases"
PODMAN = "/usr/bin/podman"

# File types the generator converts; a case of another type is skipped.
SUPPORTED_TYPES = {"container", "pod", "volume", "network", "kube", "image", "build", "artifact"}

# Cases that cannot pass here for a reason outside the generator: file -> reason.
SKIPPED: dict[str, str] = {}
if not os.path.exists("/dev/null") or os.path.exists("/dev/bogus"):
    # AddDevice=-/dev/X is kept only if the host has /dev/X (Podman's test assumes these).
    SKIPPED["devices.container"] = "the host lacks /dev/null or has a /dev/bogus"

_SUFFIX = {".volume": "-volume", ".network": "-network", ".image": "-image",
           ".build": "-build", ".artifact": "-artifact", ".pod": "-pod"}


def load_entries() -> list[dict[str, Any]]:
    if not (SUITE / "entries.json").is_file():
        return []
    entries: list[dict[str, Any]] = json.loads((SUITE / "entries.json").read_text())
    return entries


def file_type(entry: dict[str, Any]) -> str:
    return str(entry["file"]).rsplit(".", 1)[-1]


# -- the case format --------------------------------------------------------------------------
def shell_words(line: str) -> list[str]:
    """Split like mattn/go-shellwords (what Podman's harness uses): quotes group, a
    backslash escapes the next character (``\\t``/``\\n`` become tab/newline) except in
    single quotes, and ``; & | < >`` outside quotes end the line."""
    words: list[str] = []
    buf: list[str] = []
    have_word = escaped = in_single = in_double = False
    for c in line:
        if escaped:
            buf.append({"t": "\t", "n": "\n"}.get(c, c))
            escaped, have_word = False, True
        elif c == "\\" and not in_single:
            escaped = True
        elif c == "\\":
            buf.append(c)
        elif c in " \t\r\n" and not (in_single or in_double):
            if have_word:
                words.append("".join(buf))
                buf, have_word = [], False
        elif c == '"' and not in_single:
            have_word = have_word or in_double
            in_double = not in_double
        elif c == "'" and not in_double:
            have_word = have_word or in_single
            in_single = not in_single
        elif c in ";&|<>" and not (in_single or in_double):
            break
        else:
            buf.append(c)
            have_word = True
    if escaped or in_single or in_double:
        raise ValueError(f"invalid command line string: {line!r}")
    if have_word:
        words.append("".join(buf))
    return words


@dataclass
class Case:
    file: str
    service: str
    data: bytes
    checks: list[list[str]] = field(default_factory=list)

    @classmethod
    def load(cls, file: str, service_name: str | None = None) -> Case:
        data = (CASES / file).read_bytes()
        base, ext = os.path.splitext(file)
        service = (service_name or base + _SUFFIX.get(ext, "")) + ".service"
        checks = [shell_words(line[2:]) for line in data.decode().split("\n")
                  if line.startswith("##")]
        return cls(file, service, data, checks)


# -- assertions -------------------------------------------------------------------------------
def _exec_args(unit: UnitFile, key: str) -> list[str]:
    try:
        return unit.lookup_last_args("Service", key) or []
    except SplitError:
        return []


def _match_at(full: list[str], pos: int, sub: list[str], regex: bool) -> bool:
    if len(sub) > len(full) - pos:
        return False
    if regex:
        return all(re.search(s, f) for s, f in zip(sub, full[pos:], strict=False))
    return full[pos:pos + len(sub)] == sub


def _find(full: list[str], sub: list[str], regex: bool = False) -> int:
    if not sub or len(sub) > len(full):
        return -1
    return next((i for i in range(len(full) - len(sub) + 1) if _match_at(full, i, sub, regex)),
                -1)


def _kv_map(text: str, sep: str) -> dict[str, str]:
    fields = csv_records(text, sep)[0]
    return {k: v for k, _, v in (f.partition("=") for f in fields)}


def _podman_args(args: list[str], unit: UnitFile, key: str, regex: bool, glob: bool,
                 key_val: bool) -> bool:
    argv = _exec_args(unit, key)
    if glob:
        cut = _find(argv, args[:1])
        if cut == -1:
            return False
        argv, args = argv[:cut], args[1:]
    if not key_val:
        return _find(argv, args, regex) != -1
    flag, sep, expected_text = args
    try:
        expected = _kv_map(expected_text, sep)
    except (CsvError, IndexError):
        return False
    for i, word in enumerate(argv[:-1]):
        if word != flag:
            continue
        try:
            actual = _kv_map(argv[i + 1], sep)
        except (CsvError, IndexError):
            return False
        if regex:
            if expected.keys() == actual.keys() and all(
                    re.search(v, actual[k]) for k, v in expected.items()):
                return True
        elif expected == actual:
            return True
    return False


def _final_args(args: list[str], unit: UnitFile, key: str, regex: bool) -> bool:
    argv = _exec_args(unit, key)
    return len(argv) >= len(args) and _match_at(argv, len(argv) - len(args), args, regex)


_EXEC_KEYS = {"": "ExecStart", "pre-": "ExecStartPre", "stop-": "ExecStop",
              "stop-post-": "ExecStopPost", "reload-": "ExecReload"}
_PODMAN_OP = re.compile(r"assert-podman-(pre-|stop-post-|stop-|reload-)?"
                        r"(args|global-args|final-args)(-key-val)?(-regex)?")


def evaluate(op: str, args: list[str], unit: UnitFile | None, stderr: str, outdir: Path) -> bool:
    if op == "assert-failed":
        return True
    if op == "assert-stderr-contains":
        return args[0] in stderr
    assert unit is not None, f"{op} needs the generated unit"
    if op == "assert-symlink":
        link = outdir / args[0]
        return link.is_symlink() and os.readlink(link) == args[1]
    match = _PODMAN_OP.fullmatch(op)
    if match:
        key = _EXEC_KEYS[match.group(1) or ""]
        kind, key_val, regex = match.group(2), bool(match.group(3)), bool(match.group(4))
        if kind == "final-args":
            return _final_args(args, unit, key, regex)
        return _podman_args(args, unit, key, regex, kind == "global-args", key_val)
    group, key = args[0], args[1]
    values = unit.lookup_all(group, key)
    last = unit.lookup_last(group, key)
    if op == "assert-key-is":
        return values == args[2:]
    if op == "assert-key-is-regex":
        return len(values) == len(args) - 2 and all(
            re.search(p, v) for p, v in zip(args[2:], values, strict=True))
    if op == "assert-has-key":
        return args[2] in values
    if op == "assert-key-is-empty":
        return not values
    if op in ("assert-key-contains", "assert-key-not-contains"):
        return any(args[2] in v for v in values) == (op == "assert-key-contains")
    if op in ("assert-last-key-contains", "assert-last-key-not-contains"):
        found = last is not None and args[2] in last
        return found == (op == "assert-last-key-contains")
    if op == "assert-last-key-is-regex":
        return last is not None and re.search(args[2], last) is not None
    raise AssertionError(f"unsupported assertion {op}")


# -- running a case ---------------------------------------------------------------------------
def _run_cli(argv: list[str], unit_dirs: Path | str) -> tuple[int, str, str]:
    err, out = io.StringIO(), io.StringIO()
    with (pytest.MonkeyPatch.context() as env, contextlib.redirect_stderr(err),
          contextlib.redirect_stdout(out)):
        env.setenv("QUADLET_UNIT_DIRS", str(unit_dirs))
        env.setenv("PODMAN", PODMAN)
        code = cli.main(argv, prog="quadlet")
    return code, out.getvalue(), err.getvalue()


def _template_of(file: str) -> str | None:
    base, ext = os.path.splitext(file)
    name, at, instance = base.partition("@")
    return f"{name}@{ext}.d" if at and instance else None


def run_case(entry: dict[str, Any], workdir: Path) -> str:
    """Run one entry; returns "" if it passes, else what went wrong."""
    case = Case.load(entry["file"], entry.get("service"))
    top = workdir / "podman-e2e-1" / "subtest-1"
    quadlet_dir, generated = top / "quadlet", top / "generated"
    quadlet_dir.mkdir(parents=True)
    generated.mkdir()
    for dep in entry.get("deps", []):
        shutil.copyfile(CASES / dep, quadlet_dir / dep)
    (quadlet_dir / case.file).write_bytes(case.data)
    for dropins in (case.file + ".d", _template_of(case.file)):
        if dropins and (CASES / dropins).is_dir():
            shutil.copytree(CASES / dropins, quadlet_dir / dropins)

    argv = (["--user"] if os.getuid() != 0 else []) + ["--no-kmsg-log", str(generated)]
    code, _out, stderr = _run_cli(argv, quadlet_dir)
    want_code = 1 if entry["kind"] == "error" else 0
    if code != want_code:
        return f"exit code {code}, expected {want_code}; stderr:\n{stderr}"
    if entry.get("stderr", "") not in stderr:
        return f"stderr lacks {entry['stderr']!r}:\n{stderr}"

    service = generated / case.service
    expect_fail = any(c and c[0] == "assert-failed" for c in case.checks)
    if expect_fail == service.exists():
        return f"{service.name} {'exists' if service.exists() else 'is missing'}; stderr:\n{stderr}"
    unit = None if expect_fail else UnitFile.from_path(str(service))
    for check in case.checks:
        op, invert = check[0], False
        if op.startswith("!"):
            op, invert = op[1:], True
        args = [a.replace("\\n", "\n").replace("\\t", "\t") for a in check[1:]]
        if evaluate(op, args, unit, stderr, generated) == invert:
            text = unit.to_string() if unit else "(no unit)"
            return f"failed: {' '.join(check)}\n\n{text}\nstderr:\n{stderr}"
    return ""


def skip_reason(entry: dict[str, Any]) -> str:
    if file_type(entry) not in SUPPORTED_TYPES:
        return f".{file_type(entry)} files are not supported yet"
    return SKIPPED.get(entry["file"], "")


ENTRIES = load_entries()


@pytest.mark.skipif(not ENTRIES, reason=f"no conformance suite at {SUITE}")
@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_conformance(entry: dict[str, Any], tmp_path: Path) -> None:
    reason = skip_reason(entry)
    if reason:
        pytest.skip(reason)
    problem = run_case(entry, tmp_path)
    assert not problem, f"{entry['file']} ({entry['name']}): {problem}"


# -- the generator program (quadlet_test.go's dry-run tests, and how systemd calls it) ---------
needs_suite = pytest.mark.skipif(not CASES.is_dir(), reason=f"no conformance suite at {SUITE}")


def test_dryrun_without_files() -> None:
    code, _out, err = _run_cli(["--dryrun"], "/something")
    assert code == 0
    assert "No files parsed from [/something]" in err


def test_dryrun_unknown_key(tmp_path: Path) -> None:
    path = tmp_path / "bogus.container"
    path.write_text("[Container]\nImage=quay.io/x/y\nBOGUS=foo\n")
    code, _out, err = _run_cli(["-dryrun"], tmp_path)
    assert code == 1
    assert (f"converting \"bogus.container\": unsupported key 'BOGUS' in group 'Container' "
            f"in {path}") in err


@needs_suite
def test_dryrun_reads_subfolders(tmp_path: Path) -> None:
    shutil.copytree(CASES / "test_subdir", tmp_path / "q")
    code, out, _err = _run_cli(["-dryrun", "-user"], tmp_path / "q")
    assert code == 0
    for name in ("mysleep", "mysleep_1", "mysleep_2"):
        assert f"---{name}.service---" in out.splitlines()


@needs_suite
def test_dryrun_kube_output_exactly(tmp_path: Path) -> None:
    shutil.copyfile(CASES / "basic.kube", tmp_path / "basic.kube")
    code, out, err = _run_cli(["-dryrun"], tmp_path)
    assert code == 0
    assert "Loading source unit file " in err
    checks = [line for line in (CASES / "basic.kube").read_text().splitlines()
              if line.startswith("##")]
    assert [line for line in out.splitlines() if line] == [
        "---basic.service---", *checks,
        "[X-Kube]", "Yaml=deployment.yml",
        "[Unit]", "Wants=network-online.target", "After=network-online.target",
        f"SourcePath={tmp_path}/basic.kube", "RequiresMountsFor=%t/containers",
        "[Service]", "KillMode=mixed", "Environment=PODMAN_SYSTEMD_UNIT=%n", "Type=notify",
        "NotifyAccess=all", "SyslogIdentifier=%N",
        f"ExecStart={PODMAN} kube play --replace --service-container=true "
        f"{tmp_path}/deployment.yml",
        f"ExecStopPost={PODMAN} kube down {tmp_path}/deployment.yml",
    ]


def test_missing_output_folder(tmp_path: Path) -> None:
    code, _out, err = _run_cli(["--no-kmsg-log"], tmp_path)
    assert code == 1
    assert "missing output directory argument" in err


def test_as_systemd_generator(tmp_path: Path) -> None:
    """``python -m`` with systemd's three output folders: units and [Install] links go to
    the first."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "web.container").write_text(
        "[Container]\nImage=quay.io/podman/hello\nExec=sleep \"1 000\"\n\n"
        "[Install]\nWantedBy=multi-user.target\nAlias=www.service\n")
    outs = [tmp_path / name for name in ("normal", "early", "late")]
    env = {**os.environ, "QUADLET_UNIT_DIRS": str(src), "PODMAN": "/opt/podman"}
    proc = subprocess.run(
        [sys.executable, "-m", "plugins.unit_generator.quadlet", *map(str, outs)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    text = (outs[0] / "web.service").read_text()
    assert text.startswith("# Automatically generated by ")
    unit = UnitFile.from_string(text)
    assert unit.lookup_last_args("Service", "ExecStart") == [
        "/opt/podman", "run", "--name", "systemd-%N", "--replace", "--rm", "--cgroups=split",
        "--sdnotify=conmon", "-d", "quay.io/podman/hello", "sleep", "1 000"]
    assert os.readlink(outs[0] / "multi-user.target.wants/web.service") == "../web.service"
    assert os.readlink(outs[0] / "www.service") == "web.service"
    assert not outs[1].exists() and not outs[2].exists()


def test_add_cli_subcommand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = argparse.ArgumentParser(prog="podbridge")
    cli.add_cli(parser.add_subparsers(dest="command"))
    (tmp_path / "data.volume").write_text("[Volume]\n")
    args = parser.parse_args(["quadlet", "--no-kmsg-log", str(tmp_path / "out")])
    monkeypatch.setenv("QUADLET_UNIT_DIRS", str(tmp_path))
    monkeypatch.setenv("PODMAN", PODMAN)
    assert args.func(args) == 0
    unit = UnitFile.from_path(str(tmp_path / "out" / "data-volume.service"))
    assert unit.lookup_last_args("Service", "ExecStart") == [
        PODMAN, "volume", "create", "--ignore", "systemd-data"]
