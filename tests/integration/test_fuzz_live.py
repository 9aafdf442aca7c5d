"""A short run of `make fuzz` inside `make test` (issue 18): a live bridge on the test world
attacked for 20 s with random and malformed frames, huge and deeply nested JSON, invalid
UTF-8, half-closed sockets and a flood of connections that never authenticate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from tests.fuzz.run import LiveBridge, finish, fuzz, report
from tests.helpers import free_port
from tests.integration.bridgefix import refused, wait_for

pytestmark = pytest.mark.world


async def test_a_short_fuzz_run_finds_nothing(world: Any, tmp_path: Path) -> None:
    bridge = LiveBridge(world, tmp_path / "state", free_port()).start()
    try:
        summary = await fuzz(bridge, duration=20, seed=18, flood_size=300)
    finally:
        code = bridge.stop()
    ok = finish(summary, bridge, code)
    report(summary, ok)
    assert summary["inputs_total"] > 1000, summary["inputs"]
    assert {"ws text message", "raw malformed frame", "rest request",
            "unauthenticated connection"} <= set(summary["inputs"])
    assert not summary["anomalies"], summary["anomalies"][:10]
    assert not summary["log_findings"], summary["log_findings"][:10]
    assert summary["alive"] and summary["answering"] and code == 0
    assert summary["memory_bounded"], summary["rss_kib"]
    assert ok


def examples(strategy: Any, n: int) -> list[Any]:
    """``n`` inputs drawn by Hypothesis (generation only: the calls are async and go to a
    live bridge, so they are made afterwards)."""
    drawn: list[Any] = []

    @settings(max_examples=n, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def draw(x: Any) -> None:
        drawn.append(x)

    draw()
    return drawn


async def test_every_methods_params_over_the_websocket(world: Any, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Every method of a bridge with all its plugins, with params drawn from its own
    schema's keys and any JSON values: reads run as a viewer and answer clearly (never an
    internal-error); changes are refused to a viewer, and params that fail validation are
    refused to an admin before anything runs."""
    from bridge.plugin import discover
    from tests.integration.bridgefix import base_url, start_bridge, until_stopped
    from tests.unit.test_protocol_properties import json_values

    async with until_stopped(start_bridge(world, tmp_path / "state", monkeypatch,
                                          plugins=discover())) as bridge:
        assert bridge.auth is not None and bridge.plugins is not None
        await wait_for(lambda: all(p["state"] in ("running", "disabled")
                                   for p in bridge.plugins.list()), what="the plugins")
        viewer = bridge.auth.credentials.add("prop-viewer", "viewer")
        tried = 0
        async with BridgeClient(base_url(bridge), viewer) as v, \
                BridgeClient(base_url(bridge), bridge.token) as admin:
            for method in bridge.methods.list():
                keys = list(method.params.model_json_schema().get("properties", {}))
                strategy = st.dictionaries(st.sampled_from([*keys, "unknown"]), json_values,
                                           max_size=len(keys) + 1)
                for params in examples(strategy, 25):
                    tried += 1
                    if method.readonly:
                        try:
                            await v.call(method.name, params)
                        except BridgeError as exc:
                            assert exc.code != "internal-error", (method.name, params, exc)
                            assert exc.message
                        continue
                    info = await refused(v, method.name, params)
                    assert info.code == "access-denied", (method.name, params)
                    try:
                        method.params.model_validate(params)
                    except ValidationError:
                        info = await refused(admin, method.name, params)
                        assert info.code == "invalid-params", (method.name, params)
        print(f"\n{tried} params tried over {len(bridge.methods.list())} methods")
        assert tried >= 25 * 20
