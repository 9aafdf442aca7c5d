"""The panel's Fleet page against a real test fleet: a 3-node NATS cluster and one world
with its bridge (bridge.sandbox.fleet), and the bridge the browser talks to, joined too."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from bridge.sandbox.fleet import Fleet
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import login_by_url, section
from tests.helpers import unique

pytestmark = [pytest.mark.allow_children]
FLEET_HOSTS = 1


def test_fleet_page_shows_hosts_and_their_live_events(page: Page, fleet: Fleet,
                                                      viewer: BridgeProcess) -> None:
    login_by_url(page, viewer)
    section(page, "fleet")
    hosts = page.get_by_test_id("fleet-host")
    expect(page.locator('[data-testid="fleet-host"][data-host="h1"]')).to_have_attribute(
        "data-online", "true", timeout=30_000)
    expect(page.locator('[data-testid="fleet-host"][data-host="viewer"]')).to_have_attribute(
        "data-online", "true", timeout=30_000)
    assert hosts.count() == 2
    # An event on h1 (another bridge, another world's Podman) shows up here, with its host.
    repo = f"localhost/{unique('fleetpage')}"
    world = fleet.host("h1").world()
    world.podman("tag", SLEEP, f"{repo}:1")
    world.podman("untag", SLEEP, f"{repo}:1")
    row = page.locator('[data-testid="fleet-event"][data-host="h1"]', has_text=repo).first
    expect(row).to_be_visible(timeout=30_000)
    # h1 going away is seen: its row turns offline.
    fleet.stop_bridge("h1")
    try:
        expect(page.locator('[data-testid="fleet-host"][data-host="h1"]')).to_have_attribute(
            "data-online", "false", timeout=30_000)
    finally:
        fleet.start_bridge("h1")
