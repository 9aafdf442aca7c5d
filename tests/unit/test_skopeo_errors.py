"""skopeo's stderr read into our reasons: the words of containers/image kept for Podman-style
output, our short reason for the user."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from plugins.auto_update.reference import parse_reference
from plugins.auto_update.skopeo import SkopeoClient, error_from

REF = parse_reference("127.0.0.1:40429/podbridge/app:latest")


def reason(error: str) -> str:
    """Our reason for skopeo's fatal error reading the manifest of REF."""
    exc = error_from(f'time="2026-11-29T11:00:00Z" level=fatal msg="Error reading manifest '
                     f'latest in 127.0.0.1:40429/podbridge/app: {error}"\n', REF, "the manifest")
    return str(exc)


def test_a_port_with_429_in_it_is_not_rate_limiting() -> None:
    text = reason("received unexpected HTTP status: 500 Internal Server Error")
    assert "rate-limiting" not in text and "500" in text


def test_too_many_requests_is_rate_limiting() -> None:
    assert "rate-limiting us (429)" in reason("toomanyrequests: slow down")


def test_a_deadline_is_a_timeout() -> None:
    assert reason("context deadline exceeded").startswith(
        "timeout: registry 127.0.0.1:40429 did not answer")


def test_unknown_manifest_is_not_found() -> None:
    assert "not found" in reason("manifest unknown")


async def test_a_cancelled_check_does_not_leave_skopeo_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run cancelled mid-check (the plugin stopping, a sibling unit's task failing in the
    run's TaskGroup) takes its skopeo with it, as a timeout does."""
    monkeypatch.delenv("CONTAINERS_REGISTRIES_CONF", raising=False)
    fake = tmp_path / "skopeo"
    fake.write_text("#!/bin/sh\nexec sleep 60\n")
    fake.chmod(0o755)
    started = asyncio.Event()
    procs: list[asyncio.subprocess.Process] = []
    spawn = asyncio.create_subprocess_exec

    async def recording(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        procs.append(await spawn(*args, **kwargs))
        started.set()
        return procs[0]

    monkeypatch.setattr(asyncio, "create_subprocess_exec", recording)
    check = asyncio.create_task(SkopeoClient(executable=str(fake)).run(REF, "inspect"))
    await started.wait()
    check.cancel()
    with pytest.raises(asyncio.CancelledError):
        await check
    try:
        assert procs[0].returncode is not None, "skopeo outlived the cancelled run"
    finally:
        if procs[0].returncode is None:
            procs[0].kill()
            await procs[0].wait()
