"""units.journal asks journalctl once whether there is a journal before it follows: that
probe must not outlive the call when it is cancelled (a client gone) or times out."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.unit_journal import JournalStream


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        found |= {int(pid) for pid in (task / "children").read_text().split()}
    return found


async def test_a_cancelled_open_leaves_no_probe_behind() -> None:
    before = _children()
    # The probe is the command with "--no-pager -n 0" added: sh takes those as its $0...
    hang = ["sh", "-c", "exec sleep 300"]
    stream = JournalStream(hang, hang, "web.service")
    opening = asyncio.create_task(stream.open())
    deadline = asyncio.get_running_loop().time() + 60
    while not _children() - before:      # wait for the probe to run (a state, not a time)
        assert asyncio.get_running_loop().time() < deadline, "the probe never started"
        await asyncio.sleep(0.01)
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert _children() - before == set()
