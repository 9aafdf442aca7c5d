"""What Cockpit's Podman page offers beyond the basics, in the panel: a container created
with a terminal and resource limits from the dialog (Podman's inspect carries them); an
image's details and history in its expanded row; a pod paused and resumed; a pod created
with a volume. Each view checked with axe-core and photographed at both sizes."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, checked_view, login_by_url, section, submit_create
from tests.helpers import unique

MiB = 1024 * 1024


def inspect(world: World, name: str) -> dict[str, object]:
    return dict(json.loads(world.podman("inspect", name).stdout)[0])


def test_create_with_a_terminal_and_limits_from_the_dialog(
        page: Page, bridge: BridgeProcess, world: World, name: str) -> None:
    login_by_url(page, bridge)
    page.get_by_test_id("container-create").click()
    dialog = page.get_by_test_id("create-dialog")
    dialog.get_by_test_id("create-image").fill(SLEEP)
    dialog.get_by_test_id("create-name").fill(name)
    # "With terminal" is on, as in Cockpit's dialog; the limits are off until ticked.
    expect(dialog.get_by_test_id("create-tty")).to_be_checked()
    expect(dialog.get_by_test_id("create-memory")).to_be_disabled()
    dialog.get_by_test_id("create-memory-on").check()
    dialog.get_by_test_id("create-memory").fill("5")
    dialog.get_by_test_id("create-submit").click()
    expect(dialog.get_by_text("At least 6 MiB")).to_be_visible()
    dialog.get_by_test_id("create-memory").fill("64")
    dialog.get_by_test_id("create-memory-unit").select_option("MiB")
    dialog.get_by_test_id("create-cpu-shares-on").check()
    dialog.get_by_test_id("create-cpu-shares").fill("512")
    dialog.get_by_test_id("create-cpus").fill("0.5")
    checked_view(page, "create-limits")
    submit_create(page, dialog, 30_000)
    expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=15_000)

    info = inspect(world, name)
    config, host = info["Config"], info["HostConfig"]
    assert isinstance(config, dict) and isinstance(host, dict)
    assert config["Tty"] is True
    assert host["Memory"] == 64 * MiB and host["CpuShares"] == 512, host
    assert host["NanoCpus"] == 500_000_000 or host["CpuQuota"] == 50_000, host


def test_create_without_a_terminal(page: Page, bridge: BridgeProcess, world: World,
                                   name: str) -> None:
    login_by_url(page, bridge)
    page.get_by_test_id("container-create").click()
    dialog = page.get_by_test_id("create-dialog")
    dialog.get_by_test_id("create-image").fill(SLEEP)
    dialog.get_by_test_id("create-name").fill(name)
    # PatternFly's switch: its label takes the click, as a user's.
    dialog.get_by_text("With terminal").click()
    expect(dialog.get_by_test_id("create-tty")).not_to_be_checked()
    dialog.get_by_test_id("create-submit").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(name, timeout=30_000)
    info = inspect(world, name)
    assert isinstance(info["Config"], dict) and info["Config"]["Tty"] is False


def test_the_health_checks_action_on_failure_from_the_dialog_and_in_a_clone(
        page: Page, bridge: BridgeProcess, world: World, name: str) -> None:
    """Cockpit's "When unhealthy": the action reaches Podman (its inspect carries it), and
    Clone pre-fills it from that inspect."""
    login_by_url(page, bridge)
    page.get_by_test_id("container-create").click()
    dialog = page.get_by_test_id("create-dialog")
    dialog.get_by_test_id("create-image").fill(SLEEP)
    dialog.get_by_test_id("create-name").fill(name)
    expect(dialog.get_by_test_id("create-health-action")).to_have_count(0)
    dialog.get_by_test_id("create-health").fill("true")
    action = dialog.get_by_test_id("create-health-action")
    expect(action).to_have_value("none")
    action.select_option(label="Restart")
    axe_clean(page, "create-health-action")
    submit_create(page, dialog, 30_000)
    config = inspect(world, name)["Config"]
    assert isinstance(config, dict)
    assert config.get("HealthcheckOnFailureAction") == "restart", config
    assert config["Healthcheck"]["Test"] == ["CMD", "true"], config["Healthcheck"]

    section(page, "containers")
    page.get_by_test_id(f"container-menu-{name}").click()
    page.get_by_test_id(f"container-clone-{name}").click()
    dialog = page.get_by_test_id("create-dialog")
    expect(dialog.get_by_test_id("create-name")).to_have_value(f"{name}-clone", timeout=15_000)
    expect(dialog.get_by_test_id("create-health-action")).to_have_value("restart")
    dialog.get_by_test_id("create-cancel").click()


def test_an_images_details_and_history(page: Page, bridge: BridgeProcess, world: World,
                                       name: str) -> None:
    # An image of two layers, the newer with Podman's comment ("FROM <base>"): a container
    # of the test image that wrote a file, committed.
    image, user = f"localhost/podbridge/{unique('pbh')}:hist", f"{name}-user"
    world.podman("create", "--name", name, SLEEP, "sh", "-c", "echo hi > /greeting")
    world.podman("start", "--attach", name)
    world.podman("commit", "--quiet", name, image)
    world.podman("create", "--name", user, image)
    try:
        login_by_url(page, bridge, "images")
        row = page.locator(f'[data-testid="image-row"][data-name="{image}"]')
        expect(row).to_be_visible()
        row.get_by_test_id("image-expand").get_by_role("button").click()
        details = page.get_by_test_id("image-details")
        expect(details).to_be_visible()
        expect(details.get_by_test_id("image-used-by-details")).to_contain_text(user)
        page.get_by_role("tab", name="History").click()
        layers = details.get_by_test_id("image-layer")
        theirs = json.loads(world.podman("history", "--format", "json", image).stdout)
        assert len(theirs) >= 2 and theirs[0].get("comment"), theirs
        expect(layers).to_have_count(len(theirs), timeout=10_000)
        for i, layer in enumerate(theirs):
            expect(layers.nth(i).get_by_test_id("image-layer-created-by")).to_have_text(
                layer.get("CreatedBy", ""))
        expect(details.get_by_role("columnheader", name="Comment")).to_be_visible()
        expect(layers.first).to_contain_text(theirs[0]["comment"])
        checked_view(page, "image-history")
        # Collapsed again, the details go.
        row.get_by_test_id("image-expand").get_by_role("button").click()
        expect(details).to_have_count(0)
    finally:
        world.podman("rm", "-f", "--ignore", user, check=False)
        world.podman("rmi", "-f", "--ignore", image, check=False)


def pod_state(world: World, pod: str) -> str:
    return world.podman("pod", "inspect", "--format", "{{.State}}", pod).stdout.strip()


def test_pause_and_resume_a_pod(page: Page, bridge: BridgeProcess, world: World,
                                pod: str) -> None:
    world.podman("pod", "create", "--name", pod)
    world.podman("run", "-d", "--pod", pod, "--name", f"{pod}-m", SLEEP)
    login_by_url(page, bridge, "pods")
    row = page.get_by_test_id(f"pod-row-{pod}")
    expect(row).to_have_attribute("data-status", "running", timeout=15_000)
    expect(row.get_by_test_id(f"pod-unpause-{pod}")).to_have_count(0)
    row.get_by_test_id(f"pod-pause-{pod}").click()
    expect(row).to_have_attribute("data-status", "paused", timeout=15_000)
    assert pod_state(world, pod) == "Paused"
    # Paused: Resume instead of Pause; stop still offered.
    expect(row.get_by_test_id(f"pod-pause-{pod}")).to_have_count(0)
    expect(row.get_by_test_id(f"pod-stop-{pod}")).to_be_enabled()
    checked_view(page, "pods-paused")
    row.get_by_test_id(f"pod-unpause-{pod}").click()
    expect(row).to_have_attribute("data-status", "running", timeout=15_000)
    assert pod_state(world, pod) == "Running"


def test_create_a_pod_with_a_volume(page: Page, bridge: BridgeProcess, world: World,
                                    pod: str) -> None:
    vol = unique("pbpv")
    world.podman("volume", "create", vol)
    try:
        login_by_url(page, bridge, "pods")
        page.get_by_test_id("pods-create").click()
        dialog = page.get_by_test_id("pod-create-dialog")
        dialog.get_by_test_id("pod-name").fill(pod)
        dialog.get_by_test_id("volume-add").click()
        dialog.get_by_test_id("volume-source").fill(vol)
        dialog.get_by_test_id("volume-destination").fill("data")
        dialog.get_by_test_id("pod-create-submit").click()
        expect(dialog).to_contain_text("The path in the container is absolute")
        dialog.get_by_test_id("volume-destination").fill("/data")
        checked_view(page, "pods-create-volume")
        dialog.get_by_test_id("pod-create-submit").click()
        expect(dialog).to_have_count(0, timeout=15_000)
        expect(page.get_by_test_id(f"pod-row-{pod}")).to_be_visible(timeout=10_000)
        infra = world.podman("pod", "inspect", "--format", "{{.InfraContainerID}}",
                             pod).stdout.strip()
        mounts = json.loads(world.podman("inspect", "--format", "{{json .Mounts}}",
                                         infra).stdout)
        assert any(m.get("Name") == vol and m["Destination"] == "/data" for m in mounts), \
            mounts
    finally:
        world.podman("pod", "rm", "-f", "--ignore", pod, check=False)
        world.podman("volume", "rm", "-f", vol, check=False)
