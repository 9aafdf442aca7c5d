"""The clock jumping during a probation (NTP stepping it, someone setting the date): the
bridge runs under libfaketime, whose offset the test changes mid-probation. A jump ahead
must not end the probation early (a bad image would then be kept), a jump back must not
stretch it (a good image would wait an hour)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.images import HTTPD_V2
from bridge.tasks import within
from tests.helpers import connect, free_port, serve_bridge
from tests.integration.test_rollback_resume import CONFIG
from tests.integration.test_rollback_scenarios import (
    EXIT5,
    App,
    test_images,  # noqa: F401  (a fixture)
)
from tests.integration.test_rollback_scenarios import make_app as make_app

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
HAVE_FAKETIME = os.path.exists(FAKETIME)

# jump (seconds) -> (the new image, the outcome)
CASES = {"ahead": (3600, EXIT5, "performed"), "back": (-3600, HTTPD_V2, "passed")}


@pytest.mark.parametrize("case", list(CASES))
async def test_clock_jump_mid_probation(world: Any, make_app: Any, tmp_path: Path,
                                        case: str) -> None:
    assert HAVE_FAKETIME, "libfaketime is missing (scripts/install-deps.sh installs it)"
    jump, new, expected = CASES[case]
    app: App = make_app()
    v1 = app.running_image_id()
    state, config, offset = tmp_path / "state", tmp_path / "podbridge.toml", tmp_path / "ft"
    config.write_text(CONFIG)
    offset.write_text("+0\n")
    port = free_port()
    proc = await serve_bridge(world, state, config, port, env={
        "LD_PRELOAD": FAKETIME, "FAKETIME_TIMESTAMP_FILE": str(offset),
        "FAKETIME_NO_CACHE": "1", "FAKETIME_DONT_FAKE_MONOTONIC": "1"})
    try:
        client = await connect(f"http://127.0.0.1:{port}", state / "token")
        try:
            await asyncio.to_thread(world.podman, "tag", new, app.image)
            await client.call("rollback.watch", {
                "unit": app.unit, "image": app.image, "previous_image_id": v1,
                "probation": "15s"})
            await asyncio.to_thread(world.systemctl, "restart", app.unit)
            deadline = time.monotonic() + 60
            while True:
                [w] = [w for w in (await client.call("rollback.status"))["watches"]
                       if w["unit"] == app.unit]
                if w["active_at"] and w["containers"]:
                    break
                assert time.monotonic() < deadline, f"never on probation: {w}"
                await asyncio.sleep(0.1)
            # The jump, as the bridge sees it (its wall clock only).
            offset.write_text(f"{jump:+d}\n")
            started = time.monotonic()
            while True:
                rows = await client.call("rollback.history", {"unit": app.unit})
                if rows:
                    break
                assert time.monotonic() - started < 120, "no verdict within 2 minutes"
                await asyncio.sleep(0.2)
        finally:
            await client.close()
        [row] = rows
        assert row["kind"] == expected, row
        if expected == "passed":
            assert app.running_image_id() == app.image_id(HTTPD_V2)
        else:
            assert app.running_image_id() == v1
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await within(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        # libfaketime's shared memory of that process, which it leaves on a signal exit.
        for leftover in (f"/dev/shm/faketime_shm_{proc.pid}",
                         f"/dev/shm/sem.faketime_sem_{proc.pid}"):
            await asyncio.to_thread(lambda f=leftover: Path(f).unlink(missing_ok=True))
