"""The loading states of the panel's views (issue 19): the real bridge's answers are held
back in the browser's websocket (Playwright's route_web_socket passes every frame on,
except a held method's result, until the test lets it go), so each view is seen while it
waits, and then with its data: connecting, the containers list, a container's logs and
metrics, the images and the pods."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.browser.conftest import BridgeProcess
from tests.browser.panel import axe_clean, section


class Gate:
    """Holds the server's answers to the calls of chosen methods (and, while ``all`` is
    set, every frame from the server) until :meth:`release`."""

    def __init__(self) -> None:
        self.methods: set[str] = set()
        self.all = False
        self.calls: dict[int, str] = {}
        self.held: list[tuple[WebSocketRoute, str]] = []
        self.seen: list[str] = []

    def route(self, ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if isinstance(message, str):
                msg = json.loads(message)
                if msg.get("type") == "call":
                    self.calls[msg["id"]] = msg.get("method", "")
            server.send(message)

        def from_server(message: str | bytes) -> None:
            method = None
            if isinstance(message, str):
                msg = json.loads(message)
                if msg.get("type") == "result":
                    method = self.calls.get(msg.get("id"))
            if self.all or method in self.methods:
                self.held.append((ws, message if isinstance(message, str) else message.decode()))
                if method:
                    self.seen.append(method)
                return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    def hold(self, *methods: str) -> None:
        self.methods = set(methods)

    def flush(self) -> None:
        """Pass on what was held (the methods named stay held from now on)."""
        self.all = False
        held, self.held = self.held, []
        for ws, message in held:
            ws.send(message)

    def wait_held(self, page: Page, method: str) -> None:
        """Until the answer to ``method`` is held (the handlers run while Playwright
        waits, so the wait is Playwright's, not time.sleep)."""
        for _ in range(300):
            if method in self.seen:
                return
            page.wait_for_timeout(50)
        raise AssertionError(f"{method} was not called (calls: {self.calls})")

    def release(self) -> None:
        self.methods = set()
        self.flush()


@pytest.fixture
def gate(page: Page) -> Gate:
    g = Gate()
    page.route_web_socket(re.compile(r"/ws$"), g.route)
    return g


def test_each_view_shows_that_it_is_loading_then_its_data(
        page: Page, bridge: BridgeProcess, gate: Gate, running: str) -> None:
    # Connecting: nothing from the bridge yet.
    gate.all = True
    page.goto(bridge.url)
    expect(page.get_by_test_id("connecting")).to_be_visible()
    axe_clean(page, "loading-connecting")
    # Online, but the model (state.get) not in yet.
    gate.hold("state.get")
    gate.flush()
    gate.wait_held(page, "state.get")
    expect(page.get_by_test_id("containers-loading")).to_be_visible()
    axe_clean(page, "loading-containers")
    gate.release()
    expect(page.get_by_test_id(f"container-row-{running}")).to_be_visible()

    for method, go, loading, loaded in (
        ("containers.logs", f"#/containers/{running}/logs", "logs-loading", "logs-view"),
        ("containers.stats", f"#/containers/{running}/metrics", "metrics-loading", "chart-cpu"),
        ("images.list", "images", "images-loading", "images-table"),
        ("pods.list", "pods", "pods-loading", "pods-table|pods-empty"),
    ):
        gate.hold(method)
        if go.startswith("#"):
            page.evaluate(f"location.hash = {json.dumps(go)}")
        else:
            section(page, go)
        expect(page.get_by_test_id(loading)).to_be_visible()
        gate.wait_held(page, method)
        expect(page.get_by_test_id(loading)).to_be_visible()
        axe_clean(page, f"loading-{loading}")
        gate.release()
        done: Any = page.get_by_test_id(loaded.split("|")[0])
        for other in loaded.split("|")[1:]:
            done = done.or_(page.get_by_test_id(other))
        expect(done).to_be_visible(timeout=20_000)
        expect(page.get_by_test_id(loading)).to_have_count(0)
    print(f"\nheld and released: {sorted(set(gate.seen))}")
