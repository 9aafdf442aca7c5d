"""Kill the bridge under an open page (SIGKILL), start it again on the same state folder and
port: the page shows that it is disconnected, comes back by itself, and is live again,
without a reload."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import login_by_url, screenshot, timed_visible
from tests.helpers import started, unique


@pytest.fixture
def own_bridge(world: World, panel: Path, tmp_path: Path) -> Iterator[BridgeProcess]:
    """A bridge of this test's own, to kill; stopped and reaped whatever happens."""
    with started(BridgeProcess(world, tmp_path / "state", panel)) as b:
        yield b


def test_the_page_recovers_from_a_killed_bridge_by_itself(
        page: Page, own_bridge: BridgeProcess, world: World) -> None:
    before, after = unique("pbt-before"), unique("pbt-after")
    try:
        world.podman("create", "--name", before, SLEEP)
        login_by_url(page, own_bridge)
        expect(page.get_by_test_id(f"container-row-{before}")).to_be_visible()
        # A mark on the window: still there afterwards means the page was not reloaded.
        page.evaluate("window.__podbridgeNoReload = 42")
        banner = page.get_by_test_id("disconnected-banner")
        expect(banner).to_have_count(0)

        killed = time.monotonic()
        own_bridge.kill()
        shown = timed_visible(banner, 10_000, killed)
        expect(page.get_by_test_id("connection-status")).to_have_text("disconnected")
        print(f"\nthe banner appeared {shown:.3f}s after the SIGKILL")
        # What was known stays on screen meanwhile.
        expect(page.get_by_test_id(f"container-row-{before}")).to_be_visible()
        screenshot(page, "disconnected")

        # The world moves on while the bridge is down.
        world.podman("rm", before)
        restarted = time.monotonic()
        own_bridge.start()
        up = time.monotonic() - restarted
        expect(banner).to_have_count(0, timeout=20_000)
        gone = time.monotonic() - restarted
        expect(page.get_by_test_id("connection-status")).to_have_attribute("data-phase", "online")
        print(f"the bridge took {up:.3f}s to start again; the banner went away {gone:.3f}s "
              "after the start began")
        expect(page.get_by_test_id(f"container-row-{before}")).to_have_count(0)

        issued = time.monotonic()
        world.podman("run", "-d", "--name", after, SLEEP)
        seen = timed_visible(page.get_by_test_id(f"container-row-{after}"), 3_000, issued)
        print(f"a container made after the restart appeared {seen:.3f}s after `podman run` "
              "was issued")
        assert page.evaluate("window.__podbridgeNoReload") == 42, "the page was reloaded"
    finally:
        world.podman("rm", "-f", "--ignore", "-t", "0", before, after, check=False)
