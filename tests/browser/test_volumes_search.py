"""The Volumes page and the pull dialog's registry search (issue 19, Cockpit parity).

Volumes: listed live (a volume made or removed with the podman CLI appears and goes),
created from a dialog (name, labels), removed after a confirmation (refused while in use,
then forced, which removes its container too), pruned. Search: the world's registry is
Docker's distribution registry (no search API: Podman matches names in its catalog), and
its registries.conf searches no registry for short names; a result is picked, its tag
chosen, and pulled. Every view axe-checked (light and dark), photographed at 1280x800 and
390 px."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.conftest import DESKTOP, BridgeProcess
from tests.browser.panel import checked_view, login_by_url, submit_create
from tests.helpers import unique


def photos(page: Page, name: str) -> None:
    """checked_view, then back to the desktop's size (on a phone a toast covers the rows)."""
    checked_view(page, name)
    page.set_viewport_size(DESKTOP)


def volume_names(world: World) -> list[str]:
    return world.podman("volume", "ls", "--format", "{{.Name}}").stdout.split()


@pytest.fixture
def volumes(world: World) -> Iterator[dict[str, str]]:
    """A volume a container uses, an unused one, and the names the test will make."""
    names = {k: unique(f"pbv{k}") for k in ("used", "spare", "live", "made")}
    names["user"], names["user2"] = unique("pbvuser"), unique("pbvuser")
    world.podman("volume", "create", "--label", "app=web", names["used"])
    world.podman("volume", "create", names["spare"])
    world.podman("create", "--name", names["user"], "-v", f"{names['used']}:/data", SLEEP)
    try:
        yield names
    finally:
        for k in ("user", "user2"):
            world.podman("rm", "-f", "--ignore", names[k], check=False)
        for k in ("used", "spare", "live", "made"):
            world.podman("volume", "rm", "-f", names[k], check=False)


def test_volumes_page_lists_live_creates_removes_and_prunes(
        page: Page, bridge: BridgeProcess, world: World, volumes: dict[str, str]) -> None:
    login_by_url(page, bridge, "volumes")
    expect(page.get_by_role("heading", name="Volumes", level=1)).to_be_visible()

    def row(name: str) -> Locator:
        return page.locator(f'[data-testid="volume-row"][data-name="{name}"]')

    used, spare = row(volumes["used"]), row(volumes["spare"])
    expect(used).to_be_visible()
    expect(used.get_by_test_id("volume-used-by")).to_have_text(volumes["user"])
    expect(used).to_contain_text("app=web")
    expect(spare.get_by_test_id("volume-used-by")).to_have_text("unused")
    mountpoint = json.loads(world.podman("volume", "inspect", volumes["used"]).stdout)[0]
    expect(used).to_contain_text(mountpoint["Mountpoint"])
    photos(page, "page-volumes")
    # Dark, switched live: axe once the theme's colour transitions have ended.
    for scheme in ("dark", "light"):
        page.emulate_media(color_scheme=scheme)
        dark = re.compile(r"\bpf-v6-theme-dark\b")
        html = expect(page.locator("html"))
        if scheme == "dark":
            html.to_have_class(dark)
        else:
            html.not_to_have_class(dark)
        page.wait_for_function("document.getAnimations().every(a => a.playState !== 'running')")
        if scheme == "dark":
            photos(page, "page-volumes-dark")

    # Live: made and removed behind the page's back, by Podman's CLI.
    world.podman("volume", "create", volumes["live"])
    expect(row(volumes["live"])).to_be_visible(timeout=15_000)
    world.podman("volume", "rm", volumes["live"])
    expect(row(volumes["live"])).to_have_count(0, timeout=15_000)
    # "In use by" follows containers made and removed behind the page's back too.
    world.podman("create", "--name", volumes["user2"], "-v", f"{volumes['spare']}:/d", SLEEP)
    expect(spare.get_by_test_id("volume-used-by")).to_have_text(volumes["user2"],
                                                                 timeout=15_000)
    world.podman("rm", volumes["user2"])
    expect(spare.get_by_test_id("volume-used-by")).to_have_text("unused", timeout=15_000)

    # Create, with a label; a bad name is refused in the dialog.
    page.get_by_test_id("volumes-create").click()
    dialog = page.get_by_test_id("volume-create-dialog")
    dialog.get_by_test_id("volume-name").fill("-bad")
    dialog.get_by_test_id("volume-create-submit").click()
    expect(dialog).to_contain_text("Letters, digits")
    dialog.get_by_test_id("volume-name").fill(volumes["made"])
    dialog.get_by_test_id("label-add").click()
    dialog.get_by_test_id("label-key").fill("team")
    dialog.get_by_test_id("label-value").fill("blue")
    photos(page, "volumes-create")
    dialog.get_by_test_id("volume-create-submit").click()
    expect(dialog).to_have_count(0, timeout=15_000)
    expect(row(volumes["made"])).to_be_visible(timeout=15_000)
    made = json.loads(world.podman("volume", "inspect", volumes["made"]).stdout)[0]
    assert made["Labels"] == {"team": "blue"} and made["Driver"] == "local", made

    # Remove the one in use: asks; without force Podman refuses and it stays.
    used.get_by_test_id("volume-remove").click()
    confirm = page.get_by_test_id("confirm-dialog")
    expect(confirm).to_contain_text(f"in use by {volumes['user']}")
    photos(page, "volumes-remove")
    confirm.get_by_test_id("confirm-yes").click()
    toast = page.get_by_test_id("toast-danger")
    expect(toast).to_contain_text("conflict")
    toast.get_by_role("button").click()
    expect(used).to_be_visible()
    assert volumes["used"] in volume_names(world)
    # Forced: the container goes with it.
    used.get_by_test_id("volume-remove").click()
    confirm.get_by_test_id("volume-force").check()
    expect(confirm.get_by_test_id("confirm-yes")).to_have_text("Remove all")
    confirm.get_by_test_id("confirm-yes").click()
    expect(used).to_have_count(0, timeout=15_000)
    assert volumes["used"] not in volume_names(world)
    assert world.podman("container", "exists", volumes["user"], check=False).returncode != 0

    # Prune: every unused volume (the spare one, the one made here) after a confirmation.
    page.get_by_test_id("volumes-prune").click()
    prune = page.get_by_test_id("volumes-prune-dialog")
    expect(prune).to_contain_text(volumes["spare"])
    photos(page, "volumes-prune")
    prune.get_by_test_id("confirm-yes").click()
    expect(page.get_by_test_id("toast-success").filter(has_text="Pruned")).to_contain_text(
        re.compile(r"Pruned (?:[2-9]|\d{2,}) volumes"))
    expect(spare).to_have_count(0, timeout=15_000)
    expect(row(volumes["made"])).to_have_count(0, timeout=15_000)
    left = volume_names(world)
    assert volumes["spare"] not in left and volumes["made"] not in left, left


@pytest.fixture
def in_registry(world: World) -> Iterator[tuple[str, list[str]]]:
    """A unique word; repositories with it in the world's registry (one with two tags)."""
    word = unique("pbs").replace("-", "")
    refs = [f"{world.registry}/podbridge/{word}:v1", f"{world.registry}/podbridge/{word}:v2",
            f"{world.registry}/other/{word}db:latest"]
    for ref in refs:
        world.podman("push", "--quiet", SLEEP, ref)
    try:
        yield word, refs
    finally:
        for ref in refs:
            world.podman("rmi", "-f", "--ignore", ref, check=False)


def test_search_a_registry_then_pull_the_chosen_tag(
        page: Page, bridge: BridgeProcess, world: World,
        in_registry: tuple[str, list[str]]) -> None:
    word, _refs = in_registry
    reg = world.registry
    login_by_url(page, bridge, "images")
    page.get_by_test_id("images-pull").click()
    dialog = page.get_by_test_id("pull-dialog")
    search = dialog.get_by_test_id("image-search")

    # A short name: the world's registries.conf searches nowhere, and the dialog says so.
    search.get_by_test_id("search-term").fill(word)
    expect(search.get_by_test_id("search-nowhere")).to_be_visible(timeout=15_000)
    expect(search.get_by_test_id("search-nowhere")).to_contain_text("unqualified-search-registries")

    # In the world's registry (offered: registries.conf configures it).
    search.get_by_test_id("search-registry").select_option(reg)
    results = search.get_by_test_id("search-result")
    expect(results).to_have_count(2, timeout=30_000)
    names = sorted(r.get_attribute("data-name") or "" for r in results.all())
    assert names == [f"{reg}/other/{word}db", f"{reg}/podbridge/{word}"], names
    cli = json.loads(world.podman("search", "--format", "json", f"{reg}/{word}").stdout)
    assert sorted(r["Name"] for r in cli) == names
    photos(page, "images-search")

    # Case matters to the catalog match; a registry nobody serves is an error, said inline.
    search.get_by_test_id("search-term").fill(word.upper())
    expect(search.get_by_test_id("search-empty")).to_contain_text(f"No results for {reg}/")
    search.get_by_test_id("search-registry").select_option("")
    search.get_by_test_id("search-term").fill(f"127.0.0.1:1/{word}")
    expect(search.get_by_test_id("search-error")).to_contain_text("127.0.0.1:1", timeout=30_000)
    search.get_by_test_id("search-term").fill(f"{reg}/{word}")
    expect(results).to_have_count(2, timeout=30_000)

    # Choose one: its tags are listed (no latest: the last one is offered); pick v1, pull it.
    chosen = f"{reg}/podbridge/{word}"
    search.locator(f'[data-testid="search-result"][data-name="{chosen}"]').click()
    tag = search.get_by_test_id("search-tag")
    expect(tag).to_have_value("v2", timeout=15_000)
    assert [o.get_attribute("value") for o in tag.locator("option").all()] == ["v1", "v2"]
    expect(dialog.get_by_test_id("pull-ref")).to_have_value(f"{chosen}:v2")
    tag.select_option("v1")
    expect(dialog.get_by_test_id("pull-ref")).to_have_value(f"{chosen}:v1")
    photos(page, "images-search-chosen")
    dialog.get_by_test_id("pull-submit").click()
    bar = dialog.get_by_test_id("pull-progress")
    deadline = time.monotonic() + 60
    while bar.get_attribute("data-done") != "true":
        assert not dialog.get_by_test_id("pull-error").is_visible(), \
            dialog.get_by_test_id("pull-error").inner_text()
        assert time.monotonic() < deadline, "the pull did not finish"
        time.sleep(0.05)
    dialog.get_by_test_id("pull-close").click()
    expect(page.locator(f'[data-testid="image-row"][data-name="{chosen}:v1"]')).to_be_visible(
        timeout=15_000)
    listed = world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout.split()
    assert f"{chosen}:v1" in listed


def test_create_dialog_searches_a_registry_and_pulls_the_chosen_image(
        page: Page, bridge: BridgeProcess, world: World,
        in_registry: tuple[str, list[str]]) -> None:
    """Cockpit's create dialog searches registries for its image: the pull dialog's search,
    folded under the image field; the reference chosen fills the field, and Create pulls
    it first (it is in no local storage) and runs a container of it."""
    word, _refs = in_registry
    reg, name = world.registry, unique("pbsc")
    chosen = f"{reg}/podbridge/{word}"
    try:
        login_by_url(page, bridge)
        page.get_by_test_id("container-create").click()
        dialog = page.get_by_test_id("create-dialog")
        dialog.get_by_test_id("create-search").get_by_role("button").first.click()
        search = dialog.get_by_test_id("image-search")
        search.get_by_test_id("search-registry").select_option(reg)
        search.get_by_test_id("search-term").fill(word)
        # Enter searches; it does not submit the dialog.
        search.get_by_test_id("search-term").press("Enter")
        results = search.get_by_test_id("search-result")
        expect(results).to_have_count(2, timeout=30_000)
        search.locator(f'[data-testid="search-result"][data-name="{chosen}"]').click()
        expect(search.get_by_test_id("search-tag")).to_have_value("v2", timeout=15_000)
        search.get_by_test_id("search-tag").select_option("v1")
        expect(dialog.get_by_test_id("create-image")).to_have_value(f"{chosen}:v1")
        photos(page, "create-search")
        assert world.podman("image", "exists", f"{chosen}:v1", check=False).returncode == 1
        dialog.get_by_test_id("create-name").fill(name)
        submit_create(page, dialog)
        info = json.loads(world.podman("inspect", name).stdout)[0]
        assert info["ImageName"] == f"{chosen}:v1", info["ImageName"]
    finally:
        world.podman("rm", "-f", "--ignore", "-t", "0", name, check=False)
