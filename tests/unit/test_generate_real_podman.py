"""Parity with the real ``podman generate systemd`` of this machine (Podman 4.3.1 on
Debian 12, 5.x on Debian 13: the units are rendered for the version it reports).

Containers and a pod are created (never started) with the machine's podman, named
``pbgen-<run>-*``, and removed afterwards. For every container and a set of flag
combinations, Podman's own units (``--format json``) are compared with ours, rendered from
``podman inspect`` output through the same flags parsed by our CLI parser: same units,
sections, keys, values and Exec argv (tests/unit/unitdiff.py), header comments aside.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from plugins.unit_generator.cli_args import format_plain, parse_systemd_args
from plugins.unit_generator.context import RenderContext
from plugins.unit_generator.errors import GenerateError
from plugins.unit_generator.render import render

from .unitdiff import diff_unit_sets, first_comment

PODMAN = shutil.which("podman")
RUN = uuid.uuid4().hex[:6]
PREFIX = f"pbgen-{RUN}"
IMAGE = f"localhost/{PREFIX}-img:latest"


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert PODMAN is not None
    return subprocess.run([PODMAN, *args], capture_output=True, text=True, check=check,
                          timeout=60)


def _usable() -> str:
    if PODMAN is None:
        return "podman is not installed on this machine"
    try:
        _podman("info", "--format", "{{.Store.RunRoot}}")
    except (subprocess.SubprocessError, OSError) as exc:
        return f"podman does not work here: {exc}"
    return ""


SKIP_REASON = _usable()
pytestmark = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON or "podman is usable")

# name -> words after "podman create" (the image is inserted where IMAGE appears).
CONTAINERS: dict[str, list[str]] = {
    "ports": ["-p", "8080:80", "-p", "127.0.0.1:8443:443/tcp", IMAGE, "sh"],
    "env": ["-e", "A=b c %d", "-e", "B=100%", "--env", "HOME", "-e", "TAB=a\tb", IMAGE],
    "labels": ["--label", "a=b c", "-l", "io.containers.autoupdate=registry",
               "--label=price=$5", IMAGE],
    "volumes": ["-v", "/tmp:/data:ro,z", "--tmpfs", "/run", "--mount",
                "type=bind,source=/tmp,target=/m", IMAGE],
    "entrypoint-json": ["--entrypoint", '["/bin/sh", "-c"]', IMAGE, 'echo "$HOME" 100%'],
    "entrypoint": ["--entrypoint=/bin/sh", IMAGE, "-c", "sleep 1"],
    "quoting": [IMAGE, "sh", "-c", "echo $$ \\ \"q\" 's' `x` {{.Name}} %n", "back\\slash",
                "dollar$", "tab\there", ""],
    "restart-no": ["--restart", "no", IMAGE],
    "restart-on-failure": ["--restart=on-failure:3", IMAGE],
    "restart-always": ["--restart", "always", IMAGE],
    "restart-unless-stopped": ["--restart=unless-stopped", IMAGE],
    "flags": ["-h", "host", "--sdnotify=container", "--rm", "--cgroups=enabled",
              "--stop-timeout", "25", "--replace=false", IMAGE, "top", "-d", "--name", "x"],
    "sdnotify-ignore": ["--sdnotify", "ignore", "--privileged", IMAGE, "sh"],
    "no-name": [IMAGE],
}
ROOT_FLAGS = ["--log-level", "error"]   # a root flag before "create" (kept by --new)

CORE_FLAGS: list[list[str]] = [[], ["--new"], ["--name"], ["--new", "--name"]]
ALL_FLAGS: list[list[str]] = [
    *CORE_FLAGS,
    ["--restart-policy", "always"],
    ["--new", "--restart-policy", "no"],
    ["--restart-sec", "5"],
    ["--start-timeout", "7"],
    ["--stop-timeout", "3"],
    ["-t", "4", "--new"],
    ["--container-prefix", "ctr", "--separator", "_"],
    ["--container-prefix", "", "-n"],
    ["--no-header"],
    ["--after", "a.service", "--after", "b.target", "--wants", "w.service",
     "--requires", "r.service"],
    ["-e", "X=1", "-e", "Y=has space %", "-e", "Z="],
    ["--template"],
    ["--new", "--template", "-n"],
]
FULL = {"ports", "env", "quoting", "restart-on-failure"}
POD_FLAGS: list[list[str]] = [
    [], ["--new"], ["--name"], ["--new", "--name"],
    ["--new", "-n", "--pod-prefix", "p", "--separator", "_", "--restart-sec", "3",
     "--after", "x.service", "-e", "E=1", "--start-timeout", "9", "--stop-timeout", "2"],
    ["--restart-policy", "on-abort", "--container-prefix", "", "--no-header"],
]


def _image_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo("etc/pbgen")
        data = b"podbridge generate test image\n"
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class World:
    """The containers and the pod of this run, with their inspect data."""

    def __init__(self) -> None:
        self.inspect: dict[str, dict[str, Any]] = {}
        self.pod_inspect: dict[str, Any] = {}
        self.pod_members: list[dict[str, Any]] = []

    def container(self, case: str) -> str:
        return f"{PREFIX}-{case}"

    @property
    def pod(self) -> str:
        return f"{PREFIX}-pod"


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    assert PODMAN is not None
    w = World()
    subprocess.run([PODMAN, "import", "--change", 'CMD ["/bin/sh"]', "-", IMAGE],
                   input=_image_tar(), capture_output=True, check=True, timeout=60)
    try:
        for case, words in CONTAINERS.items():
            name = [] if case == "no-name" else ["--name", w.container(case)]
            cid = _podman(*ROOT_FLAGS, "create", "--runtime", "runc", *name, *words
                          ).stdout.strip()
            if case == "no-name":
                _podman("rename", cid, w.container(case))
            w.inspect[case] = json.loads(_podman("inspect", w.container(case)).stdout)[0]
        _podman("pod", "create", "--name", w.pod, "-p", "9090:80", "--label", "x=a b")
        for member, extra in (("a", []), ("b", ["--requires", f"{w.pod}-a"])):
            _podman("create", "--runtime", "runc", "--pod", w.pod, "--name",
                    f"{w.pod}-{member}", *extra, "-e", "M=1 %", IMAGE, "sleep", "100")
        pod = json.loads(_podman("pod", "inspect", w.pod).stdout)
        # Podman 5 (a Debian 13 machine) prints a list, 4.3.1 the one object.
        w.pod_inspect = pod[0] if isinstance(pod, list) else pod
        ids = [c["Id"] for c in w.pod_inspect["Containers"]]
        w.pod_members = json.loads(_podman("inspect", *ids).stdout)
        yield w
    finally:
        _podman("pod", "rm", "-f", w.pod, check=False)
        for case in CONTAINERS:
            _podman("rm", "-f", w.container(case), check=False)
        _podman("rmi", "-f", IMAGE, check=False)


def _podman_units(flags: list[str], target: str) -> dict[str, str]:
    done = _podman("generate", "systemd", "--format", "json", *flags, target)
    units: dict[str, str] = json.loads(done.stdout)
    return units


@functools.cache
def _version() -> str:
    return _podman("version", "--format", "{{.Client.Version}}").stdout.strip()


def _ctx() -> RenderContext:
    return RenderContext(executable=PODMAN or "/usr/bin/podman", podman_version=_version(),
                         timestamp=None, environ=dict(os.environ))


def _compare(podman: dict[str, str], ours: dict[str, str]) -> None:
    problems = diff_unit_sets(podman, ours)
    problems += [f"{n}: header {first_comment(podman[n])!r} != {first_comment(ours[n])!r}"
                 for n in podman.keys() & ours.keys()
                 if first_comment(podman[n]) != first_comment(ours[n])]
    assert not problems, "\n".join(problems)
    # Stronger than needed, and true so far: the same lines once the timestamp is dropped
    # (as a multiset: Podman writes --env entries in Go's random map order).
    for name, text in podman.items():
        assert sorted(_drop_timestamp(text).split("\n")) == sorted(ours[name].split("\n"))


def _drop_timestamp(text: str) -> str:
    lines = text.split("\n")
    if len(lines) > 2 and lines[1].startswith("# autogenerated by Podman"):
        del lines[2]
    return "\n".join(lines)


CONTAINER_PARAMS = [(case, flags) for case in CONTAINERS
                    for flags in (ALL_FLAGS if case in FULL else CORE_FLAGS)]


@pytest.mark.parametrize(("case", "flags"), CONTAINER_PARAMS,
                         ids=[f"{c}:{' '.join(f) or 'default'}" for c, f in CONTAINER_PARAMS])
def test_container_units_match_podman(world: World, case: str, flags: list[str]) -> None:
    target, opts = parse_systemd_args([*flags, world.container(case)])
    ours = render(world.inspect[case], None, [], opts, ctx=_ctx())
    _compare(_podman_units(flags, target), ours)


@pytest.mark.parametrize("flags", POD_FLAGS, ids=[" ".join(f) or "default" for f in POD_FLAGS])
def test_pod_units_match_podman(world: World, flags: list[str]) -> None:
    target, opts = parse_systemd_args([*flags, world.pod])
    ours = render(None, world.pod_inspect, world.pod_members, opts, ctx=_ctx())
    podman = _podman_units(flags, target)
    assert len(podman) == 3
    _compare(podman, ours)


def test_pod_member_alone_keeps_its_pod_flag(world: World) -> None:
    member = next(m for m in world.pod_members if m["Name"].endswith("-b"))
    for flags in (["--new", "--name"], ["--name"]):
        _, opts = parse_systemd_args([*flags, member["Name"]])
        ours = render(member, None, [], opts, ctx=_ctx())
        _compare(_podman_units(flags, member["Name"]), ours)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--template"], "--template is not supported for pods"),
        (["--restart-policy", "bogus"], "bogus is not a valid restart policy"),
    ],
)
def test_pod_errors_match_podman(world: World, flags: list[str], message: str) -> None:
    done = _podman("generate", "systemd", *flags, world.pod, check=False)
    assert done.returncode != 0 and message in done.stderr
    with pytest.raises(GenerateError, match=message):
        _, opts = parse_systemd_args([*flags, world.pod])
        render(None, world.pod_inspect, world.pod_members, opts, ctx=_ctx())


@pytest.mark.parametrize(("flags", "message"), [
    pytest.param(["--template", "--new=false"], "--template cannot be set with --new=false",
                 id="template_with_new_false"),
    pytest.param(["-t", "1", "--stop-timeout", "2"], "redundant", id="stop_timeout_and_time"),
])
def test_conflicting_flags_fail_like_podman(world: World, flags: list[str], message: str
                                            ) -> None:
    done = _podman("generate", "systemd", *flags, world.container("ports"), check=False)
    assert done.returncode != 0 and message in done.stderr
    with pytest.raises(GenerateError, match=message):
        parse_systemd_args([*flags, world.container("ports")])


def test_plain_output_has_the_same_units(world: World) -> None:
    done = _podman("generate", "systemd", "--new", "--name", world.pod)
    _, opts = parse_systemd_args(["--new", "--name", world.pod])
    ours = render(None, world.pod_inspect, world.pod_members, opts, ctx=_ctx())
    # Podman prints the units in Go map order: compare the set of "# <unit>.service" lines.
    names = sorted(line for line in done.stdout.splitlines()
                   if line.startswith("# ") and line.endswith(".service"))
    assert names == sorted(f"# {n}.service" for n in ours)
    podman_lines = [_drop_timestamp(u) for u in done.stdout.split("WantedBy=default.target\n")]
    our_lines = format_plain(ours).split("WantedBy=default.target\n")
    assert sorted(podman_lines) == sorted(our_lines)
