"""Rollouts on a real fleet: 3 test worlds, each with its bridge joined to a 3-node NATS
cluster (as `podbridge sandbox fleet up --demo` starts it), every host running
demo-app.service from REGISTRY/demo/app:latest. Each test pushes a new image as that tag
and rolls it out through the fixed-point command line; the hosts update through their own
auto-update and rollback watcher.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from argparse import Namespace
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.fleet.api import FleetClient, connect_client
from bridge.sandbox.fleet import DEMO_UNIT, FLEET_NAME, Fleet
from bridge.sandbox.leftovers import HostSnapshot, leftovers
from plugins.rollout.engine import Rollout
from plugins.rollout.service import RolloutService, matches
from tests.integration.rollout_images import (
    BROKEN,
    GOOD,
    late_crash,
    local_digests,
    push_variant,
)

pytestmark = [pytest.mark.world, pytest.mark.timeout(900), pytest.mark.allow_children]

PROBATION = "6s"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    from bridge.sandbox import unavailable_reason

    if reason := unavailable_reason():
        pytest.skip(f"no test world on this machine: {reason}")
    before = HostSnapshot.take()
    f = Fleet.up(tmp_path_factory.mktemp("rollout-fleet"), 3, demo=True)
    worlds = [h.world() for h in f.hosts]
    try:
        yield f
    finally:
        f.down()
    left = [item for w in worlds for item in leftovers(w, before)]
    assert not left, f"the fleet left behind: {left}"


@pytest.fixture
async def nats(fleet: Fleet) -> AsyncIterator[FleetClient]:
    c = await connect_client(Namespace(fleet=fleet.url, fleet_name=FLEET_NAME,
                                       config="/nonexistent"), timeout=30)
    try:
        # Every host online, its summary listing demo-app (a summary follows the host's
        # state within a second or so; a rollout is matched against it).
        repo = f"{fleet.registry_address}/demo/app"
        async with asyncio.timeout(90):
            while True:
                online = {h["host"] for h in await c.hosts() if h["online"]}
                summaries = await c.summaries()
                if online >= {"h1", "h2", "h3"} and all(
                        matches(summaries.get(h) or {}, "app=demo", repo)
                        for h in ("h1", "h2", "h3")):
                    break
                await asyncio.sleep(0.3)
        yield c
    finally:
        await c.close()


def cli(fleet: Fleet, *args: str) -> Any:
    """``podbridge fleet ARGS --format json`` as a user runs it; its JSON output."""
    env = {**os.environ, "PODBRIDGE_FLEET": fleet.url, "PODBRIDGE_CONFIG": "/nonexistent"}
    done = subprocess.run([sys.executable, "-m", "bridge", "fleet", *args, "--fleet-name",
                           FLEET_NAME, "--format", "json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def start(fleet: Fleet, canary: int = 1, max_unavailable: int = 2,
          probation: str = PROBATION) -> str:
    out = cli(fleet, "rollout", "--image", f"{fleet.registry_address}/demo/app:latest",
              "--selector", "app=demo", "--canary", str(canary), "--max-unavailable",
              str(max_unavailable), "--probation", probation)
    assert set(out) == {"id"}
    return str(out["id"])


async def wait_phase(nats: FleetClient, rid: str, phases: set[str],
                     timeout: float = 240.0) -> Rollout:
    async with asyncio.timeout(timeout):
        while True:
            r = await get(nats, rid)
            if r.phase in phases:
                return r
            await asyncio.sleep(0.3)


async def get(nats: FleetClient, rid: str) -> Rollout:
    """The record; the test's own reads ride out a NATS node's death (a moment without a
    stream leader) like the bridges do."""
    async with asyncio.timeout(60):
        while True:
            try:
                return await RolloutService(nats).get(rid)
            except Exception as exc:  # nats' timeouts while a leader is elected
                if type(exc).__name__ == "NotFound":
                    raise
                await asyncio.sleep(0.5)


def running_digest(fleet: Fleet, host: str) -> str:
    out = fleet.host(host).world().podman("inspect", "demo-app", "--format",
                                          "{{.ImageDigest}} {{.State.Status}}").stdout.split()
    assert out[1] == "running", f"demo-app on {host} is {out[1]}"
    return out[0]


async def updates_of(nats: FleetClient, r: Rollout, host: str) -> int:
    """How many times ``host`` restarted demo-app for the rollout: the watches its rollback
    watcher recorded for the update's run."""
    rec = await nats.call(host, "autoupdate.applied", {"token": r.hosts[host].token})
    history = await nats.call(host, "rollback.history", {"limit": 200})
    return sum(1 for w in history if w.get("run") == rec["run"] and w["unit"] == DEMO_UNIT)


async def test_a_good_image_rolls_out_canary_first_and_completes(
        fleet: Fleet, nats: FleetClient) -> None:
    digest = push_variant(fleet.hosts[0].world(), fleet.registry_address, GOOD)
    rid = start(fleet)
    r = await wait_phase(nats, rid, {"done", "rolled-back", "halted"})
    status = cli(fleet, "status", rid)
    assert list(status)[:4] == ["id", "phase", "digest", "hosts"]
    assert status["phase"] == "done", status
    assert status["digest"] == digest
    assert status["hosts"] == {"h1": "passed", "h2": "passed", "h3": "passed"}
    canary, rest = plan_of(r)
    canary_done = r.hosts[canary].done_at
    assert canary_done is not None
    assert all((r.hosts[h].asked_at or 0) >= canary_done for h in rest)
    for host in ("h1", "h2", "h3"):
        assert running_digest(fleet, host) == digest
        assert await updates_of(nats, r, host) == 1
    # The controller's events are in the fleet's stream, in order.
    seen: list[str] = []
    events = nats.events(["fleet.rollout.**"], since=0)
    async with asyncio.timeout(60):
        async for ev in events:
            if ev["data"].get("id") != rid:
                continue
            kind = ev["type"].removeprefix("fleet.rollout.")
            seen.append(f"{kind}:{ev['data']['host']}:{ev['data']['state']}"
                        if kind == "host" else kind)
            if kind == "done":
                break
    await events.aclose()  # type: ignore[attr-defined]
    assert seen[0] == "started" and seen[-1] == "done", seen
    for host in rest:
        assert seen.index(f"host:{canary}:passed") < seen.index(f"host:{host}:updating"), seen


def plan_of(r: Rollout) -> tuple[str, list[str]]:
    """The rollout's canary and the hosts of its one wave after it (max_unavailable 2).

    The canary is the first *online* host by name: h1, unless its heartbeat was late when
    the rollout was planned (a loaded machine: the test fleet's hosts beat every second
    and count as offline after three), which makes h2 the canary, as it should be."""
    assert len(r.waves) == 2 and len(r.waves[0]) == 1, r.waves
    [canary], rest = r.waves
    assert sorted([canary, *rest]) == ["h1", "h2", "h3"], r.waves
    return canary, rest


async def bad_image_stops_at_the_canary(fleet: Fleet, nats: FleetClient, cmd: str) -> None:
    before = {h: running_digest(fleet, h) for h in ("h1", "h2", "h3")}
    digest = push_variant(fleet.hosts[0].world(), fleet.registry_address, cmd)
    rid = start(fleet)
    r = await wait_phase(nats, rid, {"done", "rolled-back"})
    assert r.phase == "rolled-back", r.summary()
    assert r.digest == digest
    canary, rest = plan_of(r)
    assert r.summary()["hosts"] == {canary: "rolled-back", **dict.fromkeys(rest, "skipped")}
    assert [e["phase"] for e in r.history] == ["canary", "halted", "rolling-back",
                                               "rolled-back"]
    # The canary runs its previous image again; nobody else ever pulled the digest.
    assert running_digest(fleet, canary) == before[canary]
    for host in rest:
        assert digest not in local_digests(fleet.host(host).world())
        assert running_digest(fleet, host) == before[host]
        assert r.hosts[host].asked_at is None


async def test_a_broken_image_stops_at_the_canary(fleet: Fleet, nats: FleetClient) -> None:
    await bad_image_stops_at_the_canary(fleet, nats, BROKEN)


async def test_a_late_crashing_image_stops_at_the_canary(
        fleet: Fleet, nats: FleetClient) -> None:
    await bad_image_stops_at_the_canary(fleet, nats, late_crash(2))


async def test_a_nats_node_killed_mid_rollout_changes_nothing(
        fleet: Fleet, nats: FleetClient) -> None:
    assert fleet.nats is not None
    digest = push_variant(fleet.hosts[0].world(), fleet.registry_address, GOOD)
    rid = start(fleet, max_unavailable=1)
    await wait_phase(nats, rid, {"wave", "done", "rolled-back"})
    fleet.nats.kill_node(0)
    try:
        r = await wait_phase(nats, rid, {"done", "rolled-back"})
    finally:
        fleet.nats.start_node(0)
    assert r.phase == "done", r.summary()
    for host in ("h1", "h2", "h3"):
        assert running_digest(fleet, host) == digest
        assert await updates_of(nats, r, host) == 1


async def lease_holder(nats: FleetClient) -> str:
    entry = await (await nats.kv("rollout")).get("lease")
    assert entry is not None
    return str(entry.value["holder"]).partition(":")[0]


async def test_the_controller_killed_mid_wave_is_replaced_and_updates_nobody_twice(
        fleet: Fleet, nats: FleetClient) -> None:
    digest = push_variant(fleet.hosts[0].world(), fleet.registry_address, GOOD)
    rid = start(fleet, max_unavailable=1)
    # Kill the controller's bridge while a wave is on probation on another host.
    async with asyncio.timeout(240):
        while True:
            r = await get(nats, rid)
            holder = await lease_holder(nats)
            busy = [n for n, h in r.hosts.items() if h.state == "updating"]
            if r.phase == "wave" and busy and holder not in busy:
                break
            assert r.phase in ("canary", "wave"), r.summary()
            await asyncio.sleep(0.2)
    fleet.stop_bridge(holder, signal.SIGKILL)
    fleet.start_bridge(holder)
    r = await wait_phase(nats, rid, {"done", "rolled-back"})
    assert r.phase == "done", r.summary()
    for host in ("h1", "h2", "h3"):
        assert running_digest(fleet, host) == digest
        assert await updates_of(nats, r, host) == 1
    assert r.hosts["h3"].tries <= 2


async def test_a_host_down_during_a_rollout_catches_up_when_it_returns(
        fleet: Fleet, nats: FleetClient) -> None:
    digest = push_variant(fleet.hosts[0].world(), fleet.registry_address, GOOD)
    fleet.stop_bridge("h3")
    try:
        async with asyncio.timeout(60):
            while any(h["online"] for h in await nats.hosts() if h["host"] == "h3"):  # noqa: ASYNC110
                await asyncio.sleep(0.3)
        rid = start(fleet, max_unavailable=1)
        async with asyncio.timeout(240):
            while (await get(nats, rid)).hosts["h2"].state != "passed":  # noqa: ASYNC110
                await asyncio.sleep(0.3)
        r = await get(nats, rid)
        assert r.phase == "wave" and r.hosts["h3"].state == "deferred", r.summary()
    finally:
        fleet.start_bridge("h3")
    r = await wait_phase(nats, rid, {"done", "rolled-back"})
    assert r.phase == "done", r.summary()
    assert running_digest(fleet, "h3") == digest
    assert await updates_of(nats, r, "h3") == 1


CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


def start_panel_bridge(fleet: Fleet, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """One more bridge of the fleet, on TCP, beside h1's world (no controller)."""
    from bridge.sandbox.registry import free_port

    h1 = fleet.host("h1")
    port = free_port()
    state = tmp_path / "panel-state"
    state.mkdir(mode=0o700)
    config = tmp_path / "panel.toml"
    text = h1.config.read_text()
    text = text.replace(f'listen = "unix:{h1.socket}"', f'listen = "127.0.0.1:{port}"')
    text = text.replace(f'state_dir = "{h1.state_dir}"', f'state_dir = "{state}"')
    text = text.replace('host = "h1"', 'host = "panel"')
    config.write_text(text + "\n[plugins.rollout]\ncontroller = false\n")
    log = tmp_path / "panel.log"
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"),
           "DBUS_SYSTEM_BUS_ADDRESS": h1.world().dbus_address, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--config",
                                 str(config)], stdout=out, stderr=out, env=env,
                                stdin=subprocess.DEVNULL)
    return proc, log


def served_url(proc: subprocess.Popen[bytes], log: Path) -> str | None:
    text = log.read_text()
    assert proc.poll() is None, text
    return text.split("is serving at ", 1)[1].split()[0] if "is serving at " in text else None


def stop_panel_bridge(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def screenshot_path() -> str:
    shots = ROOT / "test-artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    return str(shots / "rollouts.png")


async def test_the_panel_shows_each_rollout_its_waves_and_hosts(
        fleet: Fleet, nats: FleetClient, tmp_path: Path) -> None:
    """The Rollouts page of a bridge of the fleet shows the rollouts of the tests above:
    phase, waves, every host's state."""
    pytest.importorskip("playwright")
    from playwright.async_api import async_playwright, expect

    if not await asyncio.to_thread(CHROMIUM.exists):
        pytest.skip("no browser: /usr/bin/chromium is missing")
    history = await RolloutService(nats).history(20)
    if not history:  # run alone: make one
        await asyncio.to_thread(push_variant, fleet.hosts[0].world(),
                                fleet.registry_address, GOOD)
        await wait_phase(nats, await asyncio.to_thread(start, fleet), {"done", "rolled-back"})
        history = await RolloutService(nats).history(20)
    proc, log = await asyncio.to_thread(start_panel_bridge, fleet, tmp_path)
    try:
        async with asyncio.timeout(60):
            while (url := served_url(proc, log)) is None:  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"])
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await page.goto(url)
                await expect(page.get_by_test_id("connection-status")).to_have_attribute(
                    "data-phase", "online", timeout=30_000)
                await page.get_by_test_id("nav-rollouts").click()
                newest = history[0]
                section = page.locator(f'[data-testid="rollout"][data-id="{newest["id"]}"]')
                await expect(section).to_have_attribute("data-phase", newest["phase"],
                                                        timeout=30_000)
                rows = section.get_by_test_id("rollout-host")
                await expect(rows).to_have_count(len(newest["hosts"]))
                for name, state in newest["hosts"].items():
                    row = section.locator(f'[data-testid="rollout-host"][data-host="{name}"]')
                    await expect(row).to_have_attribute("data-state", state)
                canary = section.locator('[data-testid="rollout-host"][data-wave="0"]')
                await expect(canary).to_have_count(1)
                await page.screenshot(path=await asyncio.to_thread(screenshot_path),
                                      full_page=True)
            finally:
                await browser.close()
    finally:
        await asyncio.to_thread(stop_panel_bridge, proc)
