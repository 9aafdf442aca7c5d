"""Helpers of the browser tests: log in, go to a section, take a checked screenshot."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import DESKTOP, PHONE, ROOT, SCREENSHOTS, BridgeProcess

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def online(page: Page, timeout: float = 15_000) -> None:
    expect(page.get_by_test_id("connection-status")).to_have_attribute(
        "data-phase", "online", timeout=timeout)


def login_by_url(page: Page, bridge: BridgeProcess, to: str | None = None) -> None:
    """Open the URL the bridge printed: it logs in at once (a session cookie); then go to
    the section ``to``, if one is named."""
    page.goto(bridge.url)
    online(page)
    if to is not None:
        section(page, to)


def section(page: Page, name: str) -> None:
    """Go to a section by the navigation, as a user would (the page is not reloaded)."""
    toggle = page.get_by_test_id("nav-toggle")
    link = page.get_by_test_id(f"nav-{name}")
    if not on_screen(link):
        toggle.click()
        wait_until(lambda: on_screen(link), "the navigation to open")
    link.click()
    expect(page).to_have_url(f"{page.url.split('#', 1)[0]}#/{name}")


def screenshot(page: Page, name: str) -> Path:
    """A screenshot of the viewport under test-artifacts/screenshots/, checked to be a PNG."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    path.unlink(missing_ok=True)
    page.wait_for_timeout(300)  # let PatternFly's transitions (modal, toasts) settle
    page.screenshot(path=str(path))
    data = path.read_bytes()
    assert len(data) > len(PNG_MAGIC) and data.startswith(PNG_MAGIC), f"{path} is not a PNG"
    print(f"screenshot {path} ({len(data)} bytes)")
    return path


def on_screen(locator: Any) -> bool:
    """Seen by a user: inside the viewport and not covered at its centre (PatternFly's
    collapsed sidebar stays "visible" to Playwright, under the page's content)."""
    if not locator.is_visible():
        return False
    return bool(locator.evaluate("""el => {
        const r = el.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return false;
        const top = document.elementFromPoint(x, y);
        return top !== null && (el === top || el.contains(top));
    }"""))


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def submit_create(page: Page, dialog: Any, timeout: float = 60_000) -> None:
    """Submit the Create dialog: the new container's page opens; a refusal the dialog
    shows instead fails the test with its words."""
    dialog.get_by_test_id("create-submit").click()
    problem = dialog.get_by_test_id("create-error")
    expect(problem.or_(page.get_by_test_id("detail-name"))).to_be_visible(timeout=timeout)
    assert not problem.is_visible(), problem.inner_text()


def timed_visible(locator: Any, timeout_ms: float, since: float) -> float:
    """Wait for ``locator`` to be visible; seconds since ``since`` (time.monotonic())."""
    expect(locator).to_be_visible(timeout=timeout_ms)
    return time.monotonic() - since


# -- accessibility and the two screen sizes (issue 19) --------------------------------------

AXE_JS = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RESULTS = SCREENSHOTS.parent / "axe"
BLOCKING = ("serious", "critical")


def axe_violations(page: Page, name: str) -> list[dict[str, Any]]:
    """axe-core (the npm package the panel's devDependencies bring) on the page as it is;
    every violation is written to test-artifacts/axe/NAME.json, the serious and critical
    ones are returned."""
    assert AXE_JS.exists(), f"{AXE_JS} is missing: run `npm ci` in frontend/"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
        const r = await axe.run(document, {resultTypes: ['violations'],
                                           runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
    }""")
    AXE_RESULTS.mkdir(parents=True, exist_ok=True)
    (AXE_RESULTS / f"{name}.json").write_text(json.dumps(result, indent=1))
    blocking = [v for v in result if v["impact"] in BLOCKING]
    print(f"axe {name}: {len(result)} violations, {len(blocking)} serious or critical"
          + "".join(f"\n  {v['impact']} {v['id']}: {v['help']} {v['nodes']}" for v in result))
    return blocking


def axe_clean(page: Page, name: str) -> None:
    blocking = axe_violations(page, name)
    assert not blocking, f"axe on {name}: {json.dumps(blocking, indent=1)}"


def both_sizes(page: Page, name: str) -> None:
    """Screenshots at 1280x800 (NAME.png) and at a phone's 390 px (NAME-phone.png)."""
    size = page.viewport_size
    page.set_viewport_size(DESKTOP)
    screenshot(page, name)
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(size or DESKTOP)
    # Back at a desktop's width the navigation opens again (the panel closes it on a
    # phone's); wait for it, so that a test's next section() sees it where it will stay.
    nav = page.get_by_test_id("nav-containers")
    modal = page.locator(".pf-v6-c-modal-box").count()
    if (size or DESKTOP)["width"] >= 1200 and nav.count() and not modal:
        wait_until(lambda: on_screen(nav), "the navigation to open again at a desktop's width")


def checked_view(page: Page, name: str) -> None:
    """The view as it is: axe_clean, then both_sizes (NAME.png, NAME-phone.png)."""
    axe_clean(page, name)
    both_sizes(page, name)
