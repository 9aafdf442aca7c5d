"""The unit generator plugin in the test world: its units against the real
`podman generate systemd` on the same containers, a generated --new unit installed and
serving, a Quadlet file checked key by key, and bad input."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.errors import BridgeError
from plugins.unit_generator.install import install_units
from tests.helpers import fetch, free_port, unique
from tests.integration.bridgefix import refused
from tests.unit.unitdiff import by_unit, diff_unit_sets

IMAGE = "localhost/podbridge/httpd:v1"


# Containers of our own: name suffix -> words after `podman create --name NAME`.
CASES: dict[str, list[str]] = {
    "ports": ["-p", "127.0.0.1:18080:80", IMAGE],
    "env": ["-e", "GREETING=hello world", "-e", "RATE=100%", "-e", "DOLLAR=$HOME", IMAGE],
    "labels": ["--label", "app=web shop", "--label", "io.containers.autoupdate=registry", IMAGE],
    "volume": ["-v", "/srv:/data:ro", "--tmpfs", "/scratch", IMAGE],
    "entry": ["--entrypoint", '["/bin/sh","-c"]', IMAGE, "echo 'a b' \"c\" \\\\d"],
    "restart": ["--restart", "on-failure:3", IMAGE],
    "always": ["--restart", "unless-stopped", IMAGE, "sleep", "100"],
}
FLAG_SETS = [[], ["--new"], ["--new", "--restart-policy", "always", "--stop-timeout", "5"],
             ["--new", "--no-header", "--after", "a.service", "--wants", "b.service",
              "--requires", "c.service", "--restart-sec", "3", "--start-timeout", "20",
              "--container-prefix", "ctr", "--separator", "_", "-e", "X=1 2"]]


def podman_units(world: Any, target: str, flags: list[str]) -> dict[str, str]:
    out = world.podman("generate", "systemd", "--name", "--format", "json", *flags, target)
    units: dict[str, str] = json.loads(out.stdout)
    return units


async def test_parity_with_podman_generate_systemd(world: Any, gen_client: BridgeClient
                                                   ) -> None:
    names = []
    pod = unique("gen-pod")
    try:
        for suffix, words in CASES.items():
            name = unique(f"gen-{suffix}")
            await asyncio.to_thread(world.podman, "create", "--name", name, *words)
            names.append(name)
        # A pod with two member containers: podman answers a pod unit and one unit per
        # member (the infra container has none).
        await asyncio.to_thread(world.podman, "pod", "create", "--name", pod, "-p",
                                "127.0.0.1:18090:80", "--label", "x=a b")
        for member, extra in (("a", []), ("b", ["--requires", f"{pod}-a"])):
            await asyncio.to_thread(world.podman, "create", "--pod", pod, "--name",
                                    f"{pod}-{member}", *extra, "-e", "M=1 %", IMAGE,
                                    "sleep", "100")
        problems: list[str] = []
        compared = 0
        for target in [*names, pod]:
            for flags in FLAG_SETS:
                if target == pod:
                    # Podman 4.3.1 escapes `-e` values in place, in the one list all of a
                    # pod's members share: the second member it renders gets
                    # Environment="\"X=1 2\"" (escaped twice), in an order set by the
                    # container IDs. Ours escapes once; compare with a value that
                    # escaping leaves alone.
                    flags = ["X=1" if f == "X=1 2" else f for f in flags]
                expected = await asyncio.to_thread(podman_units, world, target, flags)
                params = {"name": target, "format": "systemd", **flags_to_params(flags)}
                got = await gen_client.call("units.generate", params)
                ours = {k.removesuffix(".service"): v for k, v in got["units"].items()}
                diff = diff_unit_sets(expected, ours)
                compared += len(expected)
                problems += [f"{target} {shlex.join(flags)}: {d}" for d in diff]
        assert compared == (len(names) + 3) * len(FLAG_SETS)
        assert not problems, "\n".join(problems)
    finally:
        await asyncio.to_thread(world.podman, "pod", "rm", "-f", "--ignore", pod, check=False)
        await asyncio.to_thread(world.podman, "rm", "-f", *names, check=False)


# The one line that differs between two runs: the header's time (Go's time.UnixDate).
TIMESTAMP = re.compile(r"^# \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \S+ \d{4}$", re.M)


def podbridge_generate(world: Any, flags: list[str], target: str
                       ) -> subprocess.CompletedProcess[str]:
    """`podbridge generate systemd` run on the machine against the world's Podman."""
    return subprocess.run([sys.executable, "-m", "bridge", "generate", "--url",
                           world.podman_url, "systemd", "--name", *flags, target],
                          capture_output=True, text=True, timeout=120, check=False)


async def test_cli_prints_what_podman_generate_systemd_prints(world: Any) -> None:
    """`podbridge generate systemd` against the world's Podman prints, byte for byte, what
    that world's own `podman generate systemd` prints (the header's time aside, and the
    order of a pod's units, which is Go's map order in Podman): units, separators,
    version line; and the deprecation notice where Podman gives one."""
    names = []
    pod = unique("cli-pod")
    try:
        for suffix in ("ports", "env", "entry", "restart"):
            name = unique(f"cli-{suffix}")
            await asyncio.to_thread(world.podman, "create", "--name", name, *CASES[suffix])
            names.append(name)
        await asyncio.to_thread(world.podman, "pod", "create", "--name", pod, "-p",
                                "127.0.0.1:18091:80")
        await asyncio.to_thread(world.podman, "create", "--pod", pod, "--name", f"{pod}-a",
                                IMAGE, "sleep", "100")
        problems: list[str] = []
        compared = 0
        for target in [*names, pod]:
            for flags in FLAG_SETS:
                if target == pod:   # see test_parity_with_podman_generate_systemd
                    flags = ["X=1" if f == "X=1 2" else f for f in flags]
                theirs = await asyncio.to_thread(
                    world.podman, "generate", "systemd", "--name", *flags, target)
                ours = await asyncio.to_thread(podbridge_generate, world, flags, target)
                compared += 1
                where = f"{target} {shlex.join(flags)}"
                if ours.returncode != 0:
                    problems.append(f"{where}: exit {ours.returncode}: {ours.stderr}")
                    continue
                # Each unit byte for byte; a pod's come in Go's map order from Podman.
                if by_unit(TIMESTAMP.sub("# TIME", ours.stdout)) != by_unit(
                        TIMESTAMP.sub("# TIME", theirs.stdout)):
                    problems.append(f"{where}: stdout differs:\n--- podman\n{theirs.stdout}"
                                    f"\n--- podbridge\n{ours.stdout}")
                if ("DEPRECATED command" in theirs.stderr) != ("DEPRECATED command"
                                                               in ours.stderr):
                    problems.append(f"{where}: deprecation notice: podman {theirs.stderr!r}"
                                    f", podbridge {ours.stderr!r}")
        assert compared == (len(names) + 1) * len(FLAG_SETS)
        assert not problems, "\n".join(problems)
    finally:
        await asyncio.to_thread(world.podman, "pod", "rm", "-f", "--ignore", pod, check=False)
        await asyncio.to_thread(world.podman, "rm", "-f", *names, check=False)


def flags_to_params(flags: list[str]) -> dict[str, Any]:
    """The same options as units.generate params (--name is always on here)."""
    p: dict[str, Any] = {"use_name": True}
    it = iter(flags)
    for flag in it:
        key = flag.lstrip("-").replace("-", "_")
        if flag in ("--new", "--no-header"):
            p[key] = True
        elif flag in ("--after", "--wants", "--requires", "-e"):
            p.setdefault("env" if flag == "-e" else key, []).append(next(it))
        elif flag in ("--stop-timeout", "--restart-sec", "--start-timeout"):
            p[key] = int(next(it))
        else:
            p[key] = next(it)
    return p


async def test_new_unit_installed_starts_and_serves(world: Any, gen_bridge: Bridge,
                                                    gen_client: BridgeClient) -> None:
    name = unique("served")
    port = free_port()
    await asyncio.to_thread(world.podman, "create", "--name", name, "-p",
                            f"127.0.0.1:{port}:80", IMAGE)
    events: list[str] = []
    unlisten = gen_bridge.bus.listen(["unitgen.*"], lambda e, _r: events.append(e.type))
    unit = f"container-{name}.service"
    try:
        result = await gen_client.call("units.install", {
            "name": name, "use_name": True, "new": True, "start": True, "enable": True},
            timeout=120)
        installed = result["installed"][0]
        assert installed["unit"] == unit and installed["job_result"] == "done"
        assert Path(installed["path"]).parent == Path(world.unit_dir)
        assert gen_bridge.state.units[unit]["active_state"] == "active"
        body = await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/", 30)
        assert "podbridge httpd v1" in body
        assert "unitgen.installed" in events
        # A unit we did not write is never overwritten without force.
        foreign = Path(world.unit_dir) / f"foreign-{name}.service"
        foreign.write_text("[Service]\nExecStart=/bin/true\n")
        info = await refused(gen_client, "units.install", {"name": name, "new": True,
                                                           "container_prefix": "foreign"})
        assert info.code == "conflict"
        assert foreign.read_text() == "[Service]\nExecStart=/bin/true\n"
        foreign.unlink()
    finally:
        unlisten()
        try:
            await gen_client.call("units.remove", {"unit": unit}, timeout=120)
        finally:
            await asyncio.to_thread(world.podman, "rm", "-f", name, check=False)
    assert not (Path(world.unit_dir) / unit).exists()


async def test_quadlet_file_matches_the_container(world: Any, gen_client: BridgeClient
                                                  ) -> None:
    name = unique("quad")
    await asyncio.to_thread(
        world.podman, "create", "--name", name, "-p", "127.0.0.1:18181:80",
        "-e", "MODE=a b", "--label", "io.containers.autoupdate=registry",
        "--label", "tier=front", "-v", "/srv:/data:ro", IMAGE, "sleep", "60")
    try:
        got = await gen_client.call("units.generate", {"name": name, "format": "quadlet"})
        (fname, text), = got["units"].items()
        assert fname == f"{name}.container"
        keys = quadlet_keys(text)
        assert keys["Image"] == [IMAGE]
        assert keys["ContainerName"] == [name]
        assert keys["PublishPort"] == ["127.0.0.1:18181:80"]
        assert keys["AutoUpdate"] == ["registry"]
        assert "tier=front" in keys["Label"][0]
        assert "MODE=" in keys["Environment"][0] and "a b" in keys["Environment"][0]
        assert keys["Volume"] == ["/srv:/data:ro"]
        assert keys["Exec"] == ["sleep 60"]
        assert "PodmanArgs" not in keys
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", name, check=False)


def quadlet_keys(text: str) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Container]":
            k, _, v = line.partition("=")
            keys.setdefault(k, []).append(v)
    return keys


async def test_bad_input(world: Any, gen_bridge: Bridge, gen_client: BridgeClient,
                         tmp_path: Path) -> None:
    info = await refused(gen_client, "units.generate", {"name": "no-such-container"})
    assert info.code == "not-found"
    name = unique("newline")
    await asyncio.to_thread(world.podman, "create", "--name", name, IMAGE, "echo", "a\nb")
    try:
        with pytest.raises(BridgeError) as info:
            await gen_client.call("units.generate", {"name": name, "new": True})
        assert "newline" in info.value.message.lower() or "\\n" in info.value.message
        assert "CreateCommand" in info.value.message
        # An unwritable unit folder (its parent is a file): a clear error, nothing written.
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("")
        with pytest.raises(BridgeError) as info:
            await install_units(gen_bridge.systemd, blocker / "units",
                                {"x-podbridge.service": "[Service]\nExecStart=/bin/true\n"},
                                enable=False, start=False, force=False)
        assert "cannot write" in info.value.message
        assert blocker.read_text() == ""
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", name, check=False)


async def test_a_unit_that_never_starts_is_a_clear_error(world: Any, gen_bridge: Bridge,
                                                        gen_client: BridgeClient) -> None:
    name = unique("broken")
    # Its command does not exist: `podman run` fails, so the start job fails.
    await asyncio.to_thread(world.podman, "create", "--name", name, IMAGE,
                            "/no/such/command")
    unit = f"container-{name}.service"
    failed: list[dict[str, Any]] = []
    unlisten = gen_bridge.bus.listen(["unitgen.failed"], lambda e, _r: failed.append(e.data))
    try:
        with pytest.raises(BridgeError) as info:
            await gen_client.call("units.install", {"name": name, "new": True, "start": True},
                                  timeout=120)
        assert info.value.code == "failed" and unit in info.value.message
        assert "did not start" in info.value.message
        assert failed and failed[-1]["job_result"] != "done"
        assert (Path(world.unit_dir) / unit).exists(), "installed, as asked, but not running"
    finally:
        unlisten()
        await gen_client.call("units.remove", {"unit": unit}, timeout=120)
        await asyncio.to_thread(world.podman, "rm", "-f", name, check=False)
