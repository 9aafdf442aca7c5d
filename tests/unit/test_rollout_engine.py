"""The rollout engine alone: planning, phases, budget, deadlines, rollback (time passed in)."""

from __future__ import annotations

import pytest

from plugins.rollout.engine import Rollout, RolloutError, Spec, expected_time

HOSTS = [f"h{i}" for i in range(7)]


def rollout(**kw: object) -> Rollout:
    spec = Spec(image="reg/app:latest", selector="app=demo", probation=10,
                progress_deadline=20, **kw)  # type: ignore[arg-type]
    r = Rollout(id="r1", spec=spec, digest="reg/app@sha256:new")
    r.plan(HOSTS, now=0)
    return r


def asked(actions: list) -> list[str]:  # type: ignore[type-arg]
    return [a.host for a in actions]


def verdict(r: Rollout, state: str, now: float, *hosts: str) -> None:
    for host in hosts:
        assert r.report(host, state, now, r.hosts[host].token)


def test_plan_canary_first_then_waves_of_max_unavailable() -> None:
    r = rollout(canary=2, max_unavailable=2)
    assert r.waves == [["h0", "h1"], ["h2", "h3"], ["h4", "h5"], ["h6"]]
    assert r.phase == "canary"
    assert {h.state for h in r.hosts.values()} == {"pending"}


def test_plan_refuses_bad_specs() -> None:
    for kw, text in [({"canary": 0}, "canary"), ({"max_unavailable": 0}, "max_unavailable"),
                     ({"failure_budget": -1}, "failure_budget")]:
        with pytest.raises(RolloutError, match=text):
            rollout(**kw)
    r = Rollout(id="x", spec=Spec(image="i", selector="nolabel"))
    with pytest.raises(RolloutError, match="LABEL=VALUE"):
        r.plan(HOSTS, 0)
    r = Rollout(id="x", spec=Spec(image="i", selector="a=b"))
    with pytest.raises(RolloutError, match="no host"):
        r.plan([], 0)


def test_a_good_rollout_goes_canary_then_each_wave_then_done() -> None:
    r = rollout(canary=1, max_unavailable=3)
    online = set(HOSTS)
    assert asked(r.step(1, online)) == ["h0"]
    assert asked(r.step(2, online)) == []          # the canary has no verdict yet
    verdict(r, "passed", 11, "h0")
    assert asked(r.step(11, online)) == ["h1", "h2", "h3"]
    assert r.phase == "wave" and r.wave == 1
    verdict(r, "passed", 21, "h1", "h2", "h3")
    assert asked(r.step(21, online)) == ["h4", "h5", "h6"]
    verdict(r, "passed", 31, "h4", "h5", "h6")
    assert r.step(31, online) == []
    assert r.phase == "done"
    assert set(r.summary()["hosts"].values()) == {"passed"}
    assert [e["phase"] for e in r.history] == ["canary", "wave", "done"]


def test_a_failed_canary_halts_and_reverts_only_hosts_that_took_the_digest() -> None:
    r = rollout(canary=2, max_unavailable=2, failure_budget=5)
    online = set(HOSTS)
    r.step(1, online)
    verdict(r, "rolled-back", 5, "h0")     # its own watcher rolled it back
    actions = r.step(5, online)
    # h1 is still updating: it may hold the new digest, so it is reverted.
    assert [(a.kind, a.host) for a in actions] == [("revert", "h1")]
    assert r.phase == "rolling-back"
    assert [e["phase"] for e in r.history] == ["canary", "halted", "rolling-back"]
    assert all(r.hosts[h].state == "skipped" for h in HOSTS[2:])
    assert r.report("h1", "reverted", 6, r.hosts["h1"].revert_token)
    assert r.step(6, online) == []
    assert r.phase == "rolled-back"
    assert r.summary()["hosts"]["h0"] == "rolled-back"


def test_failures_over_the_budget_in_a_wave_roll_back_every_passed_host() -> None:
    r = rollout(canary=1, max_unavailable=2, failure_budget=1)
    online = set(HOSTS)
    r.step(0, online)
    verdict(r, "passed", 10, "h0")
    r.step(10, online)
    verdict(r, "failed", 12, "h1")           # 1 failure: within the budget
    verdict(r, "passed", 20, "h2")
    assert asked(r.step(20, online)) == ["h3", "h4"]
    verdict(r, "rolled-back", 25, "h3")       # 2 > 1: halt
    actions = r.step(25, online)
    assert r.phase == "rolling-back"
    assert sorted((a.kind, a.host) for a in actions) == [
        ("revert", "h0"), ("revert", "h1"), ("revert", "h2"), ("revert", "h4")]
    assert r.hosts["h5"].state == "skipped" and r.hosts["h3"].state == "rolled-back"


def test_a_host_silent_past_the_deadline_counts_as_failed() -> None:
    r = rollout(canary=1, max_unavailable=2)
    r.step(0, set(HOSTS))
    r.host_seen("h0", 5, r.hosts["h0"].token)
    r.step(24, set(HOSTS))                    # silent 19 s: not yet
    assert r.phase == "canary"
    actions = r.step(26, set(HOSTS))          # silent 21 s > 20
    # Timed out, so maybe on the new digest: it is reverted at once.
    assert [(a.kind, a.host) for a in actions] == [("revert", "h0")]
    assert r.hosts["h0"].state == "reverting" and "silent" in r.hosts["h0"].reason
    assert r.phase == "rolling-back"
    assert "h0 timed-out (silent for 21s)" in r.reason


def test_a_host_answering_but_without_verdict_past_probation_and_deadline_fails() -> None:
    r = rollout(canary=1)
    r.step(0, set(HOSTS))
    for t in range(5, 31, 5):
        r.host_seen("h0", t, r.hosts["h0"].token)
        r.step(t, set(HOSTS))
    assert r.phase == "canary"                # 30 = probation 10 + deadline 20
    r.host_seen("h0", 31, r.hosts["h0"].token)
    r.step(31, set(HOSTS))
    assert r.hosts["h0"].state == "reverting" and "after its probation" in r.reason


def test_an_offline_host_is_deferred_and_caught_up_when_it_returns() -> None:
    r = rollout(canary=1, max_unavailable=3)
    online = set(HOSTS) - {"h2"}
    r.step(0, online)
    verdict(r, "passed", 10, "h0")
    assert asked(r.step(10, online)) == ["h1", "h3"]
    assert r.hosts["h2"].state == "deferred"
    verdict(r, "passed", 20, "h1", "h3")
    assert asked(r.step(20, online)) == ["h4", "h5", "h6"]
    verdict(r, "passed", 30, "h4", "h5", "h6")
    assert r.step(30, online) == [] and r.phase == "wave"   # waits for h2
    assert asked(r.step(40, set(HOSTS))) == ["h2"]
    verdict(r, "passed", 50, "h2")
    r.step(50, set(HOSTS))
    assert r.phase == "done"


def test_reports_about_old_tokens_or_after_a_verdict_change_nothing() -> None:
    r = rollout()
    r.step(0, set(HOSTS))
    assert not r.report("h0", "failed", 1, "r1/u/other")
    verdict(r, "passed", 10, "h0")
    assert not r.report("h0", "failed", 11, r.hosts["h0"].token)
    assert r.hosts["h0"].state == "passed"


def test_halt_resume_and_rollback_by_hand() -> None:
    r = rollout(canary=1, max_unavailable=2)
    r.step(0, set(HOSTS))
    verdict(r, "passed", 10, "h0")
    r.step(10, set(HOSTS))
    r.halt(11)
    assert r.phase == "halted"
    assert r.step(12, set(HOSTS)) == []          # halted: nobody new is asked
    with pytest.raises(RolloutError, match="only a running"):
        r.halt(12)
    r.resume(13)
    assert r.phase == "wave"
    r.rollback(14)
    actions = r.step(14, set(HOSTS))
    assert sorted(a.host for a in actions) == ["h0", "h1", "h2"]
    with pytest.raises(RolloutError, match="already"):
        r.rollback(15)
    with pytest.raises(RolloutError, match="not halted"):
        r.resume(15)


def test_the_record_survives_json() -> None:
    r = rollout(canary=2)
    r.step(0, set(HOSTS))
    again = Rollout.from_json(r.to_json())
    assert again == r


def test_expected_time() -> None:
    assert expected_time(1000, 1, 50, 2.0) == (1 + 20) * 2.0
