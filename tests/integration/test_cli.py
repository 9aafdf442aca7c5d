"""`podbridge call` and `podbridge events` against a real bridge on the test world; and the
store surviving a bridge restart."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from bridge.app import Bridge
from bridge.tasks import within
from tests.integration.bridgefix import base_url, start_bridge, until_stopped, wait_for

IMAGE = "localhost/podbridge/httpd:v1"


async def cli(bridge: Bridge, *args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridge", *args[:1], "--bridge", base_url(bridge),
        f"--token={bridge.token}", *args[1:],
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        out, err = await within(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_call(bridge: Bridge) -> None:
    code, out, err = await cli(bridge, "call", "bridge.status")
    assert code == 0, err
    status = json.loads(out)
    assert status["podman"]["connected"] and status["systemd"]["connected"]
    code, _, err = await cli(bridge, "call", "containers.start", '{"name": 5}')
    assert code == 1 and "invalid-params" in err and "name" in err
    code, _, err = await cli(bridge, "call", "state.get", "{not json")
    assert code == 2 and "not JSON" in err
    code, _, err = await cli(bridge, "call", "no.such.method")
    assert code == 1 and "unknown-method" in err


async def test_events(world: Any, bridge: Bridge) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridge", "events", "--bridge", base_url(bridge),
        f"--token={bridge.token}", "container.create", "--count", "1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await wait_for(lambda: bridge.bus.subscriber_count > 0, what="the CLI to subscribe")
        await asyncio.to_thread(world.podman, "create", "--name", name, IMAGE)
        out, _ = await within(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await asyncio.to_thread(world.podman, "rm", "-f", name, check=False)
    event = json.loads(out.decode().splitlines()[0])
    assert event["type"] == "container.create" and event["subject"] == name


async def test_store_and_token_survive_a_restart(world: Any, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    async with until_stopped(start_bridge(world, state, monkeypatch)) as first:
        assert first.store is not None
        first.store.put("test", "key", {"value": 42})
        first.store.append("test", "history", "web", {"result": "true"})
        token = first.token
    assert oct((state / "token").stat().st_mode & 0o777) == "0o600"
    async with until_stopped(start_bridge(world, state, monkeypatch)) as second:
        assert second.token == token
        assert second.store is not None
        assert second.store.get("test", "key") == {"value": 42}
        assert second.store.journal("test", "history")[0]["result"] == "true"
