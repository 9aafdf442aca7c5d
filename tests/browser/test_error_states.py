"""The error states of the panel's views (issue 19): the bridge losing Podman (the world's
Podman service stopped), actions Podman refuses, and input the Create dialog refuses or
the bridge refuses. Each time the panel says what went wrong in words, keeps what it
showed, and recovers once the cause is gone, without a reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, checked_view, login_by_url, section
from tests.helpers import unique


def test_losing_podman_shows_a_banner_fails_actions_clearly_and_recovers(
        page: Page, bridge: BridgeProcess, world: World, running: str) -> None:
    login_by_url(page, bridge)
    row = page.get_by_test_id(f"container-row-{running}")
    expect(row).to_have_attribute("data-state", "running")
    banner = page.get_by_test_id("source-banner")
    expect(banner).to_have_count(0)
    page.evaluate("window.__podbridgeNoReload = 1")
    try:
        # The world's Podman API service goes away (socket too: no activation brings it back).
        world.systemctl("stop", "podman.socket", "podman.service")
        expect(banner).to_be_visible(timeout=20_000)
        expect(banner).to_contain_text("cannot reach Podman")
        expect(banner).to_have_attribute("data-lost", "podman")
        # What was known stays on screen; an action on it fails with a toast that says why.
        expect(row).to_be_visible()
        page.get_by_test_id(f"container-stop-{running}").click()
        toast = page.get_by_test_id("toast-danger")
        expect(toast).to_contain_text(f"Stop {running} failed")
        print(f"\nstop while Podman is away: {toast.inner_text()}")
        checked_view(page, "podman-lost")
        # A view that reads Podman now shows its error state: a container's logs, the pods,
        # the images.
        page.evaluate(f"location.hash = '#/containers/{running}/logs'")
        expect(page.get_by_test_id("logs-error")).to_be_visible(timeout=20_000)
        axe_clean(page, "logs-error")
        section(page, "pods")
        expect(page.get_by_test_id("pods-error")).to_be_visible(timeout=20_000)
        axe_clean(page, "pods-error")
        section(page, "images")
        error = page.get_by_test_id("images-error").or_(page.get_by_test_id("unavailable"))
        expect(error).to_be_visible(timeout=20_000)
        print(f"images while Podman is away: {error.inner_text()}")
        checked_view(page, "images-error")
    finally:
        world.systemctl("start", "podman.socket")
    # Back: the banner goes, the page fetches its list again, the container still runs.
    expect(banner).to_have_count(0, timeout=30_000)
    expect(page.get_by_test_id("images-table")).to_be_visible(timeout=20_000)
    page.evaluate(f"location.hash = '#/containers/{running}/logs'")
    expect(page.get_by_test_id("logs-view")).to_contain_text("ready", timeout=20_000)
    section(page, "containers")
    expect(row).to_have_attribute("data-state", "running")
    expect(page.get_by_test_id(f"container-cpu-{running}")).to_have_attribute(
        "data-measured", "true", timeout=30_000)
    assert page.evaluate("window.__podbridgeNoReload") == 1, "the page was reloaded"


def test_actions_podman_refuses_say_why(page: Page, bridge: BridgeProcess, world: World,
                                        names: list[str]) -> None:
    """Starting a container whose program does not exist; removing an image a container
    uses (the panel does not force it)."""
    broken, user = unique("pbe-broken"), unique("pbe-user")
    image = f"localhost/podbridge/{unique('pbe-img')}:1"
    names += [broken, user]
    world.podman("create", "--name", broken, SLEEP, "/no/such/program")
    try:
        login_by_url(page, bridge)
        page.get_by_test_id(f"container-start-{broken}").click()
        toast = page.get_by_test_id("toast-danger")
        expect(toast).to_contain_text(f"Start {broken} failed")
        expect(toast).to_contain_text(re.compile("no such file|not found|executable", re.I))
        print(f"\nstart of a missing program: {toast.inner_text()}")
        expect(page.get_by_test_id(f"container-row-{broken}")).not_to_have_attribute(
            "data-state", "running")
        checked_view(page, "action-failed")
        page.get_by_test_id("toasts").get_by_role("button").first.click()

        # An image of one name that a container uses: removing it is refused, and kept.
        world.podman("commit", broken, image)
        world.podman("create", "--name", user, image)
        section(page, "images")
        row = page.locator(f'[data-testid="image-row"][data-name="{image}"]')
        expect(row).to_have_attribute("data-used", "1")
        row.get_by_test_id("image-remove").click()
        page.get_by_test_id("confirm-yes").click()
        expect(toast).to_contain_text("failed")
        expect(toast).to_contain_text(re.compile("conflict|in use", re.I))
        print(f"remove of an image in use: {toast.inner_text()}")
        expect(row).to_be_visible()
    finally:
        world.podman("rm", "-f", "--ignore", user, check=False)
        world.podman("rmi", "-f", "--ignore", image, check=False)


def test_create_refuses_bad_input_and_keeps_what_was_typed(
        page: Page, bridge: BridgeProcess, world: World, names: list[str]) -> None:
    name = unique("pbe-made")
    names.append(name)
    login_by_url(page, bridge)
    page.get_by_test_id("container-create").click()
    dialog = page.get_by_test_id("create-dialog")
    dialog.get_by_test_id("create-image").fill("localhost/podbridge/no-such-image:1")
    dialog.get_by_test_id("create-name").fill("bad name")
    dialog.get_by_test_id("port-add").click()
    dialog.get_by_test_id("port-container").fill("70000")
    dialog.get_by_test_id("env-add").click()
    dialog.get_by_test_id("env-name").fill("1X")
    dialog.get_by_test_id("create-command").fill("sh -c 'unclosed")
    dialog.get_by_test_id("create-submit").click()
    # Refused in the form, each field saying why; nothing reached the bridge.
    for text in ("Letters, digits", "1 to 65535", "letters, digits and _", "unclosed"):
        expect(dialog.get_by_text(re.compile(text))).to_be_visible()
    checked_view(page, "create-invalid")
    dialog.get_by_test_id("create-name").fill(name)
    dialog.get_by_test_id("port-container").fill("8080")
    dialog.get_by_test_id("env-name").fill("X")
    dialog.get_by_test_id("create-command").fill("sleep 1000")
    # Refused by the bridge: no such image. The dialog says so and keeps the form.
    dialog.get_by_test_id("create-submit").click()
    problem = dialog.get_by_test_id("create-error")
    expect(problem).to_contain_text("not-found")
    print(f"\ncreate from a missing image: {problem.inner_text()}")
    expect(dialog.get_by_test_id("create-name")).to_have_value(name)
    assert world.podman("container", "exists", name, check=False).returncode == 1
    # Fixed: created, and the dialog goes to it.
    dialog.get_by_test_id("create-image").fill(SLEEP)
    dialog.get_by_test_id("create-submit").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(name, timeout=30_000)
    expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=15_000)
