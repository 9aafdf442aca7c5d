"""Debounce (trailing, per key, on real loop timers) and the sliding-window rate limit."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
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


async def test_debouncer_fires_once_per_quiet_key_with_the_last_item() -> None:
    fired: list[tuple[Hashable, Any, int]] = []
    d = Debouncer(lambda k, item, n: fired.append((k, item, n)))
    for i in range(5):
        d.offer("a", i, 0.15)
        await asyncio.sleep(0.02)
    d.offer("b", "only", 0.15)
    assert fired == []
    await asyncio.sleep(0.3)
    assert sorted(fired) == [("a", 4, 5), ("b", "only", 1)]
    assert d.pending() == 0


async def test_debouncer_cancel_forgets_without_firing() -> None:
    fired: list[Any] = []
    d = Debouncer(lambda k, item, n: fired.append(k))
    d.offer(("r1", "x"), 1, 0.05)
    d.offer(("r2", "x"), 1, 0.05)
    assert d.cancel(lambda k: isinstance(k, tuple) and k[0] == "r1") == 1
    await asyncio.sleep(0.15)
    assert fired == [("r2", "x")]
    d.offer("z", 1, 10)
    assert d.cancel() == 1


def test_signature_is_hmac_sha256_of_the_body() -> None:
    # The value of `printf '{"a":1}' | openssl dgst -sha256 -hmac key`.
    body = b'{"a":1}'
    assert sign("key", body) == (
        "sha256=88a67f24bbcdaed0e6c997404bb79a743baf44c6bab2f4c27328e3009d22e342")
    assert verify("key", body, sign("key", body))
    assert not verify("other", body, sign("key", body))
