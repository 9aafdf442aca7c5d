"""``podbridge auto-update`` with a bridge running: the run is handed to the bridge (its
history shows it), prints what the command by itself prints, and a command line or an
environment the bridge does not serve runs by itself."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import pytest

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from bridge.tasks import within
from tests.bench.autoupdate import ROOT, Unit, registries_conf, remove_units, serving, start_units
from tests.integration.bridgefix import base_url
from tests.integration.test_autoupdate_plugin import bridge_with_plugin


async def cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridge", "auto-update", *args, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await within(proc.communicate(), 300)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_hands_its_run_to_the_bridge(world: World, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    uid = uuid.uuid4().hex[:6]
    unit = Unit(f"fw-{uid}", f"{world.registry}/podbridge/fw-{uid}:latest", "registry")
    world.podman("push", "--quiet", HTTPD_V1, unit.image)
    start_units(world, [unit])
    bridge = await bridge_with_plugin(world, tmp_path / "state", monkeypatch)
    env = {**os.environ, **world.env(), "PODBRIDGE_CONFIG": str(tmp_path / "none.toml"),
           "PODBRIDGE_LISTEN": base_url(bridge).removeprefix("http://"),
           "PODBRIDGE_TOKEN": bridge.token, "PODBRIDGE_AUTO_UPDATE_VIA": "bridge"}
    alone = {**env, "PODBRIDGE_TOKEN": "", "PODBRIDGE_STATE_DIR": str(tmp_path / "cli")}
    try:
        world.podman("push", "--quiet", HTTPD_V2, unit.image)
        status, out, err = await cli(env, "--dry-run", "--format", "json")
        assert status == 0, err
        mine = [r for r in json.loads(out) if r["ContainerName"] == unit.name]
        assert [r["Updated"] for r in mine] == ["pending"]
        last = (await bridge.methods.call("autoupdate.status", {}))["last_run"]
        assert last["dry_run"] and unit.name in {p["ContainerName"] for p in last["pending"]}

        # The same run by itself prints the same (its own flag keeps it from the bridge).
        flags = ("--dry-run", "--registries-conf", registries_conf(world))
        status2, out2, _ = await cli(alone, *flags, "--format", "json")
        assert status2 == 0 and json.loads(out2) == json.loads(out)
        table_bridge = (await cli(env, "--dry-run"))[1]
        table_alone = (await cli(alone, *flags))[1]
        assert unit.name in table_bridge and table_bridge == table_alone

        # Another Podman than the bridge's: the command runs by itself (and finds none).
        status, _, err = await cli({**env, "CONTAINER_HOST": "unix:///nonexistent.sock"},
                                   "--dry-run")
        assert status == 125 and "no Podman answers at unix:///nonexistent.sock" in err

        status, out, err = await cli(env, "--format", "json")
        assert status == 0, err
        assert [r["Updated"] for r in json.loads(out)
                if r["ContainerName"] == unit.name] == ["true"]
        assert "v2" in serving(world, unit.name)
        history = await bridge.methods.call("autoupdate.history", {"unit": unit.unit})
        # The bridge's history holds the update: the run was the bridge's.
        assert (history[0]["kind"], history[0]["result"]) == ("update", "true"), history
    finally:
        await bridge.stop()
        remove_units(world, [unit])
