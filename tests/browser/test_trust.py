"""The panel under the trust rules (issue 18): who is logged in, logout ends the session in
every tab, a viewer's panel, and the Audit page showing a change as it is made."""

from __future__ import annotations

import subprocess
import sys

from playwright.sync_api import BrowserContext, Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import ROOT, BridgeProcess
from tests.browser.panel import login_by_url, online, screenshot, section
from tests.helpers import unique


def token_add(bridge: BridgeProcess, name: str, role: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "token", "--state-dir", str(bridge.state_dir),
         "--config", str(bridge.config), "add", name, "--role", role],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


def test_logout_in_one_tab_ends_the_session_in_every_tab(
        context: BrowserContext, bridge: BridgeProcess) -> None:
    first = context.new_page()
    login_by_url(first, bridge)
    expect(first.get_by_test_id("whoami")).to_have_attribute("data-role", "admin")
    second = context.new_page()
    second.goto(f"{bridge.base}/#/units")
    online(second)
    first.get_by_test_id("logout").click()
    expect(first.get_by_test_id("login")).to_be_visible()
    expect(second.get_by_test_id("login")).to_be_visible()
    expect(second.get_by_test_id("login")).to_contain_text("session ended")
    # The cookie is gone for good: a reload asks for a token.
    second.reload()
    expect(second.get_by_test_id("login")).to_be_visible()


def test_a_viewer_sees_but_may_not_audit(page: Page, bridge: BridgeProcess) -> None:
    token = token_add(bridge, unique("viewer"), "viewer")
    page.goto(f"{bridge.base}/")
    page.get_by_test_id("login-token").fill(token)
    page.get_by_test_id("login-submit").click()
    online(page)
    expect(page.get_by_test_id("whoami")).to_have_attribute("data-role", "viewer")
    section(page, "audit")
    expect(page.get_by_test_id("audit-unavailable")).to_contain_text("admin")


def test_the_audit_page_shows_a_change_as_it_is_made(
        page: Page, bridge: BridgeProcess, world: World) -> None:
    name = unique("pba")
    world.podman("run", "-d", "--name", name, SLEEP)
    try:
        login_by_url(page, bridge, "audit")
        expect(page.get_by_role("heading", name="Audit", level=1)).to_be_visible()
        bridge.call("containers.stop", name=name, timeout=0)
        row = page.locator('[data-testid="audit-row"][data-method="containers.stop"]',
                           has_text=name)
        expect(row).to_be_visible(timeout=10_000)
        expect(row).to_have_attribute("data-ok", "true")
        expect(row).to_contain_text("admin (admin)")
        screenshot(page, "audit")
    finally:
        world.podman("rm", "-f", "--ignore", "-t", "0", name, check=False)
