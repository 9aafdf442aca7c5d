"""The restart manager's engine, fed events as Podman 4.3 writes them (time passed in)."""

from __future__ import annotations

from typing import Any

import pytest

from plugins.restart_manager.backoff import BackoffPolicy
from plugins.restart_manager.engine import (
    Effect,
    Engine,
    EngineConfig,
    PersistUserStop,
    Publish,
    user_stop_in_record,
)

CID = "c" * 64
MANAGED = {"io.podbridge.restart": "on-failure:3"}


def engine(**kw: Any) -> Engine:
    return Engine(EngineConfig(backoff=BackoffPolicy(base=1, cap=300, reset_after=600), **kw))


def ev(e: Engine, action: str, now: float, name: str = "web", labels: dict[str, str] |
       None = None, podman: str = "no", **data: Any) -> list[Effect]:
    payload = {"id": CID, "labels": labels if labels is not None else MANAGED, **data}
    e.set_podman_policy(name, podman)
    return e.on_container(action, name, payload, now)


def published(effects: list[Effect]) -> list[tuple[str, dict[str, Any]]]:
    return [(x.type, x.data) for x in effects if isinstance(x, Publish)]


def types(effects: list[Effect]) -> list[str]:
    return [t for t, _ in published(effects)]


def run_attempt(e: Engine, now: float, name: str = "web") -> None:
    """The plugin's timer: begin, start, the start event, finish."""
    rec = e.records[name]
    assert rec.pending is not None
    token = rec.pending.token
    assert e.begin(name, token, now) is not None
    assert ev(e, "start", now + 0.1, name) == [PersistUserStop(CID, name, False, "start")]
    assert types(e.finish(name, token, now + 0.2)) == ["restart.performed"]


@pytest.fixture
def e() -> Engine:
    """An engine that saw the managed container web start at 0."""
    e = engine()
    ev(e, "start", 0)
    return e


def test_on_failure_backs_off_then_gives_up() -> None:
    e = engine()
    ev(e, "create", 0)
    ev(e, "start", 0)
    seen = []
    now = 1.0
    for _ in range(4):
        effects = ev(e, "died", now, exit_code=1)
        seen += published(effects)
        rec = e.records["web"]
        if rec.pending is not None:
            assert e.status("web", now)["next_in"] == rec.pending.delay
            now = rec.pending.due
            run_attempt(e, now)
        now += 0.5
    assert [(t, d.get("attempt"), d.get("delay")) for t, d in seen] == [
        ("restart.scheduled", 1, 1.0), ("restart.scheduled", 2, 2.0),
        ("restart.scheduled", 3, 4.0), ("restart.gave_up", None, None)]
    assert seen[-1][1] == {"reason": "exit", "exit_code": 1, "policy": "on-failure:3",
                           "attempts": 3}
    status = e.status("web", now)
    assert status["restart_count"] == 3 and status["gave_up"] and status["next_in"] is None
    assert status["last_exit_code"] == 1
    # A user start is a fresh run.
    ev(e, "start", now + 5)
    assert not e.status("web", now + 5)["gave_up"]
    assert e.records["web"].backoff.attempts == 0


def test_exit_zero_under_on_failure_is_left_alone(e: Engine) -> None:
    effects = ev(e, "died", 1, exit_code=0)
    assert types(effects) == [] and e.records["web"].pending is None


def test_always_restarts_a_clean_exit() -> None:
    e = engine()
    ev(e, "start", 0, labels={"io.podbridge.restart": "always"})
    assert types(ev(e, "died", 1, labels={"io.podbridge.restart": "always"}, exit_code=0)) \
        == ["restart.scheduled"]


def test_stop_then_died_is_a_user_stop(e: Engine) -> None:
    assert ev(e, "stop", 1) == [PersistUserStop(CID, "web", True, "stop")]
    assert ev(e, "died", 1.1, exit_code=143) == []
    assert e.records["web"].pending is None


def test_died_then_stop_cancels_the_restart(e: Engine) -> None:
    assert types(ev(e, "died", 1, exit_code=143)) == ["restart.scheduled"]
    effects = ev(e, "stop", 1.05)
    assert published(effects) == [("restart.cancelled", {"attempt": 1,
                                                         "reason": "user-stop"})]
    assert PersistUserStop(CID, "web", True, "stop") in effects
    assert e.records["web"].pending is None


def test_kill_then_died_is_a_user_stop_but_a_late_death_is_not() -> None:
    e = engine(kill_window=10)
    ev(e, "start", 0)
    ev(e, "kill", 1)
    assert types(ev(e, "died", 1.2, exit_code=137)) == []
    assert e.records["web"].user_stopped
    ev(e, "start", 20)
    assert not e.records["web"].user_stopped
    ev(e, "kill", 21)  # say, SIGHUP: it lives on, and dies by itself much later
    assert types(ev(e, "died", 40, exit_code=2)) == ["restart.scheduled"]


def test_died_then_kill_within_the_window_is_a_user_stop(e: Engine) -> None:
    ev(e, "died", 1, exit_code=137)
    assert "restart.cancelled" in types(ev(e, "kill", 1.1))
    assert e.records["web"].user_stopped


def test_own_start_keeps_the_count_a_foreign_start_resets_it(e: Engine) -> None:
    ev(e, "died", 1, exit_code=1)
    run_attempt(e, 2)
    assert e.records["web"].backoff.attempts == 1
    ev(e, "died", 3, exit_code=1)
    assert e.records["web"].pending is not None
    effects = ev(e, "start", 3.5)  # the user was quicker
    assert published(effects) == [("restart.cancelled", {"attempt": 2, "reason": "started"})]
    assert e.records["web"].backoff.attempts == 0


def test_restart_is_not_a_crash(e: Engine) -> None:
    ev(e, "restart", 1)
    assert ev(e, "died", 1.1, exit_code=0) == []
    ev(e, "init", 1.2)
    ev(e, "start", 1.3)
    assert e.records["web"].crash.recent(2) == 0


def test_podman_always_loop_raises_one_crashloop() -> None:
    e = engine(crashloop_count=5, crashloop_window=60)
    labels: dict[str, str] = {}
    out: list[str] = []
    now = 0.0
    for _ in range(12):  # Podman's own loop: start, died, restart, start ...
        e.set_podman_policy("loop", "always")
        out += types(e.on_container("start", "loop", {"id": CID, "labels": labels}, now))
        out += types(e.on_container("died", "loop", {"id": CID, "labels": labels,
                                                     "exit_code": 1}, now + 0.05))
        out += types(e.on_container("restart", "loop", {"id": CID, "labels": labels},
                                    now + 0.06))
        now += 0.1
    assert out == ["restart.crashloop"]
    assert e.crashlooping("loop", now)
    assert not e.crashlooping("loop", now + 61)
    assert e.records["loop"].pending is None  # Podman restarts it, not us


def test_label_ignored_when_podman_restarts_it_itself(e: Engine) -> None:
    assert types(ev(e, "died", 1, podman="always", exit_code=1)) == []
    assert e.records["web"].conflict == "Podman's own restart policy always applies"


def test_unit_containers_count_nrestarts_not_deaths() -> None:
    e = engine(crashloop_count=3, crashloop_window=60)
    labels = {"PODMAN_SYSTEMD_UNIT": "web.service", **MANAGED}
    e.on_container("start", "web", {"id": CID, "labels": labels}, 0)
    for t in range(5):
        assert types(e.on_container("died", "web", {"id": CID, "labels": labels,
                                                    "exit_code": 1}, t)) == []
    assert e.records["web"].pending is None  # systemd owns it
    out = []
    for t, n in enumerate((0, 1, 2, 3, 4)):
        out += published(e.on_unit_state("web.service", {"n_restarts": n,
                                                          "active_state": "activating"}, t))
    assert [(t, d["unit"], d["reason"]) for t, d in out] == [
        ("restart.crashloop", "web.service", "n-restarts")]
    assert e.crashlooping("web", 4)
    assert e.on_unit_state("other.service", {"n_restarts": 9}, 5) == []


def test_start_limit_hit_is_a_crashloop_at_once() -> None:
    e = engine()
    e.note_unit("db.service", "db")
    effects = e.on_unit_state("db.service", {"n_restarts": 0, "active_state": "failed",
                                             "result": "start-limit-hit"}, 1)
    assert [(x.subject, x.data["reason"]) for x in effects if isinstance(x, Publish)] == [
        ("db", "start-limit-hit")]


def test_unhealthy_restarts_once_per_episode() -> None:
    e = engine()
    labels = {"io.podbridge.restart-on": "unhealthy"}
    ev(e, "start", 0, labels=labels)
    assert ev(e, "health_status", 1, labels=labels, health="healthy") == []
    effects = ev(e, "health_status", 2, labels=labels, health="unhealthy")
    assert published(effects)[0][1]["action"] == "restart"
    assert ev(e, "health_status", 2.5, labels=labels, health="unhealthy") == []
    rec = e.records["web"]
    assert rec.pending is not None
    token = rec.pending.token
    assert e.begin("web", token, 3) is not None
    # podman restart: restart, died, init, start: none of it a crash or a user act.
    assert ev(e, "restart", 3.1, labels=labels)[0] == PersistUserStop(CID, "web", False,
                                                                      "restart")
    assert ev(e, "stop", 3.15, labels=labels) == []  # the REST API's restart writes one
    assert ev(e, "died", 3.2, labels=labels, exit_code=0) == []
    assert ev(e, "cleanup", 3.21, labels=labels) == []
    assert ev(e, "cleanup", 3.22, labels=labels) == []
    assert not rec.user_stopped
    ev(e, "start", 3.3, labels=labels)
    assert types(e.finish("web", token, 3.4)) == ["restart.performed"]
    assert rec.crash.recent(4) == 0 and rec.backoff.attempts == 1


def test_failed_start_is_retried_with_backoff(e: Engine) -> None:
    ev(e, "died", 1, exit_code=1)
    token = e.records["web"].pending.token  # type: ignore[union-attr]
    e.begin("web", token, 2)
    effects = e.finish("web", token, 2.1, error="boom")
    assert [(t, d.get("attempt")) for t, d in published(effects)] == [
        ("restart.failed", 1), ("restart.scheduled", 2)]


def test_reset_and_remove(e: Engine) -> None:
    ev(e, "died", 1, exit_code=1)
    token = e.records["web"].pending.token  # type: ignore[union-attr]
    assert types(e.reset("web")) == ["restart.cancelled", "restart.reset"]
    assert e.begin("web", token, 2) is None
    assert e.status("web", 2)["restart_count"] == 0
    ev(e, "died", 3, exit_code=1)
    token = e.records["web"].pending.token  # type: ignore[union-attr]
    assert ev(e, "remove", 3.5) == [PersistUserStop(CID, "web", None, "remove")]
    assert e.begin("web", token, 4) is None
    assert "web" not in e.records


def test_a_new_container_under_the_same_name_starts_clean(e: Engine) -> None:
    ev(e, "died", 1, exit_code=1)
    e.on_container("create", "web", {"id": "d" * 64, "labels": MANAGED}, 2)
    assert e.records["web"].cid == "d" * 64 and e.records["web"].pending is None


def test_a_second_cleanup_is_the_stoppers_own(e: Engine) -> None:
    """Podman 4.3 often writes no stop event; the stopper's cleanup follows conmon's."""
    assert types(ev(e, "died", 1, exit_code=0, labels={"io.podbridge.restart": "always"})) \
        == ["restart.scheduled"]
    assert ev(e, "cleanup", 1.1) == []  # conmon's: a crash has this one only
    effects = ev(e, "cleanup", 1.2)
    assert types(effects) == ["restart.cancelled"]
    assert PersistUserStop(CID, "web", True, "stop") in effects
    assert ev(e, "cleanup", 1.3) == []  # idempotent


def test_a_crash_persists_nothing(e: Engine) -> None:
    effects = ev(e, "died", 1, exit_code=1)
    assert not [x for x in effects if isinstance(x, PersistUserStop)]
    ev(e, "cleanup", 1.1)
    assert not e.records["web"].user_stopped


# -- the decision-time verdict from Podman's own record of events
def _raw(action: str, at_s: float, cid: str = "c1") -> dict[str, Any]:
    return {"Type": "container", "Action": action, "timeNano": int(at_s * 1e9),
            "Actor": {"ID": cid, "Attributes": {"name": "web"}}}


DIED = int(100 * 1e9)


@pytest.mark.parametrize(("written", "verdict"), [
    pytest.param([("start", 90), ("died", 100), ("cleanup", 100.2), ("cleanup", 100.9)],
                 "stop", id="with_the_stoppers_second_cleanup_is_a_user_stop"),
    pytest.param([("died", 100), ("stop", 100.001), ("cleanup", 100.2)], "stop",
                 id="with_a_stop_event_is_a_user_stop_whatever_its_place"),
    pytest.param([("kill", 99.5), ("died", 100), ("cleanup", 100.2)], "kill",
                 id="with_a_kill_just_before_is_a_user_kill"),
    # A kill long before the death is not this death's cause.
    pytest.param([("kill", 80), ("died", 100), ("cleanup", 100.2)], None,
                 id="with_a_kill_long_before_is_no_user_kill"),
    pytest.param([("start", 90), ("died", 100), ("cleanup", 100.2)], None,
                 id="of_a_crash_is_no_user_stop"),
    # One cleanup handed twice is not the stopper's second cleanup.
    pytest.param([("died", 100), ("cleanup", 100.2), ("cleanup", 100.2)], None,
                 id="repeated_by_a_rotating_log_is_counted_once"),
    pytest.param([("died", 50), ("stop", 50.1), ("cleanup", 50.2), ("cleanup", 50.3),
                  ("start", 60), ("died", 100), ("cleanup", 100.2)], None,
                 id="of_an_earlier_stop_then_a_new_death_is_judged_by_the_new_one"),
    pytest.param([("died", 100), ("cleanup", 100.2), ("cleanup", 100.3), ("start", 101)],
                 None, id="started_again_since_the_death_is_no_user_stop"),
])
def test_record(written: list[tuple[str, float]], verdict: str | None) -> None:
    assert user_stop_in_record([_raw(a, t) for a, t in written], DIED, 10) == verdict
