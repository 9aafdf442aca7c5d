"""``bridge.tasks.within``: the bounded wait that never drops a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from bridge.tasks import TaskOwner, within


async def test_a_cancel_in_the_turn_the_wait_ends_still_ends_the_loop() -> None:
    """A loop around ``within(event.wait(), …)``, owned by a TaskOwner, cancelled in the
    very turn of the loop in which its event is set (how ``reconcile_when_quiet`` met the
    bridge's stop while events were arriving). With ``asyncio.wait_for`` in its place
    (Python 3.11), the cancellation is dropped and the owner's close never ends."""
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            await within(event.wait(), 60)
            event.clear()
            rounds += 1

    owner = TaskOwner("t")
    task = owner.create(loop(), "loop")
    for _ in range(3):          # the loop reaches the event
        await asyncio.sleep(0)
    assert rounds == 0 and not task.done()
    event.set()
    task.cancel()
    async with asyncio.timeout(30):  # a bound for the failure only; it ends at once
        await owner.close()
    assert task.cancelled() and rounds == 0


async def test_the_wait_still_times_out_and_passes_results() -> None:
    assert await within(asyncio.sleep(0, "x"), 5) == "x"
    assert await within(asyncio.sleep(0, "y"), None) == "y"
    with pytest.raises(TimeoutError):
        await within(asyncio.Event().wait(), 0.01)
