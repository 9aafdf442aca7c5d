"""Fixtures for every test: nothing may be left running behind a test.

Like Cockpit's ``_check_settled``: a test that leaves asyncio tasks pending or child
processes alive fails, so leaks are found where they are made.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter

from bridge.sandbox import unavailable_reason
from bridge.sandbox.flavours import flavour_unavailable_reason, selected

# Fixtures of a real bridge against the test world (used by integration tests).
pytest_plugins = ["tests.integration.bridgefix"]


def _children() -> set[int]:
    me = os.getpid()
    kids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent pid; the command name (field 2) may hold spaces.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == me and fields[0] != "Z":
            kids.add(int(entry.name))
    return kids


@pytest.fixture(autouse=True)
async def _check_settled() -> AsyncIterator[None]:
    before = {t for t in asyncio.all_tasks() if not t.done()}
    yield
    # Give tasks cancelled during teardown one turn of the loop to finish.
    for _ in range(3):
        await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks()
              if not t.done() and t not in before and t is not asyncio.current_task()]
    for t in leaked:
        t.cancel()
    assert not leaked, f"test leaked tasks: {[t.get_name() for t in leaked]}"


@pytest.fixture(autouse=True)
def _check_children(request: pytest.FixtureRequest) -> Iterator[None]:
    before = _children()
    yield
    if request.node.get_closest_marker("allow_children"):
        return
    leaked = _children() - before
    assert not leaked, f"test leaked child processes: {sorted(leaked)}"


def _open_fds() -> set[tuple[int, str]]:
    """This process's descriptors, each with what it points at (a number reused for
    something else counts as new)."""
    fds = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            fds.add((int(name), os.readlink(f"/proc/self/fd/{name}")))
        except OSError:
            continue  # the one listdir itself had open
    return fds


_FDS_AFTER_SETUP = pytest.StashKey[set[tuple[int, str]]]()
# The tests that run the bridge in this process (a browser's or a benchmark's descriptors
# belong to processes the fixtures manage).
FD_CHECKED = frozenset({"unit", "integration", "faults"})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    yield
    if item.path.parent.name in FD_CHECKED:
        item.stash[_FDS_AFTER_SETUP] = _open_fds()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """A test that leaves a descriptor open fails. Measured from after its fixtures are
    set up (a world or a module's bridge opens its own for many tests) to after its
    function-scoped fixtures are torn down; a test marked ``allow_fds`` is exempt."""
    yield
    before = item.stash.get(_FDS_AFTER_SETUP, None)
    if before is None or item.get_closest_marker("allow_fds"):
        return
    leaked = sorted(_open_fds() - before)
    if leaked:
        # Descriptors of higher-scoped fixtures that this teardown ended are never "new";
        # anything new is the test's own.
        pytest.fail(f"test leaked file descriptors: {leaked}", pytrace=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked ``flavours("debian12", why="...")`` runs only in those flavours: its
    other flavours' cases are deselected (not skipped), and the reason is printed once."""
    keep, dropped = [], []
    reasons: set[str] = set()
    for item in items:
        marker = item.get_closest_marker("flavours")
        spec = getattr(item, "callspec", None)
        name = spec.params.get("flavour") if spec is not None else None
        if marker is not None and name is not None and name not in marker.args:
            dropped.append(item)
            reasons.add(f"{item.module.__name__ if item.module else item.nodeid}: "
                        f"{marker.kwargs.get('why', 'not in this flavour')}")
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
        for reason in sorted(reasons):
            print(f"\nflavour-bound, deselected elsewhere: {reason}")


@pytest.fixture(scope="session", params=selected())
def flavour(request: pytest.FixtureRequest) -> str:
    """The flavour of the test world (debian12, debian13) a world test runs in: the
    ``world`` fixtures take it, so every world test runs once per flavour
    (PODBRIDGE_FLAVOURS narrows the list)."""
    name = str(request.param)
    if reason := unavailable_reason() or flavour_unavailable_reason(name):
        pytest.skip(f"no {name} test world on this machine: {reason}")
    return name
# -- no silent skips ----------------------------------------------------------------------
# A world, browser or conformance test that is skipped proves nothing. A local run says
# loudly what it skipped and why; CI (PODBRIDGE_STRICT_SKIPS=1, set by .ci/run) has all
# they need, so there a skip of one of them fails the run.
STRICT_ENV = "PODBRIDGE_STRICT_SKIPS"
_skipped: list[tuple[str, str, str]] = []   # (kind, nodeid, reason)


def _kind(item: pytest.Item) -> str | None:
    for kind in ("browser", "world"):
        if item.get_closest_marker(kind) is not None:
            return kind
    if "conformance" in item.nodeid:
        return "conformance"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
            report.longrepr)
        _skipped.append((_kind(item) or "other", item.nodeid, str(reason)))


def _offending() -> list[tuple[str, str, str]]:
    return [s for s in _skipped if s[0] != "other"]


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    if not _skipped:
        return
    tr = terminalreporter
    strict = bool(os.environ.get(STRICT_ENV))
    tr.section("SKIPPED: these tests proved nothing in this run", sep="!", bold=True,
               red=bool(_offending()))
    reasons: dict[tuple[str, str], list[str]] = {}
    for kind, nodeid, reason in _skipped:
        reasons.setdefault((kind, reason), []).append(nodeid)
    for (kind, reason), ids in sorted(reasons.items()):
        tr.write_line(f"{len(ids):5d} {kind:11s} {reason}  (e.g. {ids[0]})")
    if _offending():
        tr.write_line(f"{len(_offending())} world/browser/conformance tests were skipped" +
                      (f": {STRICT_ENV} is set, so this run FAILS." if strict else
                       f"; CI ({STRICT_ENV}=1) would fail."), red=True, bold=True)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get(STRICT_ENV) and _offending() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
