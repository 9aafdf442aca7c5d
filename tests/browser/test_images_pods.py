"""The Images and Pods pages (issue 19, "Show"): pull an image with a progress bar; remove
it and prune dangling images, each after a confirmation; create, start, stop and remove a
pod. Checked with axe-core, photographed at 1280x800 and 390 px."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, checked_view, login_by_url
from tests.helpers import unique


@pytest.fixture
def pushed(world: World) -> Iterator[str]:
    """An image in the world's registry under a name no local image has."""
    ref = f"{world.registry}/podbridge/{unique('pbi')}:v1"
    world.podman("push", "--quiet", SLEEP, ref)
    try:
        yield ref
    finally:
        world.podman("rmi", "-f", "--ignore", ref, check=False)


@pytest.fixture
def dangling(world: World) -> Iterator[str]:
    """The ID of a dangling image: a container committed twice to the same name (the first
    image loses its name to the second)."""
    name = unique("pbd")
    ref = f"localhost/podbridge/{name}:latest"
    world.podman("create", "--name", name, SLEEP)
    try:
        first = world.podman("commit", "--quiet", name, ref).stdout.strip()
        world.podman("commit", "--quiet", "--change", "LABEL again=1", name, ref)
        yield first
    finally:
        world.podman("rm", "-f", "--ignore", name, check=False)
        world.podman("rmi", "-f", "--ignore", ref, check=False)
        world.podman("rmi", "-f", "--ignore", first, check=False)


def test_pull_an_image_with_a_progress_bar_then_remove_it(
        page: Page, bridge: BridgeProcess, world: World, pushed: str) -> None:
    login_by_url(page, bridge, "images")
    expect(page.get_by_role("heading", name="Images", level=1)).to_be_visible()
    expect(page.get_by_test_id("images-table")).to_be_visible()
    checked_view(page, "images")

    page.get_by_test_id("images-pull").click()
    dialog = page.get_by_test_id("pull-dialog")
    dialog.get_by_test_id("pull-ref").fill(pushed)
    dialog.get_by_test_id("pull-tls").uncheck()
    dialog.get_by_test_id("pull-submit").click()
    bar = dialog.get_by_test_id("pull-progress")
    expect(bar).to_be_visible()
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while bar.get_attribute("data-done") != "true":
        assert not dialog.get_by_test_id("pull-error").is_visible(), \
            dialog.get_by_test_id("pull-error").inner_text()
        assert time.monotonic() < deadline, f"the pull did not finish: {seen}"
        p = bar.get_attribute("data-percent") or ""
        if not seen or seen[-1] != p:
            seen.append(p)
        time.sleep(0.05)
    seen.append(bar.get_attribute("data-percent") or "")
    # The page keeps every value the bar showed (a 2 MB pull is faster than a poll).
    steps = [int(p) for p in (bar.get_attribute("data-shown") or "").split()]
    print(f"\nthe progress bar showed {steps} (the test's polls saw {seen})")
    assert steps[0] == 0 and steps[-1] == 100 and len(steps) >= 4, steps
    assert steps == sorted(steps), steps
    expect(bar.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(dialog.get_by_test_id("pull-output")).to_contain_text("Writing manifest")
    checked_view(page, "images-pull")
    dialog.get_by_test_id("pull-close").click()

    row = page.locator(f'[data-testid="image-row"][data-name="{pushed}"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row.get_by_test_id("image-used-by")).to_have_text("unused")
    assert pushed in world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout

    # Remove asks first; Cancel keeps it.
    row.get_by_test_id("image-remove").click()
    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm).to_contain_text("pulled or built again")
    confirm.get_by_test_id("confirm-cancel").click()
    expect(row).to_be_visible()
    row.get_by_test_id("image-remove").click()
    page.get_by_test_id("confirm-yes").click()
    expect(row).to_have_count(0, timeout=15_000)
    assert pushed not in world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout


def test_prune_dangling_images_after_a_confirmation(
        page: Page, bridge: BridgeProcess, world: World, dangling: str) -> None:
    login_by_url(page, bridge, "images")
    short = dangling.removeprefix("sha256:")[:12]
    row = page.locator(f'[data-testid="image-row"][data-name="<none> {short}"]')
    expect(row).to_be_visible()
    page.get_by_test_id("images-prune").click()
    confirm = page.get_by_test_id("prune-dialog")
    expect(confirm).to_contain_text("no name (dangling)")
    checked_view(page, "images-prune")
    confirm.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("toast-success")).to_contain_text("Pruned")
    expect(row).to_have_count(0, timeout=15_000)
    left = world.podman("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout
    assert dangling.removeprefix("sha256:") not in left, left
    # Named images stay: the one the container uses, and the test images.
    assert SLEEP in world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout


def test_create_start_stop_and_remove_a_pod(
        page: Page, bridge: BridgeProcess, world: World, pod: str) -> None:
    login_by_url(page, bridge, "pods")
    expect(page.get_by_role("heading", name="Pods", level=1)).to_be_visible()
    page.get_by_test_id("pods-create").click()
    dialog = page.get_by_test_id("pod-create-dialog")
    dialog.get_by_test_id("pod-create-submit").click()
    expect(dialog).to_contain_text("A pod needs a name")
    dialog.get_by_test_id("pod-name").fill(pod)
    axe_clean(page, "pods-create")
    dialog.get_by_test_id("pod-create-submit").click()
    expect(dialog).to_have_count(0, timeout=15_000)
    row = page.get_by_test_id(f"pod-row-{pod}")
    expect(row).to_be_visible(timeout=10_000)
    assert world.podman("pod", "exists", pod, check=False).returncode == 0

    row.get_by_test_id(f"pod-start-{pod}").click()
    expect(row).to_have_attribute("data-status", "running", timeout=20_000)
    checked_view(page, "pods")
    row.get_by_test_id(f"pod-stop-{pod}").click()
    expect(row).to_have_attribute("data-status", "exited", timeout=30_000)
    status = world.podman("pod", "inspect", "--format", "{{.State}}", pod).stdout.strip()
    assert status.lower() == "exited", status

    row.get_by_test_id(f"pod-remove-{pod}").click()
    page.get_by_test_id("confirm-yes").click()
    expect(row).to_have_count(0, timeout=15_000)
    assert world.podman("pod", "exists", pod, check=False).returncode != 0
