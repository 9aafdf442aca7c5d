"""Webhooks against a real HTTP receiver on 127.0.0.1 (aiohttp): payload and HMAC signature,
retries with backoff on a receiver that fails, no retry on a 4xx, a receiver that hangs."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDictProxy

from bridge.tasks import within
from tests.helpers import serving
from tests.integration.bridgefix import wait_for
from tests.integration.test_hooks_host import HooksHarness

SECRET = "correct horse battery staple"


@dataclass
class Received:
    headers: CIMultiDictProxy[str]
    body: bytes
    path: str


@dataclass
class Receiver:
    """Answers ``fail_first`` requests with ``fail_status`` (or hangs, when it is 0)."""

    fail_first: int = 0
    fail_status: int = 500
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append(Received(request.headers, await request.read(), request.path))
        if len(self.requests) <= self.fail_first:
            if self.fail_status == 0:
                await within(self.release.wait(), 30)
            return web.Response(status=self.fail_status, text="not now")
        return web.Response(status=204)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    async with serving(app, shutdown_timeout=0.1) as port:
        rec.url = f"http://127.0.0.1:{port}"
        try:
            yield rec
        finally:
            rec.release.set()  # let a hanging handler finish: no server task is left behind
            await asyncio.sleep(0.01)


def webhook_rule(name: str, url: str, **action: Any) -> dict[str, Any]:
    return {"name": name,
            "on": {"topic": "container.died", "where": ["data.exit_code != 0"]},
            "actions": [{"type": "webhook", "url": url, "backoff": 0.05, **action}]}


def expected_signature(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


async def test_webhook_fires_once_per_matching_event_signed(tmp_path: Path,
                                                            receiver: Receiver) -> None:
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("notify", receiver.url + "/hook/{{subject}}",
                                 secret=SECRET, headers={"X-Team": "ops"}))
        died = h.publish("container.died", "web", {"exit_code": 1, "image": "img:v1",
                                                   "labels": {"app": "shop"}})
        h.publish("container.died", "web", {"exit_code": 0})  # does not match
        h.publish("container.stop", "web", {"exit_code": 1})  # nor this
        (fired,) = await h.wait_fired(1, "notify")
        # A matching marker published after them: the engine takes events in order, so
        # once the marker has fired, the two before it were judged (and did not match).
        h.publish("container.died", "marker", {"exit_code": 1})
        await h.wait_fired(2, "notify")
        [rule] = await h.call("hooks.list")
        assert rule["stats"]["matched"] == 2, rule
        await wait_for(lambda: len(receiver.requests) == 2, what="the marker's request")
        assert sorted(r.path for r in receiver.requests) == ["/hook/marker", "/hook/web"]
        req = next(r for r in receiver.requests if r.path == "/hook/web")
        assert req.path == "/hook/web"
        assert req.headers["Content-Type"] == "application/json"
        assert req.headers["X-Podbridge-Event"] == "container.died"
        assert req.headers["X-Team"] == "ops"
        assert req.headers["X-Podbridge-Signature"] == expected_signature(req.body)
        assert json.loads(req.body) == {"rule": "notify", "count": 1,
                                        "event": died.to_json()}
        action = fired.data["actions"][0]
        assert action["status"] == 204 and action["attempts"] == 1
        assert action["delivery"] == req.headers["X-Podbridge-Delivery"]


async def test_webhook_retries_a_receiver_that_fails_twice(tmp_path: Path,
                                                           receiver: Receiver) -> None:
    receiver.fail_first = 2
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("retry", receiver.url, secret=SECRET, retries=3))
        h.publish("container.died", "web", {"exit_code": 2})
        (fired,) = await h.wait_fired(1, "retry")
        assert fired.data["actions"][0]["attempts"] == 3
        assert len(receiver.requests) == 3
        # The same body, signature and delivery id on every attempt.
        assert len({r.body for r in receiver.requests}) == 1
        assert len({r.headers["X-Podbridge-Delivery"] for r in receiver.requests}) == 1
        assert all(r.headers["X-Podbridge-Signature"] == expected_signature(r.body)
                   for r in receiver.requests)
        assert h.fired(type="hook.failed") == []


async def test_webhook_gives_up_after_its_retries(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_first = 100
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("down", receiver.url, retries=1))
        h.publish("container.died", "web", {"exit_code": 2})
        (failed,) = await h.wait_fired(1, "down", "hook.failed")
        assert len(receiver.requests) == 2
        assert "HTTP 500" in failed.data["error"] and "after 2 attempts" in failed.data["error"]
        assert "X-Podbridge-Signature" not in receiver.requests[0].headers  # no secret set
        (record,) = await h.call("hooks.history", {"rule": "down"})
        assert record["kind"] == "failed" and record["actions"][0]["status"] == 500


async def test_webhook_client_error_is_not_retried(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_first, receiver.fail_status = 100, 403
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("forbidden", receiver.url, retries=3))
        h.publish("container.died", "web", {"exit_code": 2})
        (failed,) = await h.wait_fired(1, "forbidden", "hook.failed")
        assert len(receiver.requests) == 1
        assert "HTTP 403" in failed.data["error"] and "not retried" in failed.data["error"]


async def test_webhook_that_hangs_times_out(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_first, receiver.fail_status = 1, 0  # the first request never gets an answer
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("slow", receiver.url, timeout=0.3, retries=1))
        h.publish("container.died", "web", {"exit_code": 2})
        (fired,) = await h.wait_fired(1, "slow")
        assert fired.data["actions"][0]["attempts"] == 2


async def test_webhook_secret_from_the_environment(tmp_path: Path, receiver: Receiver,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET_FOR_TEST", SECRET)
    async with HooksHarness(tmp_path) as h:
        await h.add(webhook_rule("envsecret", receiver.url, secret_env="HOOK_SECRET_FOR_TEST"))
        await h.add(webhook_rule("nosecret", receiver.url, secret_env="HOOK_SECRET_UNSET"))
        h.publish("container.died", "web", {"exit_code": 2})
        await h.wait_fired(1, "envsecret")
        (failed,) = await h.wait_fired(1, "nosecret", "hook.failed")
        assert "$HOOK_SECRET_UNSET is not set" in failed.data["error"]
        (req,) = receiver.requests
        assert req.headers["X-Podbridge-Signature"] == expected_signature(req.body)
