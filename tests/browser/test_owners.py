"""The panel of a root bridge that also serves users: an Owner column, a filter (all,
system, each user), and actions routed to the owner's Podman."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.panel import axe_clean, checked_view, online, screenshot, section, submit_create
from tests.helpers import checked_world, started, unique
from tests.integration.worldbridge import WorldBridge


@pytest.fixture(scope="module")
def users_world(tmp_path_factory: pytest.TempPathFactory, flavour: str) -> Iterator[World]:
    with checked_world(tmp_path_factory.mktemp(f"owners-world-{flavour}"),
                       "the owners test's", flavour, users=["alice", "bob"]) as w:
        yield w


@pytest.fixture
def root_bridge(users_world: World, panel: Path, tmp_path: Path) -> Iterator[WorldBridge]:
    with started(WorldBridge(users_world, None, tmp_path / "root-bridge.log",
                             "--panel-dir", str(panel))) as b:
        yield b


def test_owner_column_filter_and_stop_by_owner(users_world: World, root_bridge: WorldBridge,
                                                page: Any) -> None:
    w = users_world
    name, system = unique("web"), unique("sys")
    for user in ("alice", "bob"):
        w.run_as(user, ["podman", "run", "-d", "--name", name, "--stop-timeout", "1", SLEEP])
    w.podman("run", "-d", "--name", system, SLEEP)
    try:
        page.goto(f"{root_bridge.url}/?token={root_bridge.token}")
        online(page)
        section(page, "containers")
        rows = page.locator(f"[data-testid=container-row-{name}]")
        expect(rows).to_have_count(2)
        alice = page.locator(f"[data-testid=container-row-{name}][data-owner=alice]")
        bob = page.locator(f"[data-testid=container-row-{name}][data-owner=bob]")
        sys_row = page.locator(f"[data-testid=container-row-{system}][data-owner=system]")
        for row in (alice, bob, sys_row):
            expect(row).to_have_attribute("data-state", "running")
        expect(bob.get_by_test_id(f"container-owner-{name}")).to_have_text("bob")
        expect(sys_row.get_by_test_id(f"container-owner-{system}")).to_have_text("system")

        owner = page.get_by_test_id("container-owner-filter")
        owner.select_option("bob")
        expect(rows).to_have_count(1)
        expect(bob).to_be_visible()
        expect(sys_row).to_have_count(0)
        screenshot(page, "containers-owner-bob")
        owner.select_option("system")
        expect(rows).to_have_count(0)
        expect(sys_row).to_be_visible()
        owner.select_option("")
        expect(rows).to_have_count(2)

        # Stop bob's: only bob's stops, in bob's Podman.
        bob.get_by_test_id(f"container-stop-{name}").click()
        expect(bob).to_have_attribute("data-state", "exited", timeout=30_000)
        expect(alice).to_have_attribute("data-state", "running")
        state = w.run_as("bob", ["podman", "inspect", "--format", "{{.State.Status}}", name])
        assert state.stdout.strip() == "exited"
        state = w.run_as("alice", ["podman", "inspect", "--format", "{{.State.Status}}", name])
        assert state.stdout.strip() == "running"

        section(page, "units")
        page.get_by_text("Show every unit the bridge knows").click()
        units = page.locator("[data-testid='unit-row-podman.socket']")
        expect(units).to_have_count(3)  # the system's and each user's
        page.get_by_test_id("unit-owner-filter").select_option("alice")
        expect(units).to_have_count(1)
        expect(units.first).to_have_attribute("data-owner", "alice")
    finally:
        for user in ("alice", "bob"):
            w.run_as(user, ["podman", "rm", "-f", "-t", "0", name], check=False)
        w.podman("rm", "-f", "-t", "0", system, check=False)


def test_create_for_a_user_from_the_dialog(users_world: World, root_bridge: WorldBridge,
                                           page: Any) -> None:
    """Cockpit's owner choice: "User: alice" sends the container to alice's rootless
    Podman, and its --new unit to alice's user manager."""
    w, name = users_world, unique("mine")
    unit = f"container-{name}.service"
    try:
        page.goto(f"{root_bridge.url}/?token={root_bridge.token}")
        online(page)
        section(page, "containers")
        # The owners are known once their rows are (the model's users).
        expect(page.get_by_test_id("container-owner-filter")).to_be_visible(timeout=30_000)
        page.get_by_test_id("container-create").click()
        dialog = page.get_by_test_id("create-dialog")
        expect(dialog.get_by_test_id("create-owner-system")).to_be_checked()
        expect(dialog.get_by_test_id("create-cpu-shares-on")).to_be_visible()
        dialog.get_by_test_id("create-owner-alice").check()
        # As Cockpit: CPU shares for the system's containers only.
        expect(dialog.get_by_test_id("create-cpu-shares-on")).to_have_count(0)
        dialog.get_by_test_id("create-image").fill(SLEEP)
        dialog.get_by_test_id("create-name").fill(name)
        dialog.get_by_test_id("create-unit").check()
        checked_view(page, "create-owner")
        submit_create(page, dialog)

        mine = json.loads(w.run_as("alice", ["podman", "inspect", name]).stdout)[0]
        assert mine["Config"]["Tty"] is True
        assert w.podman("container", "exists", name, check=False).returncode == 1
        assert w.run_as("bob", ["podman", "container", "exists", name],
                        check=False).returncode == 1
        state = w.run_as("alice", ["systemctl", "--user", "is-active", unit], check=False)
        assert state.stdout.strip() == "active", state.stdout
        section(page, "containers")
        row = page.locator(f"[data-testid=container-row-{name}][data-owner=alice]")
        expect(row).to_have_attribute("data-state", "running", timeout=30_000)
    finally:
        w.run_as("alice", ["systemctl", "--user", "disable", "--now", unit], check=False)
        home = w.run_as("alice", ["sh", "-c", "echo $HOME"]).stdout.strip()
        w.run_as("alice", ["rm", "-f", f"{home}/.config/systemd/user/{unit}"], check=False)
        w.run_as("alice", ["systemctl", "--user", "daemon-reload"], check=False)
        w.run_as("alice", ["podman", "rm", "-f", "-t", "0", "--ignore", name], check=False)


def test_users_pods_listed_paused_and_created_by_owner(users_world: World,
                                                       root_bridge: WorldBridge,
                                                       page: Any) -> None:
    """The Pods page of a root bridge serving users: alice's pod listed as hers and paused
    and resumed in her Podman (or, where her rootless Podman cannot pause -- cgroup v1, as
    Podman's own CLI says -- the refusal shown); a pod created for bob from the dialog
    lands in his."""
    w, pod, made = users_world, unique("apod"), unique("bpod")

    def state(user: str, name: str) -> str:
        return w.run_as(user, ["podman", "pod", "inspect", "--format", "{{.State}}",
                               name]).stdout.strip()

    w.run_as("alice", ["podman", "pod", "create", "--name", pod])
    w.run_as("alice", ["podman", "run", "-d", "--pod", pod, "--name", f"{pod}-m", SLEEP])
    try:
        page.goto(f"{root_bridge.url}/?token={root_bridge.token}")
        online(page)
        expect(page.get_by_test_id("container-owner-filter")).to_be_visible(timeout=30_000)
        section(page, "pods")
        row = page.locator(f"[data-testid=pod-row-{pod}][data-owner=alice]")
        expect(row).to_have_attribute("data-status", "running", timeout=30_000)
        cli = w.run_as("alice", ["podman", "pause", f"{pod}-m"], check=False)
        if cli.returncode == 0:
            w.run_as("alice", ["podman", "unpause", f"{pod}-m"])
        row.get_by_test_id(f"pod-pause-{pod}").click()
        if cli.returncode == 0:
            expect(row).to_have_attribute("data-status", "paused", timeout=30_000)
            assert state("alice", pod) == "Paused"
            row.get_by_test_id(f"pod-unpause-{pod}").click()
            expect(row).to_have_attribute("data-status", "running", timeout=30_000)
        else:
            toast = page.get_by_test_id("toast-danger")
            expect(toast).to_contain_text("not-supported", timeout=30_000)
            expect(toast).to_contain_text("cgroup")
            screenshot(page, "pods-pause-refused")
            print(f"\nalice's pod pause refused, as her CLI: {cli.stderr.strip()}")
        assert state("alice", pod) == "Running"

        page.get_by_test_id("pods-create").click()
        dialog = page.get_by_test_id("pod-create-dialog")
        dialog.get_by_test_id("pod-name").fill(made)
        dialog.get_by_test_id("pod-owner-bob").check()
        checked_view(page, "pods-create-owner")
        dialog.get_by_test_id("pod-create-submit").click()
        expect(dialog).to_have_count(0, timeout=30_000)
        expect(page.locator(f"[data-testid=pod-row-{made}][data-owner=bob]")).to_be_visible(
            timeout=30_000)
        assert w.run_as("bob", ["podman", "pod", "exists", made], check=False).returncode == 0
        assert w.podman("pod", "exists", made, check=False).returncode != 0
    finally:
        w.run_as("alice", ["podman", "pod", "rm", "-f", "--ignore", pod], check=False)
        w.run_as("bob", ["podman", "pod", "rm", "-f", "--ignore", made], check=False)


def test_clone_a_users_container(users_world: World, root_bridge: WorldBridge,
                                 page: Any) -> None:
    """Clone of alice's container: the Create dialog comes filled with her as the owner and
    the container's terminal and memory limit, and the copy lands in her Podman only."""
    w, name = users_world, unique("hers")
    clone = f"{name}-clone"
    try:
        w.run_as("alice", ["podman", "run", "-d", "-t", "--name", name, SLEEP, "sleep", "1000"])
        page.goto(f"{root_bridge.url}/?token={root_bridge.token}")
        online(page)
        section(page, "containers")
        row = page.locator(f"[data-testid=container-row-{name}][data-owner=alice]")
        expect(row).to_have_attribute("data-state", "running", timeout=30_000)
        page.get_by_test_id(f"container-menu-{name}").click()
        page.get_by_test_id(f"container-clone-{name}").click()
        dialog = page.get_by_test_id("create-dialog")
        expect(dialog.get_by_test_id("create-name")).to_have_value(clone, timeout=15_000)
        expect(dialog.get_by_test_id("create-owner-alice")).to_be_checked()
        submit_create(page, dialog)
        copy = json.loads(w.run_as("alice", ["podman", "inspect", clone]).stdout)[0]
        assert copy["Config"]["Tty"] is True
        assert copy["Config"]["Cmd"] == ["sleep", "1000"], copy["Config"]["Cmd"]
        assert w.podman("container", "exists", clone, check=False).returncode == 1
    finally:
        w.run_as("alice", ["podman", "rm", "-f", "-t", "0", "--ignore", name, clone],
                 check=False)


def test_users_images_listed_and_removed_by_owner(users_world: World,
                                                  root_bridge: WorldBridge,
                                                  page: Any) -> None:
    """The Images page of a root bridge serving users, as Cockpit's for a root session:
    alice's image listed as hers (Owner column, owner filter), "Create container" from it
    offered to her Podman, and Remove taking it from her Podman only -- the system's image
    of the same name stays."""
    w = users_world
    ref, base = f"localhost/{unique('hers')}:v1", unique("base")
    pulled = f"{w.registry}/podbridge/{unique('pulled')}:v1"
    # An image of its own (a tag of SLEEP would be one more name of SLEEP's row), of the
    # same name in alice's Podman and the system's.
    dangling: dict[str, str] = {}

    def alice(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return w.run_as("alice", ["podman", *args], check=check)

    for podman in (alice, w.podman):
        podman("create", "--name", base, SLEEP)
        podman("commit", "-q", base, ref)
        podman("rm", base)
    try:
        page.goto(f"{root_bridge.url}/?token={root_bridge.token}")
        online(page)
        expect(page.get_by_test_id("container-owner-filter")).to_be_visible(timeout=30_000)
        section(page, "images")
        rows = page.locator(f'[data-testid="image-row"][data-name="{ref}"]')
        hers = rows.and_(page.locator("[data-owner=alice]"))
        system = rows.and_(page.locator("[data-owner=system]"))
        expect(hers).to_be_visible(timeout=30_000)
        expect(system).to_be_visible()
        expect(rows).to_have_count(2)
        expect(hers.get_by_test_id("image-owner")).to_have_text("alice")
        owner = page.get_by_test_id("images-owner-filter")
        owner.select_option("alice")
        expect(rows).to_have_count(1)
        expect(hers).to_be_visible()
        checked_view(page, "images-owner")
        owner.select_option("")
        expect(rows).to_have_count(2)

        # Create container from her image: the dialog is for her Podman.
        hers.get_by_test_id("image-run").click()
        dialog = page.get_by_test_id("create-dialog")
        expect(dialog.get_by_test_id("create-owner-alice")).to_be_checked()
        expect(dialog.get_by_test_id("create-image")).to_have_value(ref)
        dialog.get_by_test_id("create-cancel").click()
        expect(dialog).to_have_count(0)

        # The row expands to her image's details, inspected in her Podman.
        hers.get_by_test_id("image-expand").get_by_role("button").click()
        details = page.get_by_test_id("image-details")
        expect(details).to_contain_text(ref)
        page.get_by_role("tab", name="History").click()
        expect(details.get_by_test_id("image-layer").first).to_be_visible(timeout=15_000)
        hers.get_by_test_id("image-expand").get_by_role("button").click()

        hers.get_by_test_id("image-remove").click()
        confirm = page.get_by_test_id("confirm-dialog")
        expect(confirm).to_contain_text(ref)
        axe_clean(page, "images-remove-owner")
        confirm.get_by_test_id("confirm-yes").click()
        expect(hers).to_have_count(0, timeout=30_000)
        expect(system).to_be_visible()
        gone = w.run_as("alice", ["podman", "image", "exists", ref], check=False)
        assert gone.returncode == 1, gone
        assert w.podman("image", "exists", ref, check=False).returncode == 0
        assert w.run_as("alice", ["podman", "image", "exists", SLEEP],
                        check=False).returncode == 0

        # Prune asks whose images: alice's dangling one goes, the system's stays.
        for who, podman in (("alice", alice), ("system", w.podman)):
            podman("create", "--name", base, SLEEP)
            dangling[who] = podman("commit", "-q", base).stdout.strip()
            podman("rm", base)
        page.get_by_test_id("images-owner-filter").select_option("alice")
        page.get_by_test_id("images-prune").click()
        prune = page.get_by_test_id("prune-dialog")
        expect(prune.get_by_test_id("prune-owner-alice")).to_be_checked()
        axe_clean(page, "images-prune-owner")
        prune.get_by_test_id("confirm-yes").click()
        expect(page.get_by_test_id("toast-success").filter(has_text="Pruned")).to_be_visible()
        gone = alice("image", "exists", dangling["alice"], check=False)
        assert gone.returncode == 1, gone
        assert w.podman("image", "exists", dangling["system"], check=False).returncode == 0

        # Pull into her Podman: the dialog opens with the filter's owner chosen.
        w.podman("push", "--quiet", SLEEP, pulled)
        page.get_by_test_id("images-pull").click()
        dialog = page.get_by_test_id("pull-dialog")
        expect(dialog.get_by_test_id("pull-owner-alice")).to_be_checked()
        dialog.get_by_test_id("pull-ref").fill(pulled)
        axe_clean(page, "images-pull-owner")
        dialog.get_by_test_id("pull-submit").click()
        expect(dialog.get_by_test_id("pull-progress")).to_have_attribute(
            "data-done", "true", timeout=60_000)
        dialog.get_by_test_id("pull-close").click()
        expect(page.locator(f'[data-testid="image-row"][data-name="{pulled}"]'
                            "[data-owner=alice]")).to_be_visible(timeout=30_000)
        assert alice("image", "exists", pulled, check=False).returncode == 0
        assert w.podman("image", "exists", pulled, check=False).returncode == 1
    finally:
        alice("rmi", "--ignore", pulled, check=False)
        for image in dangling.values():
            alice("rmi", "--ignore", image, check=False)
            w.podman("rmi", "--ignore", image, check=False)
        w.run_as("alice", ["podman", "rmi", "--ignore", ref], check=False)
        w.podman("rmi", "--ignore", ref, check=False)
