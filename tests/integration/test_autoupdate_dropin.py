"""``podbridge auto-update`` as a drop-in for ``podman auto-update``: the same scenarios
through the world's real Podman and through podbridge, and the same status, stdout and
stderr (digests, IDs and the run's names made equal; see autoupdate_dropin.py).

No expected text is written here: Podman's own output is the reference, whatever its
version (4.3.1 in debian12, 5.x in debian13). Where the scenario's outcome differs
between Podman versions, the sanity checks on Podman's outcome read the version.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from bridge.sandbox.python import wrapper as python_wrapper
from plugins.auto_update.cli import podman_output
from plugins.auto_update.output import Row
from tests.bench.autoupdate import (
    Unit,
    container_image,
    dead_registry_image,
    image_id,
    remove_units,
    start_units,
    unexecutable_image,
)
from tests.integration.autoupdate_dropin import (
    ROOT,
    Outcome,
    comparable,
    podbridge_tool,
    podman_major,
    podman_tool,
    tag,
)

Tool = Callable[..., Outcome]
Scenario = Callable[[World, Tool, str], list[Outcome]]


def compare(world: World, scenario: Scenario, state: Path, *, unordered: bool
            ) -> list[Outcome]:
    """Run ``scenario`` with Podman, then with podbridge; assert the same outcomes;
    return Podman's (for the scenario's own checks)."""
    m_tag, p_tag = tag("m"), tag("p")
    theirs = scenario(world, podman_tool, m_tag)
    ours = scenario(world, podbridge_tool(state), p_tag)
    assert len(theirs) == len(ours)
    if os.environ.get("DROPIN_SHOW"):
        for a, b in zip(theirs, ours, strict=True):
            print(f"--- podman {a!r}\n+++ podbridge {b!r}")
    for step, (a, b) in enumerate(zip(theirs, ours, strict=True)):
        want = comparable(a, m_tag, world.registry, unordered=unordered)
        got = comparable(b, p_tag, world.registry, unordered=unordered)
        assert got == want, f"step {step}: podman {a!r}\npodbridge {b!r}"
    return theirs


def rows(outcome: Outcome) -> dict[str, str]:
    """ContainerName -> Updated, from a ``--format json`` outcome."""
    return {r["ContainerName"].rsplit("-", 1)[-1]: r["Updated"]
            for r in json.loads(outcome.stdout or "[]")}


# -- the four policies, several units at once, and templates ------------------------------

def policies(world: World, tool: Tool, t: str) -> list[Outcome]:
    remote = f"{world.registry}/podbridge/dr-{t}:latest"
    local = f"localhost/podbridge/dr-{t}-local:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    world.podman("tag", HTTPD_V1, local)
    units = [Unit(f"dr-{t}-reg", remote, "registry"), Unit(f"dr-{t}-loc", local, "local"),
             Unit(f"dr-{t}-dis", remote, "disabled"), Unit(f"dr-{t}-bad", local, "sometimes")]
    start_units(world, units)
    try:
        out = [tool(world), tool(world, "--format", "json")]
        world.podman("push", "--quiet", HTTPD_V2, remote)
        world.podman("tag", HTTPD_V2, local)
        out.append(tool(world, "--dry-run", "--format", "json"))
        # The script of the issue: a template, and the update itself (pull lines on stderr).
        out.append(tool(world, "--format", "{{.Unit}},{{.Image}},{{.Updated}},{{.Policy}}"))
        out.append(tool(world, "--format", "table {{.ContainerName}} {{.Updated}} {{json .}}"))
        out.append(tool(world, "--format", "{{.Unit"))    # does not parse
        out.append(tool(world, "--format", "{{.Nope}}"))  # fails when run
        out.append(tool(world, "--format", "json", "--rollback=false", "--dry-run=true"))
        if podman_major(world) >= 5:  # Podman 4.3 has no --tls-verify
            out.append(tool(world, "--format", "json", "--tls-verify=false", "--dry-run"))
        assert container_image(world, units[1].name) == image_id(world, HTTPD_V2)
    finally:
        remove_units(world, units)
    return out


def test_policies_several_units_and_templates(fresh_world: World) -> None:
    out = compare(fresh_world, policies, fresh_world.root / "podbridge-state", unordered=True)
    # Podman did what the scenario means (so the comparison compared something).
    assert rows(out[1]) == {"reg": "false", "loc": "false"}
    assert rows(out[2]) == {"reg": "pending", "loc": "pending"}
    assert out[3].stdout.count(",true,") == 2
    assert "Trying to pull" in out[3].stderr and "Writing manifest" in out[3].stderr
    assert all(o.status == 125 for o in out), "the invalid policy is an error every time"
    assert 'invalid auto-update policy "sometimes"' in out[0].stderr
    assert "template: auto-update:1: " in out[5].stderr


# -- rollback on and off ---------------------------------------------------------------

def rollback(world: World, tool: Tool, t: str) -> list[Outcome]:
    remote = f"{world.registry}/podbridge/dr-{t}:latest"
    local = f"localhost/podbridge/dr-{t}-local:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    world.podman("tag", HTTPD_V1, local)
    units = [Unit(f"dr-{t}-reg", remote, "registry"), Unit(f"dr-{t}-loc", local, "local")]
    start_units(world, units)
    try:
        broken = unexecutable_image(world, HTTPD_V2, f"localhost/podbridge/dr-{t}:broken")
        world.podman("push", "--quiet", broken, remote)
        world.podman("tag", broken, local)
        out = [tool(world, "--format", "json")]  # rollback on (the default)
        world.podman("tag", broken, local)       # the rollback pointed it back
        out.append(tool(world, "--format", "json", "--rollback=false"))
    finally:
        remove_units(world, units)
    return out


def test_rollback_on_and_off(fresh_world: World) -> None:
    out = compare(fresh_world, rollback, fresh_world.root / "podbridge-state", unordered=True)
    assert rows(out[0]) == {"reg": "rolled back", "loc": "rolled back"}
    assert out[0].status == 0, "a rollback that worked is no error for Podman"
    assert rows(out[1]) == {"reg": "failed", "loc": "failed"}
    if podman_major(fresh_world) >= 5:
        assert out[1].status == 125 and "during update" in out[1].stderr
    else:
        assert out[1].status == 0, "Podman 4 reports a failed restart only in the table"


# -- nothing to update, an unreachable registry, an image that cannot be pulled -----------

def errors(world: World, tool: Tool, t: str) -> list[Outcome]:
    out = [tool(world), tool(world, "--format", "json"), tool(world, "--format", "{{.Unit")]
    dead = dead_registry_image(world, HTTPD_V1, f"dr-{t}-dead")
    remote = f"{world.registry}/podbridge/dr-{t}:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    units = [Unit(f"dr-{t}-dead", dead, "registry"), Unit(f"dr-{t}-gone", remote, "registry")]
    # A labelled container outside any unit: an error of its own at every run.
    world.podman("run", "-d", "--name", f"dr-{t}-nounit", "--label",
                 "io.containers.autoupdate=registry", HTTPD_V1)
    start_units(world, [units[0]])
    try:
        out.append(tool(world, "--format", "json"))
        # A credentials file that does not exist: Podman 4 goes on, Podman 5 stops.
        out.append(tool(world, "--format", "json", "--authfile", f"/nonexistent/{t}.json"))
        start_units(world, [units[1]])
        # A new image whose config blob is then lost by the registry: the check sees a
        # new digest, the pull fails.
        unique = f"localhost/podbridge/dr-{t}:unique"
        tmp = f"dr-{t}-tmp"
        world.podman("create", "--name", tmp, HTTPD_V2)
        world.podman("commit", "--quiet", "--change", f"LABEL run={t}", tmp, unique)
        world.podman("rm", "-f", tmp)
        world.podman("push", "--quiet", unique, remote)
        manifest = json.loads(world.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                         f"docker://{remote}"]).stdout)
        digest = manifest["config"]["digest"].removeprefix("sha256:")
        blob = (world.root / "registry" / "data" / "docker" / "registry" / "v2" / "blobs" /
                "sha256" / digest[:2] / digest / "data")
        blob.unlink()
        out.append(tool(world, "--format", "json"))
    finally:
        remove_units(world, units)
        world.podman("rm", "-f", f"dr-{t}-nounit")
    return out


def test_nothing_to_update_and_registry_errors(fresh_world: World) -> None:
    out = compare(fresh_world, errors, fresh_world.root / "podbridge-state", unordered=True)
    assert [(o.status, o.stdout, o.stderr) for o in out[:3]] == [(0, "", "")] * 3, (
        "nothing to update: nothing printed, not even for a bad template")
    dead = "failed" if podman_major(fresh_world) >= 5 else "false"
    assert rows(out[3]) == {"dead": dead}
    assert "no PODMAN_SYSTEMD_UNIT label found" in out[3].stderr
    if podman_major(fresh_world) >= 5:
        assert out[4].status == 125 and "credential file is not accessible" in out[4].stderr
    else:
        assert rows(out[4]) == {"dead": dead}
    assert rows(out[5]) == {"dead": dead, "gone": "failed"}
    assert out[5].status == 125 and "updating image for container" in out[5].stderr


# -- a systemd timer running it ----------------------------------------------------------

def _wait_ran(world: World, service: str, timeout: float = 240) -> dict[str, str]:
    """The service's properties once the timer has started it and it has finished."""
    deadline = time.monotonic() + timeout
    while True:
        text = world.systemctl("show", service, "-p", "ActiveState", "-p", "Result", "-p",
                               "ExecMainExitTimestampMonotonic").stdout
        props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if (props.get("ExecMainExitTimestampMonotonic", "0") != "0"
                and props.get("ActiveState") in ("inactive", "failed")):
            return props
        assert time.monotonic() < deadline, f"{service} did not run: {props}"
        time.sleep(0.2)


def _timer_run(world: World, name: str, service: str, timer: str, t: str, tmp: Path
               ) -> tuple[Outcome, dict[str, str], bool]:
    remote = f"{world.registry}/podbridge/dr-{t}:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    units = [Unit(f"dr-{t}-reg", remote, "registry")]
    start_units(world, units)
    world.podman("push", "--quiet", HTTPD_V2, remote)
    out, err = tmp / f"{name}.out", tmp / f"{name}.err"
    files = {f"{name}.service": service, f"{name}.timer": timer,
             # Journald is absent in the world: the output goes to files. The timer fires
             # a second after it starts (its daily schedule stays), with no stamp file in
             # the machine's /var/lib/systemd.
             f"{name}.service.d/test.conf": f"[Service]\nStandardOutput=file:{out}\n"
             f"StandardError=file:{err}\nEnvironment=PODBRIDGE_STATE_DIR={tmp}/state\n",
             f"{name}.timer.d/test.conf": "[Timer]\nOnActiveSec=1\nRandomizedDelaySec=0\n"
             "AccuracySec=1\nPersistent=false\n"}
    for path, text in files.items():
        (world.unit_dir / path).parent.mkdir(exist_ok=True)
        (world.unit_dir / path).write_text(text)
    world.systemctl("daemon-reload")
    try:
        world.systemctl("start", f"{name}.timer")
        props = _wait_ran(world, f"{name}.service")
        updated = container_image(world, units[0].name) == image_id(world, HTTPD_V2)
    finally:
        world.systemctl("stop", f"{name}.timer", check=False)
        for path in files:
            (world.unit_dir / path).unlink(missing_ok=True)
        remove_units(world, units)
    return Outcome(0, out.read_text(), err.read_text()), props, updated


def _unit_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_a_systemd_timer_runs_it_as_podmans_timer_runs_podman(fresh_world: World,
                                                               tmp_path: Path) -> None:
    world = fresh_world
    theirs_service = world.run(["cat", "/usr/lib/systemd/system/podman-auto-update.service"]
                               ).stdout
    theirs_timer = world.run(["cat", "/usr/lib/systemd/system/podman-auto-update.timer"]
                             ).stdout
    # Ours, as `make install` installs them, with the world's podman for the prune.
    dest = tmp_path / "dest"
    podman_bin = world.run(["sh", "-c", "command -v podman"]).stdout.strip()
    # A world on a root filesystem of its own cannot run this machine's virtualenv: there
    # `podbridge` is the world's (bridge.sandbox.python), as a host of that release has it.
    podbridge_bin = {} if world.flavour.uses_host_root() else {
        "PODBRIDGE_BIN": str(python_wrapper(world))}
    subprocess.run(["bash", str(ROOT / "scripts" / "install-autoupdate-units.sh")],
                   env={**os.environ, "DESTDIR": str(dest), "PODMAN_BIN": podman_bin,
                        **podbridge_bin}, check=True, capture_output=True)
    unit_dir = dest / "usr" / "local" / "lib" / "systemd" / "system"
    ours_service = (unit_dir / "podbridge-auto-update.service").read_text()
    ours_timer = (unit_dir / "podbridge-auto-update.timer").read_text()
    user = dest / "usr" / "local" / "lib" / "systemd" / "user"
    assert (user / "podbridge-auto-update.timer").read_text() == ours_timer

    # The same units but for the command and the socket it talks to.
    podman = _unit_lines(theirs_service)
    mine = _unit_lines(ours_service)
    exec_start = [line for line in mine if line.startswith("ExecStart=")]
    assert exec_start and exec_start[0].endswith("podbridge auto-update")
    same = ("Wants=", "After=", "Description=", "ExecStart=")
    assert [x for x in mine if not x.startswith(same)] == [
        x for x in podman if not x.startswith(same)]
    assert [x for x in _unit_lines(ours_timer) if not x.startswith("Description=")] == [
        x for x in _unit_lines(theirs_timer) if not x.startswith("Description=")]

    # The world has a private /tmp: the units' output goes to a folder in the world's.
    out_dir = world.root / f"dropin-{uuid.uuid4().hex[:6]}"
    out_dir.mkdir()
    m_tag, p_tag = tag("m"), tag("p")
    theirs, their_props, their_update = _timer_run(
        world, "podman-auto-update", theirs_service, theirs_timer, m_tag, out_dir)
    ours, our_props, our_update = _timer_run(
        world, "podbridge-auto-update", ours_service, ours_timer, p_tag, out_dir)
    assert their_props["Result"] == "success" and their_update, theirs
    assert our_props["Result"] == their_props["Result"]
    assert our_update, ours
    assert "true" in ours.stdout and "Writing manifest" in ours.stderr
    assert (comparable(ours, p_tag, world.registry, unordered=True)
            == comparable(theirs, m_tag, world.registry, unordered=True))


# -- templates: Podman's parser and podbridge's on the same texts -------------------------

TEMPLATES = [
    "{{.Unit}}", "{{.Unit}},{{.Image}},{{.Updated}},{{.Policy}}", "{{.ContainerName}}",
    "table {{.Unit}} {{.Container}}", "table {{.ContainerID}}\\t{{.ContainerName}}",
    "table {{.Image}}|{{.Policy}}", "{{json .}}", "{{ json . }}", "{{json .Unit}}", "{{.}}",
    "{{.Unit | upper}}", "{{lower .Policy}} {{title .Updated}}", '{{printf "%-30s|" .Unit}}',
    "{{truncate .ContainerID 5}}", "{{pad .Policy 2 3}}|",
    '{{if eq .Updated "pending"}}P{{else}}N{{end}}', "{{range .}}{{.Policy}};{{end}}",
    "{{with .Image}}<{{.}}>{{end}}", "{{len .Unit}}", "{{/* a comment */}}{{.Policy}}",
    "{{- .Policy -}}  !", "a\\tb\\n{{.Policy}}", "{{print .Policy 1 2}}",
    "{{split .Image \"/\"}}", "{{join (split .Image \"/\") \"+\"}}",
    # these do not parse, or fail when run: Podman's words
    "table {{.Foo}}", "{{.Unit", "{{.Unit}", "{{}}", "{{end}}", "{{range .}}",
    "{{foo .}}", "{{.Nope}}", '{{"unterminated}}', "{{.Unit | nofunc}}", "{{lower}}",
    "{{upper .}}", "{{.Unit 3}}", "{{(.Unit}}", "{{.Unit)}}", "{{$x}}", "{{-.Unit}}",
    "{{.Unit.Deeper}}", "{{if}}x{{end}}", "{{else}}", "{{range .}}{{.Unit}}{{end}",
    "{{ .Unit | 3 }}", "{{truncate .Unit \"x\"}}",
]


def test_templates_as_podman_parses_and_runs_them(world: World) -> None:
    """Every template of TEMPLATES through Podman, and through podbridge's output path
    (cli.podman_output, on the rows podbridge's CLI found: one Python start instead of
    fifty); a few through podbridge's whole CLI too. Dry runs: nothing changes."""
    t = tag("t")
    remote = f"{world.registry}/podbridge/dr-{t}:latest"
    world.podman("push", "--quiet", HTTPD_V1, remote)
    units = [Unit(f"dr-{t}-reg", remote, "registry")]
    start_units(world, units)
    ours = podbridge_tool(world.root / "podbridge-state")
    major = podman_major(world)
    try:
        found = ours(world, "--dry-run", "--format", "json")
        assert found.status == 0 and found.stderr == "", found
        rows = [Row(r["Unit"], r["ContainerID"], r["ContainerName"], r["Image"],
                    r["Policy"], r["Updated"]) for r in json.loads(found.stdout)]
        assert any(r.container_name == units[0].name for r in rows)
        differ = []
        for template in TEMPLATES:
            want = podman_tool(world, "--dry-run", "--format", template)
            stdout, stderr, status = podman_output(rows, [], template, major)
            if Outcome(status, stdout, stderr) != want:
                differ.append(f"--format {template!r}: podbridge {(status, stdout, stderr)!r}"
                              f" podman {want!r}")
        assert not differ, "\n".join(differ)
        for template in ("{{.Unit}},{{.Image}},{{.Updated}},{{.Policy}}",
                         "table {{.ContainerName}} {{json .}}", "{{.Unit}"):
            want = podman_tool(world, "--dry-run", "--format", template)
            assert ours(world, "--dry-run", "--format", template) == want, template
    finally:
        remove_units(world, units)
