"""The panel against a real bridge on the test world (issue 8, "Show"): log in; a container
made outside the UI shows up; stop it from the UI; generate a unit; a dry-run update's
pending row; screenshots of each page, at 1280x800 and at a phone's width."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import HTTPD_V1, HTTPD_V2, SLEEP
from tests.bench.autoupdate import Unit, remove_units, start_units
from tests.browser.conftest import PHONE, BridgeProcess
from tests.browser.panel import (
    login_by_url,
    on_screen,
    online,
    screenshot,
    section,
    timed_visible,
    wait_until,
)
from tests.helpers import unique

# "Within a second" is what the issue asks; the assertion allows a loaded machine a few.
APPEAR_MS = 3_000


def test_the_printed_url_logs_in_at_once(page: Page, bridge: BridgeProcess) -> None:
    page.goto(bridge.url)
    online(page)
    assert "token=" not in page.url, "the token is traded for a cookie and leaves the address"
    expect(page.get_by_test_id("login")).to_have_count(0)
    expect(page.get_by_role("heading", name="Containers", level=1)).to_be_visible()


def test_the_login_form_refuses_a_wrong_token_then_takes_the_right_one(
        page: Page, bridge: BridgeProcess) -> None:
    page.goto(f"{bridge.base}/")
    expect(page.get_by_test_id("login")).to_be_visible()
    page.get_by_test_id("login-token").fill("not-the-token")
    page.get_by_test_id("login-submit").click()
    expect(page.get_by_test_id("login-error")).to_contain_text("not valid")
    expect(page.get_by_test_id("connection-status")).to_have_count(0)

    page.get_by_test_id("login-token").fill(bridge.token)
    page.get_by_test_id("login-submit").click()
    online(page)
    expect(page.get_by_test_id("login")).to_have_count(0)


def test_a_container_made_outside_appears_and_stops_from_the_ui(
        page: Page, bridge: BridgeProcess, world: World, container: str) -> None:
    login_by_url(page, bridge)
    expect(page.get_by_role("heading", name="Containers", level=1)).to_be_visible()
    page.wait_for_timeout(500)  # the first snapshot and its follow-ups are in

    row = page.get_by_test_id(f"container-row-{container}")
    expect(row).to_have_count(0)
    issued = time.monotonic()
    world.podman("run", "-d", "--name", container, SLEEP)
    returned = time.monotonic()
    seen = timed_visible(row, APPEAR_MS, issued)
    print(f"\n`podman run` took {returned - issued:.3f}s; the row appeared {seen:.3f}s after "
          f"it was issued, {seen - (returned - issued):.3f}s after it returned")
    expect(row).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id(f"container-state-{container}")).to_have_text("running")
    screenshot(page, "containers")

    # Stop it from the UI: the new state arrives as events.
    clicked = time.monotonic()
    page.get_by_test_id(f"container-stop-{container}").click()
    expect(row).to_have_attribute("data-state", re.compile(r"^(exited|stopped)$"),
                                  timeout=15_000)
    print(f"stopped from the UI: the row said so {time.monotonic() - clicked:.3f}s after "
          "the click")
    state = world.podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
    assert state in ("exited", "stopped"), state
    expect(page.get_by_test_id(f"container-start-{container}")).to_be_enabled()

    # Its detail view, with its own events.
    page.get_by_test_id(f"container-link-{container}").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(container)
    expect(page.get_by_test_id("detail-state")).to_have_text(re.compile(r"exited|stopped"))
    events = page.get_by_test_id("event-row")
    expect(events.filter(has_text="container.start").first).to_be_visible()
    expect(page.locator(f'[data-testid="event-row"][data-type="container.died"]'
                        f'[data-subject="{container}"]')).to_have_count(1)
    screenshot(page, "container-detail")


def test_generate_a_unit_and_read_its_text(
        page: Page, bridge: BridgeProcess, world: World, container: str) -> None:
    world.podman("create", "--name", container, HTTPD_V1)
    login_by_url(page, bridge, "units")
    expect(page.get_by_role("heading", name="Units", level=1)).to_be_visible()
    page.get_by_test_id("units-generate").click()

    dialog = page.get_by_test_id("generate-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_test_id("gen-container").select_option(container)
    dialog.get_by_test_id("generate-preview").click()

    unit = dialog.get_by_test_id("preview-systemd")
    expect(unit).to_contain_text("ExecStart=")
    expect(unit).to_contain_text(container)
    text = unit.inner_text()
    assert "[Service]" in text and f"--name {container}" in text, text
    expect(dialog.get_by_test_id("preview-name-systemd")).to_have_text(
        f"container-{container}.service")
    print(f"\nthe generated unit ({len(text)} chars):\n{text}")
    screenshot(page, "units-generate")

    dialog.get_by_role("tab", name="Quadlet file").click()
    quadlet = dialog.get_by_test_id("preview-quadlet")
    expect(quadlet).to_contain_text("[Container]")
    expect(quadlet).to_contain_text(HTTPD_V1)

    dialog.get_by_test_id("generate-close").click()
    expect(dialog).to_have_count(0)
    assert not (world.unit_dir / f"container-{container}.service").exists(), \
        "a preview installs nothing"


@pytest.fixture
def pending_update(world: World) -> Iterator[Unit]:
    """A unit whose container (policy registry) runs v1 of an image whose tag in the
    world's registry now points at v2: an update is pending."""
    name = unique("pbt-au")
    ref = f"{world.registry}/podbridge/{name}:latest"
    world.podman("push", "--quiet", HTTPD_V1, ref)
    unit = Unit(name, ref, "registry")
    start_units(world, [unit])
    try:
        world.podman("push", "--quiet", HTTPD_V2, ref)
        yield unit
    finally:
        remove_units(world, [unit])
        world.podman("rmi", "-f", "--ignore", ref, check=False)


def test_a_dry_run_shows_the_pending_update(
        page: Page, bridge: BridgeProcess, world: World, pending_update: Unit) -> None:
    login_by_url(page, bridge, "updates")
    expect(page.get_by_role("heading", name="Updates", level=1)).to_be_visible()
    expect(page.get_by_test_id("update-status")).to_be_visible()
    expect(page.get_by_test_id("pending-empty")).to_be_visible()

    clicked = time.monotonic()
    page.get_by_test_id("update-dry-run").click()
    row = page.locator(f'[data-testid="pending-row"][data-container="{pending_update.name}"]')
    expect(row).to_be_visible(timeout=60_000)
    print(f"\nthe dry run's pending row appeared {time.monotonic() - clicked:.3f}s after the "
          "click")
    expect(row).to_have_attribute("data-updated", "pending")
    expect(row).to_have_attribute("data-unit", pending_update.unit)
    expect(row).to_contain_text(pending_update.image)
    result = page.locator(f'[data-testid="result-row"][data-container="{pending_update.name}"]')
    expect(result).to_have_attribute("data-updated", "pending")
    expect(page.get_by_test_id("toast-success")).to_contain_text("pending")

    # A dry run changes nothing: the container still runs v1.
    image = world.podman("inspect", "--format", "{{.ImageName}}",
                         pending_update.name).stdout.strip()
    assert image == pending_update.image
    screenshot(page, "updates")


def test_events_page_shows_the_live_stream(
        page: Page, bridge: BridgeProcess, world: World, container: str) -> None:
    login_by_url(page, bridge, "events")
    expect(page.get_by_role("heading", name="Events", level=1)).to_be_visible()
    world.podman("create", "--name", container, SLEEP)
    mine = page.locator(f'[data-testid="event-row"][data-type="container.create"]'
                        f'[data-subject="{container}"]')
    expect(mine).to_have_count(1, timeout=APPEAR_MS)

    page.get_by_test_id("events-subject-filter").fill(container)
    expect(page.get_by_test_id("event-row")).to_have_count(1)
    page.get_by_test_id("events-subject-filter").fill("")
    page.get_by_test_id("events-topic-filter").fill("container.*")
    for e in page.get_by_test_id("event-row").all():
        assert (e.get_attribute("data-type") or "").startswith("container."), \
            e.get_attribute("data-type")

    # Paused, the view holds still while the world moves on; resumed, it catches up.
    page.get_by_test_id("events-pause").click()
    expect(page.get_by_test_id("events-pause")).to_have_attribute("aria-pressed", "true")
    world.podman("rm", container)
    removed = page.locator(f'[data-testid="event-row"][data-type="container.remove"]'
                           f'[data-subject="{container}"]')
    expect(page.get_by_test_id("events-pause")).to_contain_text("new", timeout=APPEAR_MS)
    expect(removed).to_have_count(0)
    page.get_by_test_id("events-pause").click()
    expect(removed).to_have_count(1)
    page.get_by_test_id("events-topic-filter").fill("")
    screenshot(page, "events")


def test_plugins_page_lists_each_plugin(page: Page, bridge: BridgeProcess) -> None:
    login_by_url(page, bridge, "plugins")
    expect(page.get_by_role("heading", name="Plugins", level=1)).to_be_visible()
    plugins = bridge.call("plugins.list")
    assert plugins, "the bridge runs plugins"
    for p in plugins:
        row = page.get_by_test_id(f"plugin-row-{p['name']}")
        expect(row).to_have_attribute("data-state", p["state"])
    expect(page.get_by_test_id("plugin-row-auto_update")).to_have_attribute(
        "data-state", "running")
    screenshot(page, "plugins")


def test_usable_at_a_phones_width(browser: Browser, bridge: BridgeProcess, world: World,
                                  container: str) -> None:
    ctx: BrowserContext = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = ctx.new_page()
        world.podman("run", "-d", "--name", container, SLEEP)
        login_by_url(page, bridge)
        row = page.get_by_test_id(f"container-row-{container}")
        expect(row).to_be_visible()
        # The table becomes a grid of labelled cells: no sideways scrolling of the page.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a {PHONE['width']}px screen"
        stop = page.get_by_test_id(f"container-stop-{container}")
        expect(stop).to_be_visible()
        expect(stop).to_have_attribute("aria-label", f"Stop {container}")
        # The navigation is behind the toggle, off the screen until it is opened.
        assert not on_screen(page.get_by_test_id("nav-units"))
        page.get_by_test_id("nav-toggle").click()
        wait_until(lambda: on_screen(page.get_by_test_id("nav-units")), "the navigation to open")
        screenshot(page, "nav-phone")
        page.get_by_test_id("nav-units").click()
        wait_until(lambda: not on_screen(page.get_by_test_id("nav-units")),
                   "choosing a section to close the navigation")
        expect(page.get_by_role("heading", name="Units", level=1)).to_be_visible()
        section(page, "containers")
        expect(row).to_be_visible()
        # Choosing the section already shown closes the navigation too.
        page.get_by_test_id("nav-toggle").click()
        wait_until(lambda: on_screen(page.get_by_test_id("nav-containers")),
                   "the navigation to open")
        page.get_by_test_id("nav-containers").click()
        wait_until(lambda: not on_screen(page.get_by_test_id("nav-containers")),
                   "choosing the current section to close the navigation")
        screenshot(page, "containers-phone")
    finally:
        ctx.close()
    assert not errors, f"the page raised: {errors}"
