"""What Cockpit's container page has beyond start/stop, in podbridge's panel: the
environment, mounts and health check (with its log and "Run health check") on the
Overview, and Commit, Clone, Checkpoint and Restore in the container's kebab."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, checked_view, login_by_url, wait_until
from tests.helpers import unique


def open_container(page: Page, bridge: BridgeProcess, name: str) -> None:
    login_by_url(page, bridge)
    page.get_by_test_id(f"container-link-{name}").click()
    expect(page.get_by_test_id("detail-name")).to_have_text(name)


def menu_item(page: Page, name: str, item: str) -> None:
    page.get_by_test_id(f"container-menu-{name}").click()
    page.get_by_test_id(f"container-{item}-{name}").click()


def test_environment_mounts_and_health_check(page: Page, bridge: BridgeProcess, world: World,
                                             names: list[str]) -> None:
    name, vol = unique("pbu-health"), unique("pbu-vol")
    names.append(name)
    data = world.run(["mktemp", "-d"]).stdout.strip()
    try:
        world.podman("run", "-d", "--name", name, "-e", "GREETING=hello world",
                     "-v", f"{data}:/data:ro", "-v", f"{vol}:/vol",
                     "--health-cmd", "echo ok from $HOSTNAME $(cat /proc/uptime)",
                     "--health-interval", "1h",
                     SLEEP, "sleep", "1000")
        open_container(page, bridge, name)
        env = page.get_by_test_id("container-env")
        expect(env.locator("tbody tr").filter(has_text="GREETING")).to_have_text(
            re.compile(r"GREETING\s*hello world"))
        rows = page.get_by_test_id("container-mounts").locator("tbody tr")
        expect(rows.filter(has_text=data)).to_have_text(
            re.compile(rf"{re.escape(data)}\s*/data\s*bind\s*read-only"))
        expect(rows.filter(has_text=vol)).to_have_text(
            re.compile(rf"{vol}\s*/vol\s*volume\s*read-write"))
        expect(page.get_by_test_id("health-summary")).to_contain_text("echo ok from $HOSTNAME")
        expect(page.get_by_test_id("health-status")).to_be_visible()
        # Each run prints the uptime (1/100 s): the run asked for is a new first row.
        log = page.get_by_test_id("health-log").locator("tbody tr")
        before = log.first.inner_text() if log.count() else ""
        page.get_by_test_id("health-run").click()
        expect(log.first).not_to_have_text(before, timeout=15_000)
        expect(log.first).to_contain_text(re.compile(r"0\s*ok from [0-9a-f]{12} [0-9.]+ "))
        assert log.count() <= 5     # Podman keeps the last 5 runs
        expect(page.get_by_test_id("health-status")).to_have_text("healthy")
        checked_view(page, "container-details")
    finally:
        world.podman("rm", "-f", "--ignore", "-t", "0", name, check=False)
        world.podman("volume", "rm", "-f", vol, check=False)
        world.run(["rm", "-rf", data])


def test_commit_then_clone(page: Page, bridge: BridgeProcess, world: World,
                           names: list[str]) -> None:
    name, repo = unique("pbu-orig"), unique("pbu-img")
    clone = f"{name}-clone"
    names += [name, clone]
    world.podman("run", "-d", "--name", name, "-e", "COLOUR=blue", SLEEP,
                 "sh", "-c", "echo written > /marker; exec sleep 1000")
    try:
        open_container(page, bridge, name)
        menu_item(page, name, "commit")
        dialog = page.get_by_test_id("commit-dialog")
        dialog.get_by_test_id("commit-repo").fill("Not A Name")
        dialog.get_by_test_id("commit-submit").click()
        expect(dialog.get_by_text("Lower-case letters")).to_be_visible()
        checked_view(page, "commit-dialog")
        dialog.get_by_test_id("commit-repo").fill(repo)
        dialog.get_by_test_id("commit-tag").fill("v1")
        dialog.get_by_test_id("commit-author").fill("Ada")
        expect(dialog.get_by_test_id("commit-message")).to_be_disabled()    # OCI: no message
        dialog.get_by_test_id("commit-format").select_option("docker")
        dialog.get_by_test_id("commit-message").fill("made in the browser")
        dialog.get_by_test_id("commit-command").fill("cat /marker")
        dialog.get_by_test_id("commit-submit").click()
        expect(dialog).to_have_count(0, timeout=30_000)
        made = world.podman("image", "inspect", "--format", "{{.Comment}}|{{.Author}}",
                            f"localhost/{repo}:v1").stdout.strip()
        assert made == "made in the browser|Ada", made
        out = world.podman("run", "--rm", f"localhost/{repo}:v1").stdout
        assert out == "written\n", out

        # Clone: the Create dialog, filled from the container.
        menu_item(page, name, "clone")
        create = page.get_by_test_id("create-dialog")
        expect(create.get_by_test_id("create-name")).to_have_value(clone, timeout=15_000)
        expect(create.get_by_test_id("create-image")).to_have_value(re.compile("podbridge/sleep"))
        expect(create.get_by_test_id("create-command")).to_have_value(
            "sh -c 'echo written > /marker; exec sleep 1000'")
        env = create.get_by_test_id("env-row")
        expect(env).to_have_count(1)
        expect(env.get_by_test_id("env-name")).to_have_value("COLOUR")
        expect(env.get_by_test_id("env-value")).to_have_value("blue")
        axe_clean(page, "clone-dialog")
        create.get_by_test_id("create-submit").click()
        expect(page).to_have_url(re.compile(f"#/containers/{clone}$"), timeout=30_000)
        expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=15_000)
        env_of = world.podman("inspect", "--format", "{{.Config.Env}}", clone).stdout
        assert "COLOUR=blue" in env_of, env_of
    finally:
        world.podman("rm", "-f", "--ignore", "-t", "0", name, clone, check=False)
        world.podman("rmi", "--ignore", f"localhost/{repo}:v1", check=False)


def checkpoint_from_menu(page: Page, name: str, shots: str | None = None) -> None:
    menu_item(page, name, "checkpoint")
    dialog = page.get_by_test_id("checkpoint-dialog")
    expect(dialog.get_by_test_id("checkpoint-leave_running")).to_be_visible()
    if shots:
        checked_view(page, shots)
    dialog.get_by_test_id("checkpoint-keep").check()
    dialog.get_by_test_id("checkpoint-submit").click()


def refused_in_dialog(page: Page, name: str, pattern: str) -> None:
    dialog = page.get_by_test_id("checkpoint-dialog")
    error = dialog.get_by_test_id("checkpoint-error")
    expect(error).to_be_visible(timeout=60_000)
    print(f"\ncheckpoint here: {error.inner_text()}")
    expect(error).to_contain_text(re.compile(pattern))
    dialog.get_by_test_id("checkpoint-cancel").click()
    expect(page.get_by_test_id("detail-state")).to_have_text("running")


def test_checkpoint_says_what_this_host_can(page: Page, bridge: BridgeProcess, world: World,
                                            names: list[str]) -> None:
    """Checkpoint asks first (its options, as Cockpit's). Where CRIU works the container
    stops and Restore brings it back; where CRIU fails its error is shown; where CRIU is
    missing the bridge says so and the menu then shows the action disabled with the
    reason (a world with a root of its own hides its criu for that; never the machine's)."""
    name = unique("pbu-ckpt")
    names.append(name)
    criu = world.run(["sh", "-c", "command -v criu >/dev/null || exit 127; criu check"],
                     check=False).returncode
    # Made from inside the world's cgroup namespace (as its Podman service makes them):
    # world.podman enters the world without it, and CRIU then finds the container's cgroup
    # under the machine's path ("invalid cgroup configuration ... is not a suffix of").
    world.run(["nsenter", "-t", "1", "-C", "--", "podman", "run", "-d", "--name", name,
               SLEEP, "sleep", "1000"])
    open_container(page, bridge, name)
    checkpoint_from_menu(page, name, "checkpoint-dialog")
    if criu == 0:
        dialog = page.get_by_test_id("checkpoint-dialog")
        error = dialog.get_by_test_id("checkpoint-error")
        wait_until(lambda: dialog.count() == 0 or error.count() > 0,
                   "the checkpoint to be done or refused", timeout=60)
        if error.count():
            log = re.search(r"its log is (\S+dump.log)", error.inner_text())
            detail = open(log[1]).read()[-3000:] if log else ""
            raise AssertionError(f"{error.inner_text()}\n{detail}")
        expect(dialog).to_have_count(0)
        expect(page.get_by_test_id("detail-state")).to_have_text("exited", timeout=15_000)
        menu_item(page, name, "restore")
        restore = page.get_by_test_id("restore-dialog")
        expect(restore.get_by_test_id("restore-ignore_static_ip")).to_be_visible()
        axe_clean(page, "restore-dialog")
        restore.get_by_test_id("restore-submit").click()
        expect(page.get_by_test_id("detail-state")).to_have_text("running", timeout=60_000)
        expect(restore).to_have_count(0)
    elif criu != 127:
        refused_in_dialog(page, name, "failed: .*CRIU failed; its log is .*dump.log")
        page.get_by_test_id(f"container-menu-{name}").click()
        expect(page.get_by_test_id(f"container-checkpoint-{name}").locator("button")
               ).to_be_enabled()
        page.keyboard.press("Escape")
    hide = criu != 127 and not world.flavour.uses_host_root()
    if criu != 127 and not hide:
        return
    path = world.run(["sh", "-c", "command -v criu || true"]).stdout.strip() if hide else ""
    if path:
        world.run(["mv", path, f"{path}.hidden"])
    try:
        if hide:
            checkpoint_from_menu(page, name)
        refused_in_dialog(page, name, "not-supported: .*CRIU is not installed")
        page.get_by_test_id(f"container-menu-{name}").click()
        item = page.get_by_test_id(f"container-checkpoint-{name}")
        expect(item.locator("button")).to_be_disabled()
        expect(item).to_contain_text("install the criu package")
        # The menu fades in: axe reads colours once it is opaque.
        expect(page.locator(".pf-v6-c-menu").first).to_have_css("opacity", "1")
        checked_view(page, "container-menu-criu")
        page.keyboard.press("Escape")
    finally:
        if path:
            world.run(["mv", f"{path}.hidden", path])
