"""POST a webhook: a JSON body, an HMAC-SHA256 signature, explicit timeouts, retries with
exponential backoff.

The body is made once and sent identically on every attempt, with the same
``X-Podbridge-Delivery`` id, so a receiver can verify and de-duplicate:

    X-Podbridge-Signature: sha256=<hex HMAC-SHA256 of the raw body with the shared secret>

A connection error, a timeout, a 5xx or a 429 is retried (a 429's or 503's numeric
``Retry-After`` is honoured, up to ``backoff_max``); any other status >= 300 fails at once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from bridge import __version__
from bridge.backoff import exponential

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Podbridge-Signature"
RESPONSE_LIMIT = 2048


class WebhookFailed(Exception):
    def __init__(self, message: str, attempts: int, status: int | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status


@dataclass
class WebhookResult:
    status: int
    attempts: int
    delivery: str
    response: str


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """For receivers (and tests): does ``header`` sign ``body``? Constant-time."""
    return hmac.compare_digest(sign(secret, body), header)


def _retry_after(value: str | None, cap: float) -> float | None:
    if value is None:
        return None
    try:
        return min(cap, max(0.0, float(value)))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


async def post_webhook(
    session: aiohttp.ClientSession, url: str, body: bytes, *, secret: str | None,
    headers: Mapping[str, str], event_type: str, timeout: float, connect_timeout: float,
    retries: int, backoff: float, backoff_max: float,
) -> WebhookResult:
    delivery = uuid.uuid4().hex
    send_headers = {"Content-Type": "application/json",
                    "User-Agent": f"podbridge-hooks/{__version__}",
                    "X-Podbridge-Event": event_type, "X-Podbridge-Delivery": delivery,
                    **headers}
    if secret is not None:
        send_headers[SIGNATURE_HEADER] = sign(secret, body)
    client_timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
    attempt = 0
    last_error = ""
    last_status: int | None = None
    while True:
        attempt += 1
        delay: float | None = None
        try:
            async with session.post(url, data=body, headers=send_headers,
                                    timeout=client_timeout, allow_redirects=False) as resp:
                text = (await resp.content.read(RESPONSE_LIMIT)).decode("utf-8", "replace")
                last_status = resp.status
                if resp.status < 300:
                    return WebhookResult(resp.status, attempt, delivery, text)
                last_error = f"HTTP {resp.status} {resp.reason or ''}".strip()
                if resp.status != 429 and resp.status < 500:
                    raise WebhookFailed(f"POST {url}: {last_error} (not retried)",
                                        attempt, resp.status)
                if resp.status in (429, 503):
                    delay = _retry_after(resp.headers.get("Retry-After"), backoff_max)
        except (aiohttp.ClientError, TimeoutError) as exc:
            last_status = None
            last_error = (f"no answer within {timeout:g}s" if isinstance(exc, TimeoutError)
                          else f"{type(exc).__name__}: {exc}")
        if attempt > retries:
            raise WebhookFailed(f"POST {url}: {last_error} (after {attempt} attempts)",
                                attempt, last_status)
        if delay is None:
            delay = exponential(attempt, backoff, backoff_max)
            delay *= 1 + random.random() * 0.1  # a little jitter
        logger.info("webhook %s: %s; retry %d/%d in %.2fs", url, last_error, attempt,
                    retries, delay)
        await asyncio.sleep(delay)
