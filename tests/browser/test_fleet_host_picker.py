"""The panel's host picker against a real test fleet: a 3-node NATS cluster, two worlds with
their bridges (h1, h2), and the bridge the browser talks to, on h1's world, joined as host
'viewer'. Picking h2 shows h2's containers, images and units through the fleet (fleet.call
and a fleet subscription filtered to h2), and its actions run on h2."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from bridge.sandbox.fleet import Fleet
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, login_by_url, screenshot, section
from tests.helpers import unique

pytestmark = [pytest.mark.allow_children]
FLEET_HOSTS = 2

LIVE_MS = 60_000  # through NATS and two bridges, on a busy machine


def state_on(fleet: Fleet, host: str, name: str) -> str:
    out = fleet.host(host).world().podman("inspect", "--format", "{{json .State.Status}}", name)
    return str(json.loads(out.stdout.strip()))


def test_the_host_picker_shows_and_acts_on_another_host(page: Page, fleet: Fleet,
                                                         viewer: BridgeProcess) -> None:
    h2 = fleet.host("h2").world()
    name = unique("picked")
    h2.podman("create", "--name", name, SLEEP)
    try:
        login_by_url(page, viewer)
        picker = page.get_by_test_id("host-picker")
        expect(picker.locator('option[value="h2"]')).to_have_count(1, timeout=LIVE_MS)
        expect(picker).to_have_value("viewer")
        row = page.get_by_test_id(f"container-row-{name}")
        # This bridge's own world (h1's) has no such container.
        expect(page.get_by_test_id("containers-table").or_(
            page.get_by_test_id("containers-empty"))).to_be_visible()
        expect(row).to_have_count(0)

        picker.select_option("h2")
        expect(page.get_by_test_id("remote-host")).to_have_attribute("data-host", "h2")
        expect(row).to_be_visible(timeout=LIVE_MS)
        assert row.get_attribute("data-state") != "running"

        # An action on h2, through the fleet; its new state comes back live, as h2's event.
        page.get_by_test_id(f"container-start-{name}").click()
        expect(row).to_have_attribute("data-state", "running", timeout=LIVE_MS)
        assert state_on(fleet, "h2", name) == "running"
        axe_clean(page, "fleet-host-picker")
        screenshot(page, "fleet-host-picker")

        # A change made on h2 itself (not through the panel) shows up too.
        h2.podman("stop", "-t", "1", name)
        expect(row).to_have_attribute("data-state", "exited", timeout=LIVE_MS)
        page.get_by_test_id(f"container-start-{name}").click()
        expect(row).to_have_attribute("data-state", "running", timeout=LIVE_MS)
        page.get_by_test_id(f"container-stop-{name}").click()
        expect(row).to_have_attribute("data-state", "exited", timeout=LIVE_MS)
        assert state_on(fleet, "h2", name) == "exited"

        # h2's other pages: its images (one used by the container only h2 has), its units.
        section(page, "images")
        expect(page.get_by_test_id("remote-host")).to_have_attribute("data-host", "h2")
        expect(page.get_by_test_id("image-used-by").filter(has_text=name)).to_have_count(
            1, timeout=LIVE_MS)
        section(page, "units")
        expect(page.get_by_test_id("units-table").or_(
            page.get_by_test_id("units-empty"))).to_be_visible(timeout=LIVE_MS)
        axe_clean(page, "fleet-host-picker-units")

        # The fleet's own pages are the fleet's, whichever host is picked.
        section(page, "fleet")
        expect(page.get_by_test_id("remote-host")).to_have_count(0)
        expect(page.locator('[data-testid="fleet-host"][data-host="h2"]')).to_be_visible(
            timeout=LIVE_MS)

        # Back to this bridge: its own containers again.
        section(page, "containers")
        picker.select_option("viewer")
        expect(page.get_by_test_id("remote-host")).to_have_count(0)
        expect(row).to_have_count(0, timeout=LIVE_MS)

        # h2's bridge away: picked, h2 is said to be unreachable; back, its page fills in.
        fleet.stop_bridge("h2")
        try:
            picker.select_option("h2")
            note = page.get_by_test_id("remote-host")
            expect(note).to_have_attribute("data-reachable", "false", timeout=LIVE_MS)
            expect(row).to_have_count(0)
        finally:
            fleet.start_bridge("h2")
        expect(note).to_have_attribute("data-reachable", "true", timeout=LIVE_MS)
        expect(row).to_have_attribute("data-state", "exited", timeout=LIVE_MS)
    finally:
        h2.podman("rm", "-f", name)
