"""Fixtures for the panel's browser tests: Debian's Chromium driven by Playwright (sync API)
against a real ``podbridge serve`` subprocess on the test world.

Every test here is skipped, with one reason, when the machine has no Chromium or cannot
host a world. The bridge runs as a subprocess (started once for this folder's tests, or by a test
that kills it, which reaps it itself), so the per-test leak checks of tests/conftest.py
see no child of ours left behind.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox import World, unavailable_reason
from bridge.sandbox.fleet import Fleet
from bridge.sandbox.images import SLEEP
from bridge.sandbox.registry import free_port
from tests.helpers import ServedBridge, checked_world, started, unique

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The auto-update plugin checks the world's plain-HTTP registry from outside the world.
# Only the world's: not the users of the machine (/run/user of a developer's laptop).
BRIDGE_CONFIG = "rootless = false\n[plugins.auto_update]\ntls_verify = false\n"


def skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no browser: {CHROMIUM} is missing (Debian package chromium)"
    if reason := unavailable_reason():
        return f"no test world on this machine: {reason}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pyproject's test extras)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.world)


@pytest.fixture(autouse=True)
def _needs_browser_and_world() -> None:
    if reason := skip_reason():
        pytest.skip(reason)


# -- the world ----------------------------------------------------------------------------

@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory, flavour: str) -> Iterator[World]:
    """One world for the browser tests per flavour (torn down after them, not at the end of
    a whole run); each test removes what it creates in it."""
    if reason := skip_reason():
        pytest.skip(reason)
    with checked_world(tmp_path_factory.mktemp(f"world-{flavour}"), "the browser tests'",
                       flavour) as w:
        yield w


# -- the panel and the bridge -------------------------------------------------------------

@pytest.fixture(scope="package")
def panel() -> Path:
    """frontend/dist, built (only when missing or older than its sources)."""
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build-panel.sh")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    dist = ROOT / "frontend" / "dist"
    assert done.returncode == 0 and (dist / "index.html").exists(), (
        f"the panel did not build: {done.stdout}\n{done.stderr}")
    return dist


class BridgeProcess(ServedBridge):
    """`python -m bridge serve` on the world, on a fixed port and state folder, so that
    it can be killed and started again where the page expects it."""

    def __init__(self, world: World, state_dir: Path, panel: Path,
                 port: int | None = None) -> None:
        self.world = world
        self.state_dir = state_dir
        self.panel = panel
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""            # as printed: http://127.0.0.1:PORT/?token=...
        self.starts = 0
        state_dir.mkdir(parents=True, exist_ok=True)
        self.config = state_dir.parent / f"{state_dir.name}.toml"
        self.config.write_text(BRIDGE_CONFIG)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    @property
    def log(self) -> Path:
        return self.state_dir.parent / f"{self.state_dir.name}.log"

    def start(self, timeout: float = 30.0) -> BridgeProcess:
        assert self.proc is None, "already running"
        self.starts += 1
        env = {**os.environ, "CONTAINER_HOST": self.world.podman_url,
               "DBUS_SYSTEM_BUS_ADDRESS": self.world.dbus_address}
        with self.log.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            offset = log.tell()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--listen", f"127.0.0.1:{self.port}",
                 "--state-dir", str(self.state_dir), "--unit-dir", str(self.world.unit_dir),
                 "--config", str(self.config), "--panel-dir", str(self.panel)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log.read_bytes()[offset:].decode(errors="replace")
            for line in text.splitlines():
                if "is serving at " in line:
                    self.url = line.split("is serving at ", 1)[1].strip()
            if self.url and self._sources_connected():
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the bridge did not come up:\n{text}")
            time.sleep(0.1)
        assert self.url.startswith(f"{self.base}/?token="), self.url
        logger.info("bridge up at %s (start %d)", self.base, self.starts)
        return self

    def call(self, method: str, **params: Any) -> Any:
        req = urllib.request.Request(
            f"{self.base}/api/{method}", data=json.dumps(params).encode(), method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as res:
            answer = json.loads(res.read())
        assert answer["ok"], answer
        return answer["data"]

    def kill(self) -> None:
        """SIGKILL, as a crash would, and reap it."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="package")
def bridge(world: World, panel: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BridgeProcess]:
    """One bridge for the tests that do not kill it."""
    with started(BridgeProcess(world, tmp_path_factory.mktemp("bridge") / "state",
                               panel)) as b:
        yield b


# -- the browser ----------------------------------------------------------------------------

@pytest.fixture
def browser() -> Iterator[Any]:
    """Chromium for one test. Not shared across tests: Playwright's sync API keeps its
    event loop set as the main thread's running loop while it is open, and the async
    fixtures of tests/conftest.py (and any async test after ours) need none running."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280x800; page errors fail the test."""
    ctx = browser.new_context(viewport=DESKTOP)
    ctx.set_default_timeout(15_000)
    errors: list[str] = []
    ctx.on("weberror", lambda e: errors.append(str(e.error)))
    try:
        yield ctx
    finally:
        ctx.close()
    assert not errors, f"the page raised: {errors}"


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


@pytest.fixture
def names(world: World) -> Iterator[list[str]]:
    """Container names; whatever the test made under them is removed afterwards."""
    made: list[str] = []
    try:
        yield made
    finally:
        if made:
            world.podman("rm", "-f", "--ignore", "-t", "0", *made, check=False)


@pytest.fixture
def container(names: list[str]) -> str:
    """A name for a container the test makes; removed after the test."""
    names.append(unique("pbt"))
    return names[-1]


@pytest.fixture
def name(container: str) -> str:
    """The same, for the tests that call it a name."""
    return container


@pytest.fixture
def pod(world: World) -> Iterator[str]:
    """A name for a pod the test makes; removed after the test."""
    name = unique("pbpod")
    try:
        yield name
    finally:
        world.podman("pod", "rm", "-f", "--ignore", name, check=False)


@pytest.fixture
def running(world: World, container: str) -> str:
    """A running container that printed a line (removed after the test)."""
    world.podman("run", "-d", "--name", container, SLEEP, "sh", "-c",
                 "echo ready; exec sleep 1000")
    return container


@pytest.fixture(scope="module")
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Fleet]:
    """A test fleet of the module's ``FLEET_HOSTS`` worlds with their bridges (h1, h2, ...)."""
    f = Fleet.up(tmp_path_factory.mktemp("fleet"), request.module.FLEET_HOSTS)
    try:
        yield f
    finally:
        f.down()


@pytest.fixture(scope="module")
def viewer(fleet: Fleet, panel: Path, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[BridgeProcess]:
    """A bridge on TCP (for the browser), on h1's world, joined as host 'viewer' of the
    module's ``fleet``."""
    assert fleet.nats is not None
    b = BridgeProcess(fleet.host("h1").world(), tmp_path_factory.mktemp("viewer") / "state",
                      panel)
    servers = ", ".join(f'"{u}"' for u in fleet.nats.urls)
    b.config.write_text(BRIDGE_CONFIG + f'[fleet]\nservers = [{servers}]\nhost = "viewer"\n'
                        "heartbeat_interval = 1.0\noffline_after = 3.0\n")
    with started(b):
        yield b
