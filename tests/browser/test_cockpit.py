"""podbridge inside real Cockpit (issue 20, "Show"): Debian's cockpit-ws and cockpit-bridge
run in the world; podbridge's package, installed by `make install`'s Cockpit step, is in
Cockpit's menu; its page shows live containers and stops one, all through a Cockpit channel
to the bridge's unix socket; and beside a cockpit.socket on the default port, `podbridge
serve` explains, and the documented way (the unix socket, Cockpit's page) works."""

from __future__ import annotations

import grp
import pwd
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import FrameLocator, Page, expect

from bridge.config import DEFAULT_PORT
from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.browser.panel import screenshot
from tests.cockpitworld import (
    CockpitWS,
    UnixBridge,
    cockpit_missing,
    cockpit_socket_unit,
    install_package,
    unique_loopback,
)
from tests.helpers import started

# Cockpit runs inside the world, the world's own: on debian12 (this machine's Debian) the
# machine's cockpit-ws 287 and its C bridge; on debian13 the trixie tree's Cockpit 337
# (Python bridge) and cockpit-podman 108 (bridge.sandbox.flavours: apt_packages).

ROOT = Path(__file__).resolve().parents[2]
FRAME = 'iframe[name="cockpit1:localhost/podbridge"]'
APPEAR_MS = 5_000
USER = "nobody"   # a user with no administrative access, in every Debian


@pytest.fixture(autouse=True)
def _needs_cockpit(world: World) -> None:
    if reason := cockpit_missing(world):
        pytest.skip(f"no Cockpit: {reason}")


@pytest.fixture(scope="module")
def unix_bridge(world: World, tmp_path_factory: pytest.TempPathFactory,
                panel: Path) -> Iterator[UnixBridge]:
    with started(UnixBridge(world, tmp_path_factory.mktemp("unixbridge") / "state")) as b:
        yield b


@pytest.fixture
def cockpit(world: World, panel: Path) -> Iterator[CockpitWS]:
    """A fresh cockpit-ws session (no login) with podbridge's package installed."""
    with started(CockpitWS(world, install_package(world))) as ws:
        yield ws


def open_podbridge_page(page: Page, cockpit: CockpitWS) -> FrameLocator:
    """Cockpit's shell, then podbridge from its menu, as a user would."""
    page.goto(f"{cockpit.url}/system")
    link = page.locator("#host-apps a", has_text=re.compile(r"^podbridge$"))
    expect(link).to_be_visible(timeout=30_000)
    link.click()
    expect(page).to_have_url(re.compile(r"/podbridge"))
    frame = page.frame_locator(FRAME)
    expect(frame.get_by_test_id("connection-status")).to_have_attribute(
        "data-phase", "online", timeout=30_000)
    return frame


def test_without_a_bridge_the_page_says_how_to_start_one(
        page: Page, world: World, panel: Path) -> None:
    """A Cockpit whose machine runs no podbridge: the page says what to run. (First in
    the module: the module's bridge on the world's socket is not started yet.)"""
    ws = CockpitWS(world, install_package(world)).start()
    sock = world.run_dir / "podbridge" / "podbridge.sock"
    try:
        if sock.exists():
            pytest.skip("a bridge serves this world's socket (module fixture in use)")
        page.goto(f"{ws.url}/podbridge")
        frame = page.frame_locator(FRAME)
        try:
            expect(frame.get_by_test_id("connecting-problem")).to_contain_text(
                "podbridge serve --listen unix:/run/podbridge/podbridge.sock", timeout=30_000)
        finally:
            screenshot(page, "cockpit-no-bridge")
    finally:
        ws.stop()


def test_podbridge_in_cockpits_menu_shows_live_containers_and_stops_one(
        page: Page, cockpit: CockpitWS, unix_bridge: UnixBridge, world: World,
        container: str) -> None:
    frame = open_podbridge_page(page, cockpit)
    expect(frame.get_by_role("heading", name="Containers", level=1)).to_be_visible()
    row = frame.get_by_test_id(f"container-row-{container}")
    expect(row).to_have_count(0)

    issued = time.monotonic()
    world.podman("run", "-d", "--name", container, SLEEP)
    returned = time.monotonic()
    expect(row).to_have_attribute("data-state", "running", timeout=APPEAR_MS)
    print(f"\nin Cockpit: the row was there {time.monotonic() - returned:.3f}s after "
          f"`podman run` returned ({returned - issued:.3f}s to run)")
    screenshot(page, "cockpit-podbridge")

    frame.get_by_test_id(f"container-stop-{container}").click()
    expect(row).to_have_attribute("data-state", re.compile(r"^(exited|stopped)$"),
                                  timeout=20_000)
    state = world.podman("inspect", "--format", "{{.State.Status}}", container).stdout.strip()
    assert state in ("exited", "stopped"), state
    # The stop went through Cockpit's channel: the bridge saw a unix-socket client only.
    assert unix_bridge.call("bridge.status")["podman"]["connected"]


def test_without_administrative_access_the_page_says_so(
        page: Page, world: World, unix_bridge: UnixBridge, panel: Path) -> None:
    """A Cockpit session of a user who is not root and has no administrative access: the
    user's cockpit-bridge may not open the bridge's 0600 root socket, and the page says
    what to do. (The socket's mode and the peer's uid decide; nothing the page says.)"""
    with started(CockpitWS(world, install_package(world), user=USER)) as ws:
        page.goto(f"{ws.url}/podbridge")
        frame = page.frame_locator(FRAME)
        expect(frame.get_by_test_id("connecting-problem")).to_contain_text(
            "turn on administrative access", timeout=30_000)
        expect(frame.get_by_test_id("connection-status")).to_have_count(0)


def test_a_users_own_socket_with_the_token_typed_into_the_page(
        page: Page, world: World, unix_bridge: UnixBridge, panel: Path,
        tmp_path: Path) -> None:
    """A user without administrative access: the system socket refuses them, the page
    falls back to the user's own socket (/run/user/UID/...), where the bridge (0660, the
    user's group) does not trust the uid and asks for the token; typed into the page's
    form, it is sent in the auth message through Cockpit's channel, and the page is live."""
    user = pwd.getpwnam(USER)
    group = grp.getgrgid(user.pw_gid).gr_name
    with (started(UnixBridge(world, tmp_path / "state",
                             inside=f"/run/user/{user.pw_uid}/podbridge/podbridge.sock",
                             socket_group=group)),
          started(CockpitWS(world, install_package(world), user=USER)) as ws):
        page.goto(f"{ws.url}/podbridge")
        frame = page.frame_locator(FRAME)
        expect(frame.get_by_test_id("login")).to_be_visible(timeout=30_000)
        expect(frame.get_by_test_id("login-error")).to_have_count(0)
        frame.get_by_test_id("login-token").fill("not-the-token")
        frame.get_by_test_id("login-submit").click()
        expect(frame.get_by_test_id("login-error")).to_contain_text("not valid")
        token = (tmp_path / "state" / "token").read_text().strip()
        frame.get_by_test_id("login-token").fill(token)
        frame.get_by_test_id("login-submit").click()
        expect(frame.get_by_test_id("connection-status")).to_have_attribute(
            "data-phase", "online", timeout=30_000)
        expect(frame.get_by_role("heading", name="Containers", level=1)).to_be_visible()


def test_cockpits_own_podman_page_sees_the_same_world(
        page: Page, cockpit: CockpitWS, world: World, container: str) -> None:
    """The reference the benchmark compares with: cockpit-podman, in the same session,
    shows the world's containers."""
    world.podman("create", "--name", container, SLEEP)
    page.goto(f"{cockpit.url}/podman")
    frame = page.frame_locator('iframe[name="cockpit1:localhost/podman"]')
    expect(frame.locator(f'td[data-label="Container"]:has-text("{container}")').first
           ).to_be_attached(timeout=30_000)


def test_beside_cockpit_socket_serve_explains_and_the_documented_way_works(
        page: Page, cockpit: CockpitWS, unix_bridge: UnixBridge, world: World,
        tmp_path: Path) -> None:
    address = unique_loopback()
    with cockpit_socket_unit(world, address):
        done = subprocess.run(
            [sys.executable, "-m", "bridge", "serve", "--listen", address,
             "--state-dir", str(tmp_path / "state")],
            cwd=ROOT, env={**world.env(), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                           "PODBRIDGE_CONFIG": str(tmp_path / "none.toml")},
            capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1, done
    assert (f"cannot listen on {address}:{DEFAULT_PORT}: the port is already in use by "
            "Cockpit, by its socket unit cockpit.socket") in done.stderr, done.stderr
    assert "--listen unix:/run/podbridge/podbridge.sock" in done.stderr
    # What the message points to: the bridge on that socket, podbridge's page in Cockpit.
    frame = open_podbridge_page(page, cockpit)
    expect(frame.get_by_role("heading", name="Containers", level=1)).to_be_visible()
