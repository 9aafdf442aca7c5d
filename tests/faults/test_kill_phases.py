"""SIGKILL the bridge at each phase of an auto-update (registry policy) and its rollback,
start it again on the same store: the update ends in exactly one of "kept" (the unit runs
the new image, its name points at it, one ``passed``) or "rolled back" (the unit runs the
previous image, the name points at it again, one ``performed`` or ``rolled back``), never
half, never twice.

The bridge kills itself at a named point (bridge/faults.py): before the pull, after the
pull (the name already on the new image), after the watch was saved but before the restart
(the name moved, the unit not restarted), mid-restart (the job issued, its result never
read), mid-probation, and mid-rollback (after the re-tag, before the rollback's restart).
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
from bridge.tasks import within
from tests.bench.autoupdate import container_image, image_id, registries_conf, start_pushed
from tests.bench.autoupdate import remove_units as remove_bench_units
from tests.helpers import connect, free_port, plugins_off, serve_bridge, unique
from tests.integration.test_rollback_scenarios import EXIT5, build_test_images

CONFIG = """\
[plugins.rollback_watcher]
probation = {probation}
poll_interval = 0.5
[plugins.auto_update]
timer = false
tls_verify = false
registries_conf = "{registries}"
""" + plugins_off("hooks", "restart_manager", "unit_generator")

# phase -> (the new image, the outcomes allowed). EXIT5 is ready, serves, and exits after
# 5 s: within a probation of 10 s, so the watcher rolls it back itself.
PHASES = {
    "autoupdate.before_pull": (HTTPD_V2, {"rolled back"}),
    "autoupdate.after_pull": (HTTPD_V2, {"rolled back"}),
    "autoupdate.before_restart": (HTTPD_V2, {"rolled back"}),
    "autoupdate.mid_restart": (HTTPD_V2, {"kept"}),
    "rollback.mid_probation": (HTTPD_V2, {"kept"}),
    "rollback.after_retag": (EXIT5, {"rolled back"}),
}


@pytest.fixture(scope="module")
def fault_images(world: Any) -> None:
    build_test_images(world)


@pytest.mark.parametrize("phase", list(PHASES))
async def test_killed_at_each_phase_ends_kept_or_rolled_back(
        world: Any, fault_images: None, tmp_path: Path, phase: str) -> None:
    new, allowed = PHASES[phase]
    remote, unit = await asyncio.to_thread(start_pushed, world, unique("flt"), HTTPD_V1)
    state, config = tmp_path / "state", tmp_path / "podbridge.toml"
    state.mkdir()
    config.write_text(CONFIG.format(registries=registries_conf(world),
                                    probation=10 if new == EXIT5 else 4))
    procs: list[asyncio.subprocess.Process] = []
    try:
        v1 = await asyncio.to_thread(image_id, world, remote)
        await asyncio.to_thread(world.podman, "push", "--quiet", "--tls-verify=false", new,
                                remote)
        v_new = await asyncio.to_thread(image_id, world, new)
        port = free_port()
        proc = await serve_bridge(world, state, config, port, phase,
                                  log=state.parent / "bridge.log")
        procs.append(proc)
        client = await connect(f"http://127.0.0.1:{port}", state / "token")
        try:
            await client.call("autoupdate.run", {}, timeout=300)
        except Exception:
            pass        # the bridge died under the call: that is the point
        finally:
            await client.close()
        # It killed itself at the phase (for mid-probation / mid-rollback, after the run).
        rc = await within(proc.wait(), 120)
        assert rc == -signal.SIGKILL, f"the bridge did not die at {phase} (status {rc})"

        port = free_port()
        procs.append(await serve_bridge(world, state, config, port,
                                        log=state.parent / "bridge.log"))
        client = await connect(f"http://127.0.0.1:{port}", state / "token")
        try:
            outcome = await settle(client, unit.unit)
            rb = await client.call("rollback.history", {"unit": unit.unit})
            au = await client.call("autoupdate.history", {"unit": unit.unit})
        finally:
            await client.close()
        running = await asyncio.to_thread(container_image, world, unit.name)
        named = await asyncio.to_thread(image_id, world, remote)
        state_of = world.systemctl("show", "-p", "ActiveState", "--value", unit.unit)
        kinds = [r["kind"] for r in rb]
        au_results = [r.get("result") for r in au if r.get("kind") == "update"]
        facts = {"running": running[:12], "named": named[:12], "v1": v1[:12],
                 "new": v_new[:12], "rollback": kinds, "autoupdate": au_results,
                 "outcome": outcome}
        assert state_of.stdout.strip() == "active", facts
        if running == v_new:
            got = "kept"
            assert named == v_new and kinds.count("passed") == 1, facts
            assert "performed" not in kinds, facts
        else:
            got = "rolled back"
            assert running == v1 and named == v1, f"half: {facts}"
            assert "passed" not in kinds, facts
            # Undone once: by the watcher, or by the auto-update run / its reconcile.
            assert kinds.count("performed") + au_results.count("rolled back") == 1, facts
        assert got in allowed, facts
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
        await asyncio.to_thread(remove_bench_units, world, [unit])
        await asyncio.to_thread(world.podman, "rm", "-f", "--ignore", unit.name, check=False)


async def settle(client: Any, unit: str, timeout: float = 120) -> str:
    """Wait until nothing about ``unit`` is open: no watch, no auto-update intent."""
    deadline = time.monotonic() + timeout
    while True:
        status = await client.call("rollback.status")
        watching = [w for w in status["watches"] if w["unit"] == unit]
        history = await client.call("rollback.history", {"unit": unit})
        au = await client.call("autoupdate.history", {"unit": unit})
        ended = history or any(r.get("kind") == "update" for r in au)
        if not watching and ended:
            return history[0]["kind"] if history else str(au[0].get("result"))
        assert time.monotonic() < deadline, f"never settled: {watching} {history} {au}"
        await asyncio.sleep(0.2)
