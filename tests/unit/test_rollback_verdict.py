"""The probation verdict, with time injected: every path to passed and to failed."""

from __future__ import annotations

import pytest

from plugins.rollback_watcher.verdict import (
    FAILED,
    PASSED,
    PENDING,
    Probation,
    probation_from_labels,
)

T0 = 1_000_000.0
NEW = "a" * 64
OLD = "b" * 64


RUN = "c" * 32          # the InvocationID of the restarted unit


def started(probation: float = 10.0, **kw: float) -> Probation:
    """A restart whose job is done and whose unit is read active at T0 + 1."""
    p = Probation(begun_at=T0, probation=probation, n_restarts=0, **kw)
    p.unit_state("activating", "start", 0, T0 + 0.5, "d" * 32)
    p.job_done("done", T0 + 1)
    p.unit_state("active", "running", 0, T0 + 1, RUN)
    p.set_containers([NEW], [])
    return p


def read_active(p: Probation, now: float, n_restarts: int = 0) -> None:
    """A read of the unit, still active in the same run."""
    p.unit_state("active", "running", n_restarts, now, RUN)


def assert_fails(p: Probation, now: float, why: str) -> None:
    v = p.verdict(now)
    assert v.outcome == FAILED and why in v.reason, v


def test_probation_label() -> None:
    assert probation_from_labels({"io.podbridge.rollback.probation": "4s"}) == 4.0
    assert probation_from_labels({"io.podbridge.rollback.probation": "soon"}) is None
    assert probation_from_labels({}) is None and probation_from_labels(None) is None


def test_good_restart_passes_after_the_window_not_before() -> None:
    p = started(10)
    assert p.active_at == T0 + 1
    assert p.verdict(T0 + 5).outcome == PENDING
    assert p.verdict(T0 + 10.9).outcome == PENDING
    # The window has closed, but a pass is decided on a read made after it.
    assert p.verdict(T0 + 11).outcome == PENDING and p.needs_read(T0 + 11)
    read_active(p, T0 + 11)
    assert p.verdict(T0 + 11).outcome == PASSED
    # A verdict is final.
    p.unit_state("failed", "failed", 3, T0 + 12)
    assert p.verdict(T0 + 12).outcome == PASSED


def test_probation_starts_when_both_job_done_and_active_whatever_the_order() -> None:
    p = Probation(begun_at=T0, probation=5)
    p.job_done("done", T0 + 2)
    assert p.active_at is None
    p.unit_state("active", "running", 0, T0 + 3)
    assert p.active_at == T0 + 3
    p.unit_state("active", "running", 0, T0 + 8)
    assert p.verdict(T0 + 7.9).outcome == PENDING and p.verdict(T0 + 8).outcome == PASSED


def test_a_read_before_the_job_ended_does_not_begin_the_probation() -> None:
    """Under load the read of the old, still active unit can be handled after JobRemoved:
    it must not start the window (a later ``activating`` would then look like a crash)."""
    p = Probation(begun_at=T0, probation=5, n_restarts=0)
    p.unit_state("active", "running", 0, T0 + 0.1, "d" * 32)   # the old run
    p.job_done("done", T0 + 2)
    assert p.active_at is None
    p.unit_state("active", "running", 0, T0 + 2.1, RUN)
    assert p.active_at == T0 + 2.1 and p.invocation == RUN
    p.unit_state("active", "running", 0, T0 + 7.1, RUN)
    assert p.verdict(T0 + 7.1).outcome == PASSED


def test_a_new_invocation_during_probation_fails() -> None:
    """Started again between two reads (a restart by hand, a crash and quick restart):
    the InvocationID tells, even if every read says active."""
    p = started(10)
    p.unit_state("active", "running", 0, T0 + 5, "e" * 32)
    assert_fails(p, T0 + 5, "started again")


@pytest.mark.parametrize("result", ["failed", "timeout", "canceled", "dependency", "skipped"])
def test_job_not_done_fails_at_once(result: str) -> None:
    p = Probation(begun_at=T0)
    p.job_done(result, T0 + 1)
    assert_fails(p, T0 + 1, repr(result))


def test_restart_always_loop_fails_on_auto_restart_without_ever_failing() -> None:
    """activating/auto-restart, never failed: the sub-state and NRestarts give it away."""
    p = Probation(begun_at=T0, n_restarts=0)
    p.unit_state("activating", "start", 0, T0 + 0.2)
    assert p.verdict(T0 + 0.2).outcome == PENDING
    p.unit_state("activating", "auto-restart", 0, T0 + 0.5)
    assert_fails(p, T0 + 0.5, "auto-restart")


def test_rise_of_nrestarts_fails_even_after_a_reset_to_zero() -> None:
    p = Probation(begun_at=T0, n_restarts=3)   # before the update
    p.job_done("done", T0 + 1)
    p.unit_state("active", "running", 0, T0 + 1, RUN)  # an explicit restart flushed it
    assert p.verdict(T0 + 2).outcome == PENDING
    p.unit_state("active", "running", 1, T0 + 4, RUN)
    assert_fails(p, T0 + 4, "NRestarts 0 -> 1")


def test_ready_then_exit_fails_within_the_window() -> None:
    p = started(30)
    p.died(NEW, 1, T0 + 6)
    assert_fails(p, T0 + 6, "died (exit code 1)")


def test_the_old_containers_death_does_not_count() -> None:
    """Podman's events come on their own stream: the old container's died can come late."""
    p = started(10)
    p.died(OLD, 0, T0 + 1.5)
    read_active(p, T0 + 11)
    assert p.verdict(T0 + 11).outcome == PASSED


def test_leaving_active_during_probation_fails() -> None:
    p = started(10)
    p.unit_state("deactivating", "stop-sigterm", None, T0 + 3)
    assert_fails(p, T0 + 3, "left active")


def test_failed_state_during_the_restart_is_no_verdict() -> None:
    """A restart queued while the unit still goes down from a crash passes ``failed``."""
    p = Probation(begun_at=T0, probation=5, n_restarts=0)
    p.unit_state("failed", "failed", 0, T0 + 1)
    p.unit_state("activating", "start", 0, T0 + 1.5)
    p.job_done("done", T0 + 2)
    p.unit_state("active", "running", 0, T0 + 2)
    p.unit_state("active", "running", 0, T0 + 7)
    assert p.verdict(T0 + 7).outcome == PASSED


def test_no_job_result_times_out() -> None:
    p = Probation(begun_at=T0, job_timeout=60)
    assert p.verdict(T0 + 59).outcome == PENDING
    assert p.next_deadline(T0 + 59) == T0 + 60
    assert_fails(p, T0 + 61, "no result of the restart job")


def test_health_check_must_report_healthy() -> None:
    p = started(10, health_grace=5)
    p.set_containers([NEW], [NEW])
    p.health_status(NEW, "starting", T0 + 2)
    read_active(p, T0 + 11)
    assert p.verdict(T0 + 11).outcome == PENDING       # in the grace
    assert p.next_deadline(T0 + 11) == T0 + 16
    p.health_status(NEW, "healthy", T0 + 12)
    assert p.verdict(T0 + 12).outcome == PASSED


def test_health_check_still_starting_after_the_grace_fails() -> None:
    p = started(10, health_grace=5)
    p.set_containers([NEW], [NEW])
    read_active(p, T0 + 16.5)
    assert_fails(p, T0 + 16.5, "did not report healthy")


def test_unhealthy_fails_at_once() -> None:
    p = started(10)
    p.set_containers([NEW], [NEW])
    p.health_status(NEW, "unhealthy", T0 + 3)
    assert_fails(p, T0 + 3, "unhealthy")


def test_container_without_health_check_is_not_waited_for() -> None:
    p = started(10)
    p.set_containers([NEW], [])
    p.health_status(NEW, "starting", T0 + 2)
    read_active(p, T0 + 11)
    assert p.verdict(T0 + 11).outcome == PASSED


def test_round_trip_resumes_the_same_judgement() -> None:
    p = started(10)
    p.set_containers([NEW], [NEW])
    p.health_status(NEW, "healthy", T0 + 2)
    q = Probation.from_json(p.to_json())
    assert q == p
    assert q.verdict(T0 + 5).outcome == PENDING
    q.unit_state("active", "running", 1, T0 + 6)
    assert q.verdict(T0 + 6).outcome == FAILED
