"""The fleet's pure parts: its settings, the hosts view and who a fleet call runs as."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bridge.bus import Bus
from bridge.config import load_settings
from bridge.fleet.hosts import host_rows, summary_of
from bridge.fleet.link import FleetLink
from bridge.fleet.settings import FleetSettings
from bridge.state import State


def test_names_and_subjects_follow_the_contract() -> None:
    s = FleetSettings(servers=["nats://a:4222"], host="web-1", name="prod")
    assert s.joined
    assert s.stream == "podbridge-prod-events"
    assert s.event_subject("web-1", "container.died") == "podbridge.prod.evt.web-1.container.died"
    assert s.rpc_subject("web-1") == "podbridge.prod.rpc.web-1"
    assert s.bucket("heartbeat") == "podbridge-prod-heartbeat"
    assert not FleetSettings().joined


@pytest.mark.parametrize("bad, text", [
    ({"host": "web.1"}, "host 'web.1'"),
    ({"name": "a b"}, "fleet name"),
    ({"servers": ["http://x"]}, "nats://"),
    ({"user": "u", "password": "p", "token": "t"}, "one NATS credential"),
    ({"user": "u"}, "user and password go together"),
    ({"tls_cert": "/c"}, "tls_cert and tls_key"),
])
def test_bad_settings_are_refused_clearly(bad: dict[str, object], text: str) -> None:
    with pytest.raises(ValidationError) as err:
        FleetSettings.model_validate(bad)
    assert text in str(err.value)


def test_podbridge_fleet_names_the_servers(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("PODBRIDGE_FLEET", "nats://a:1, nats://b:2")
    monkeypatch.setenv("PODBRIDGE_FLEET__HOST", "h9")
    s = load_settings(str(tmp_path / "none.toml"))
    assert s.fleet.servers == ["nats://a:1", "nats://b:2"]
    assert s.fleet.host == "h9"
    conf = tmp_path / "p.toml"
    conf.write_text('[fleet]\nservers = ["nats://c:3"]\nname = "f"\nhost = "x"\n')
    monkeypatch.delenv("PODBRIDGE_FLEET")
    monkeypatch.delenv("PODBRIDGE_FLEET__HOST")
    s = load_settings(str(conf), fleet={"host": "flag"})
    assert (s.fleet.servers, s.fleet.name, s.fleet.host) == (["nats://c:3"], "f", "flag")


def test_host_rows_online_by_heartbeat_age() -> None:
    beats = {"a": {"time": 100.0, "version": "1"}, "b": {"time": 80.0}}
    summaries = {"a": {"containers": 3, "running": 2, "units": 9, "failing": ["x.service"]},
                 "c": {"containers": 1}}
    rows = {r["host"]: r for r in host_rows(beats, summaries, 15.0, now=105.0)}
    assert rows["a"]["online"] and rows["a"]["containers"] == 3
    assert rows["a"]["failing"] == ["x.service"] and rows["a"]["age"] == 5.0
    assert rows["a"]["last_seen"] == "1970-01-01T00:01:40.000000Z"
    assert not rows["b"]["online"]          # 25 s old
    assert not rows["c"]["online"] and rows["c"]["last_seen"] is None  # never beat


def test_summary_counts_containers_units_and_failing() -> None:
    state = State(Bus())
    state.containers["1"] = {"id": "1", "name": "web", "image": "i", "image_id": "x",
                             "state": "running", "labels": {"app": "demo"},
                             "unit": "web.service"}
    state.containers["2"] = {"id": "2", "name": "db", "state": "exited", "labels": {}}
    state.set_unit("web.service", {"active_state": "active"})
    state.set_unit("bad.service", {"active_state": "failed"})
    s = summary_of("h1", state)
    assert (s["containers"], s["running"], s["units"], s["failing"]) == (2, 1, 2,
                                                                          ["bad.service"])
    assert s["container_list"][1]["labels"] == {"app": "demo"}
    state.close()


def test_a_fleet_call_runs_as_the_caller_capped_by_call_role() -> None:
    link = FleetLink(FleetSettings(servers=["nats://a:1"], host="me", call_role="operator"),
                     bus=None, methods=None, state=None)
    c = link._caller({"name": "alice", "role": "admin", "host": "h2"})
    assert (c.name, c.role, c.via, c.remote) == ("alice@h2", "operator", "fleet", "h2")
    assert link._caller({"name": "v", "role": "viewer", "host": "h2"}).role == "viewer"
    assert link._caller({"role": "root"}).role == "viewer"  # unknown roles: the least


def test_the_bus_stamps_its_host_and_injects_stream_seqs() -> None:
    bus = Bus()
    sub = bus.subscribe(["**"])
    bus.publish("x.y", "bridge", "s")
    first = sub.get_nowait()
    assert first is not None and b'"host"' not in first[1]  # outside a fleet: no host
    bus.host = "h1"
    bus.publish("x.y", "bridge", "s")
    ev, raw = sub.get_nowait() or (None, b"")
    assert ev is not None and ev.host == "h1" and b'"host":"h1"' in raw
    fleet_bus = Bus()
    ev.seq = 50
    fleet_bus.inject(ev, raw)
    assert fleet_bus.seq == 50
    with pytest.raises(ValueError):
        fleet_bus.inject(ev, raw)
