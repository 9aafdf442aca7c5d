"""The one owner of asyncio tasks: it creates and names them, keeps them while they run,
and on ``close`` cancels *and awaits* every one, so nothing outlives the object that
started it (the bridge, a plugin's context, a websocket connection, a plugin)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")
FailureFn = Callable[["asyncio.Task[Any]", BaseException], None]


class TaskOwner:
    """``name`` prefixes every task's name (``ws/3/call/x``); ``on_failure`` hears a task
    that ended with an exception (the default logs it with its traceback): a failure is
    never left for the garbage collector to report."""

    def __init__(self, name: str, on_failure: FailureFn | None = None) -> None:
        self.name = name
        self._on_failure = on_failure
        self._tasks: set[asyncio.Task[Any]] = set()

    def create(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        """Start ``coro`` as a task named ``<owner>/<name>``, owned until it ends."""
        task = asyncio.get_running_loop().create_task(coro, name=f"{self.name}/{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        if self._on_failure is not None:
            self._on_failure(task, exc)
        else:
            logger.error("task %s failed", task.get_name(), exc_info=exc)

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def cancel(self, task: asyncio.Task[Any]) -> None:
        """Cancel one task and wait until it has ended."""
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def close(self) -> None:
        """Cancel every task and wait for all of them (and for any a task started while it
        was being cancelled). Safe to call twice."""
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)


async def within(aw: Awaitable[T], seconds: float | None) -> T:
    """``await aw``, or ``TimeoutError`` after ``seconds`` (None: no limit).

    The project's one bounded wait, in place of ``asyncio.wait_for`` (banned by the ruff
    config): on Python 3.11, ``wait_for`` cancelled while the awaited thing completes in
    the same turn of the loop returns its result and drops the cancellation (CPython
    gh-86296, fixed only by 3.12's rewrite on ``asyncio.timeout``). A loop around it then
    outlives ``TaskOwner.close``, which waits for it forever. ``asyncio.timeout`` runs
    ``aw`` in the caller's task and lets a cancellation through."""
    async with asyncio.timeout(seconds):
        return await aw
