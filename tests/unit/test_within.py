"""``bridge.tasks.within``: the bounded wait that never drops a cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bridge.tasks import TaskOwner, within

Wait = Callable[[Awaitable[Any], float], Awaitable[Any]]


async def _loop_cancelled_as_its_wait_ends(wait: Wait) -> asyncio.Task[None]:
    """A loop around ``wait(event.wait(), …)``, owned by a TaskOwner, closed in the very
    turn of the loop in which its event is set (how ``PodmanSource.reconcile_when_quiet``
    met the bridge's stop while events were arriving)."""
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await wait(event.wait(), 60)
            event.clear()
            rounds += 1

    owner = TaskOwner("t")
    task = owner.create(loop(), "loop")
    for _ in range(3):          # the loop (and wait_for's inner task) reach the event
        await asyncio.sleep(0)
    assert rounds == 0 and not task.done()
    event.set()
    task.cancel()
    async with asyncio.timeout(30):  # a bound for the failure only; it ends at once
        await owner.close()
    return task


async def test_a_cancel_in_the_turn_the_wait_ends_still_ends_the_loop() -> None:
    task = await _loop_cancelled_as_its_wait_ends(within)
    assert task.cancelled()


async def test_the_wait_still_times_out_and_passes_results() -> None:
    assert await within(asyncio.sleep(0, "x"), 5) == "x"
    assert await within(asyncio.sleep(0, "y"), None) == "y"
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.01)
