"""Every page of the panel (issue 19, "Show"): axe-core finds no serious or critical
violation, in the light theme and in the dark one (which follows the system's
prefers-color-scheme); each is photographed at 1280x800 and 390 px wide; the pages are
reached and used with the keyboard alone; empty states say so."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, BridgeProcess
from tests.browser.panel import axe_clean, both_sizes, checked_view, login_by_url, section

SECTIONS = [("containers", "Containers"), ("images", "Images"), ("pods", "Pods"),
            ("units", "Units"), ("updates", "Updates"), ("events", "Events"),
            ("plugins", "Plugins"), ("audit", "Audit")]


def test_every_page_is_axe_clean_and_photographed(
        page: Page, bridge: BridgeProcess, running: str) -> None:
    login_by_url(page, bridge)
    for sid, title in SECTIONS:
        section(page, sid)
        expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
        # Loaded: no spinner left (the loading state is transient).
        expect(page.locator(".pf-v6-c-spinner")).to_have_count(0, timeout=15_000)
        checked_view(page, f"page-{sid}")
    page.goto(f"{bridge.base}/#/containers/{running}")
    for tab in ("overview", "logs", "console", "metrics"):
        page.get_by_test_id(f"tab-{tab}").click()
        expect(page).to_have_url(re.compile(f"#/containers/{running}/{tab}$"))
        expect(page.locator(".pf-v6-c-spinner")).to_have_count(0, timeout=20_000)
        axe_clean(page, f"container-{tab}")
        both_sizes(page, f"page-container-{tab}")


def test_dark_mode_follows_the_system(browser: Browser, bridge: BridgeProcess,
                                      running: str) -> None:
    ctx = browser.new_context(viewport=DESKTOP, color_scheme="dark")
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        page = ctx.new_page()
        login_by_url(page, bridge)
        html = page.locator("html")
        expect(html).to_have_class(re.compile(r"\bpf-v6-theme-dark\b"))
        background = page.evaluate(
            "getComputedStyle(document.querySelector('.pf-v6-c-page__main-container') "
            "?? document.body).backgroundColor")
        print(f"\ndark background: {background}")
        channels = [int(x) for x in re.findall(r"\d+", background)[:3]]
        assert channels and max(channels) < 80, background
        for sid, _title in SECTIONS[:3]:
            section(page, sid)
            expect(page.locator(".pf-v6-c-spinner")).to_have_count(0, timeout=15_000)
            checked_view(page, f"dark-{sid}")
        # The system turns light again: the page follows without a reload.
        page.emulate_media(color_scheme="light")
        expect(html).not_to_have_class(re.compile(r"\bpf-v6-theme-dark\b"))
    finally:
        ctx.close()
    assert not errors, errors


def test_the_keyboard_alone_reaches_and_uses_the_pages(
        page: Page, bridge: BridgeProcess, running: str) -> None:
    login_by_url(page, bridge)
    expect(page.get_by_test_id(f"container-row-{running}")).to_be_visible()

    def focused() -> dict[str, Any]:
        return dict(page.evaluate("""() => { const e = document.activeElement;
            return {tag: e.tagName, testid: e.getAttribute('data-testid') || '',
                    text: (e.textContent || '').trim().slice(0, 40)}; }"""))

    def tab_to(testid: str, limit: int = 60) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if focused()["testid"] == testid:
                return
        raise AssertionError(f"Tab never reached {testid}; it stopped at {focused()}")

    # The navigation: Tab to Images, Enter.
    tab_to("nav-images")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()
    # The create dialog opens from the keyboard, holds the focus, and Escape closes it.
    page.goto(f"{bridge.base}/#/containers")
    expect(page.get_by_test_id(f"container-row-{running}")).to_be_visible()
    tab_to("container-create")
    page.keyboard.press("Enter")
    dialog = page.get_by_test_id("create-dialog")
    expect(dialog).to_be_visible()
    for _ in range(5):
        page.keyboard.press("Tab")
        assert dialog.evaluate("(d, a) => d.contains(document.activeElement)", None), focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    # A container's tabs: the link by keyboard, then Tab from one tab to the next.
    tab_to(f"container-link-{running}")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("detail-name")).to_have_text(running)
    page.get_by_role("tab", name="Overview").focus()
    page.keyboard.press("Tab")
    assert focused()["text"] == "Logs", focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"#/containers/{running}/logs$"))
    expect(page.get_by_test_id("logs-view")).to_contain_text("ready", timeout=15_000)


def test_empty_states_say_so(page: Page, bridge: BridgeProcess) -> None:
    """A filter that matches nothing, a container that does not exist, no pods."""
    login_by_url(page, bridge)
    page.get_by_test_id("container-filter").fill("no-such-container-anywhere")
    expect(page.get_by_test_id("containers-empty")).to_contain_text("None matches the filter")
    page.goto(f"{bridge.base}/#/containers/no-such-container")
    expect(page.get_by_test_id("container-missing")).to_be_visible()
    section(page, "images")
    page.get_by_test_id("images-filter").fill("no-such-image-anywhere")
    expect(page.get_by_test_id("images-empty")).to_contain_text("None matches the filter")
    axe_clean(page, "images-empty")
    section(page, "pods")
    pods = bridge.call("pods.list")
    if not pods:
        expect(page.get_by_test_id("pods-empty")).to_be_visible()
        checked_view(page, "pods-empty")
    else:
        expect(page.get_by_test_id("pods-table")).to_be_visible()
