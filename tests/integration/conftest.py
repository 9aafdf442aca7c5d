"""Fixtures for tests against the real test world (systemd + D-Bus + Podman + registry).

``world`` is booted once per session; a test that creates something in it removes it.
``fresh_world`` is booted for one test: for tests that reboot, break or destroy it.
Both come in every flavour of the world (``flavour``: debian12, debian13), so each world
test runs on each; PODBRIDGE_FLAVOURS=debian13 (or debian12) narrows a run.
Every test here is skipped, with one reason, when the machine cannot host a world.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bridge.sandbox import World, unavailable_reason
from bridge.sandbox.nats import NatsCluster
from tests.helpers import checked_world

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent


WORLD_FIXTURES = {"world", "fresh_world", "bridge", "client", "users_world", "flavour"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The ``world`` marker goes on the tests that need one: those using a world fixture
    (directly or through another fixture: ``fixturenames`` is the whole closure); a module
    that boots worlds of its own says so with ``pytestmark = pytest.mark.world``. A
    server on loopback or a plugin on an in-process bus is not a world test."""
    for item in items:
        if HERE in Path(str(item.fspath)).parents and \
                WORLD_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.world)


@pytest.fixture(autouse=True)
def _needs_world(request: pytest.FixtureRequest) -> None:
    """Tests that use a world skip, with one reason, where none can run; the others (a
    server on loopback, a plugin on a real bus) run everywhere."""
    if WORLD_FIXTURES & set(request.fixturenames) and (reason := unavailable_reason()):
        pytest.skip(f"no test world on this machine: {reason}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, flavour: str) -> Iterator[World]:
    """One world per flavour for the session."""
    with checked_world(tmp_path_factory.mktemp(f"world-{flavour}"), "the session's",
                       flavour) as w:
        yield w


@pytest.fixture
def fresh_world(tmp_path: Path, flavour: str) -> Iterator[World]:
    """A world of the test's own, torn down (and checked for leftovers) after it."""
    with checked_world(tmp_path / "world", "the test's", flavour) as w:
        yield w


@pytest.fixture(scope="session")
def users_world(tmp_path_factory: pytest.TempPathFactory, flavour: str) -> Iterator[World]:
    """A world (per flavour) with two users, alice and bob, each with a user manager and
    rootless Podman (bridge.sandbox.users). A test that creates something in it removes it."""
    with checked_world(tmp_path_factory.mktemp(f"users-world-{flavour}"), "the users'",
                       flavour, users=["alice", "bob"]) as w:
        yield w


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[NatsCluster]:
    """A 3-node NATS JetStream cluster of the test's own (no world), JetStream answering."""
    c = await asyncio.to_thread(NatsCluster.start, tmp_path)
    try:
        await c.jetstream_up()
        yield c
    finally:
        c.stop()
