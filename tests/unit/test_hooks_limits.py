"""Debounce (trailing, per key, on real loop timers) and the sliding-window rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

from plugins.hooks.limits import Debouncer, RateLimiter
from plugins.hooks.webhook import sign, verify


def test_rate_limiter_sliding_window() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 10.0, clock=lambda: now[0])
    assert limiter.allow()
    now[0] = 5.0
    assert limiter.allow()
    assert not limiter.allow() and limiter.suppressed == 1
    now[0] = 9.9
    assert not limiter.allow() and limiter.suppressed == 2
    now[0] = 10.0  # the first one left the window
    assert limiter.allow() and limiter.suppressed == 0
    now[0] = 14.9
    assert not limiter.allow()
    now[0] = 15.0
    assert limiter.allow()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for ``predicate`` on the loop's turns: for a condition, never a duration."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_debouncer_fires_once_per_quiet_key_with_the_last_item() -> None:
    fired: list[tuple[Hashable, Any, int]] = []
    d = Debouncer(lambda k, item, n: fired.append((k, item, n)))
    # All offers in one turn of the loop: no timer can run in between, however slow the
    # machine, so each re-offer really replaces the pending one.
    for i in range(5):
        d.offer("a", i, 0.15)
    d.offer("b", "only", 0.15)
    assert fired == [] and d.pending() == 2
    await until(lambda: len(fired) == 2)
    assert sorted(fired) == [("a", 4, 5), ("b", "only", 1)]
    # Nothing is pending any more: nothing else can fire (a proof, not a pause).
    assert d.pending() == 0


async def test_debouncer_cancel_forgets_without_firing() -> None:
    fired: list[Any] = []
    d = Debouncer(lambda k, item, n: fired.append(k))
    d.offer(("r1", "x"), 1, 0.05)
    d.offer(("r2", "x"), 1, 0.05)
    assert d.cancel(lambda k: isinstance(k, tuple) and k[0] == "r1") == 1
    await until(lambda: bool(fired))
    assert fired == [("r2", "x")] and d.pending() == 0   # r1's timer is gone for good
    d.offer("z", 1, 10)
    assert d.cancel() == 1


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # The value of `printf '{"a":1}' | openssl dgst -sha256 -hmac key`.
    body = b'{"a":1}'
    assert sign("key", body) == (
        "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342")
    assert verify("key", body, sign("key", body))
    assert not verify("other", body, sign("key", body))
