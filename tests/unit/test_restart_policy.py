"""The restart manager's policy parsing and its boot decisions, table by table."""

from __future__ import annotations

import pytest

from plugins.restart_manager.policy import (
    BootCandidate,
    ManagedPolicy,
    PolicyError,
    boot_decision,
    managed_policy,
    parse_managed_policy,
    restarts_on_unhealthy,
    wants_restart,
)


@pytest.mark.parametrize(("text", "policy"), [
    ("always", ManagedPolicy("always")),
    ("ALWAYS ", ManagedPolicy("always")),
    ("on-failure", ManagedPolicy("on-failure", 0)),
    ("on-failure:3", ManagedPolicy("on-failure", 3)),
    ("on-failure:0", ManagedPolicy("on-failure", 0)),
])
def test_parse_managed_policy(text: str, policy: ManagedPolicy) -> None:
    assert parse_managed_policy(text) == policy


@pytest.mark.parametrize("text", ["no", "unless-stopped", "always:3", "on-failure:x",
                                  "on-failure:-1", ""])
def test_parse_managed_policy_rejects(text: str) -> None:
    with pytest.raises(PolicyError):
        parse_managed_policy(text)


def test_labels() -> None:
    assert str(ManagedPolicy("on-failure", 3)) == "on-failure:3"
    assert managed_policy({"io.podbridge.restart": "bogus"}) is None
    assert managed_policy({}) is None
    assert restarts_on_unhealthy({"io.podbridge.restart-on": "unhealthy"})
    assert not restarts_on_unhealthy({"io.podbridge.restart-on": "healthy"})
    assert wants_restart(ManagedPolicy("always"), 0)
    assert not wants_restart(ManagedPolicy("on-failure"), 0)
    assert wants_restart(ManagedPolicy("on-failure"), 1)
    assert wants_restart(ManagedPolicy("on-failure"), None)


def cand(policy: str | None, state: str = "created", *, started: bool = True,
         stopped: bool | None = None, labels: dict[str, str] | None = None) -> BootCandidate:
    return BootCandidate("c", state, started, policy, labels or {}, stopped)


UNIT = {"PODMAN_SYSTEMD_UNIT": "c.service"}


@pytest.mark.parametrize(("candidate", "start", "reason"), [
    # Taken down by the reboot (Podman shows them created, though they ran).
    (cand("always"), True, "always"),
    (cand("unless-stopped"), True, "unless-stopped"),
    (cand("no"), False, "policy-no"),
    (cand(None), False, "policy-no"),
    (cand("on-failure:3"), False, "policy-on-failure"),
    # Exited before the reboot.
    (cand("always", "exited", stopped=True), True, "always"),
    (cand("unless-stopped", "exited", stopped=True), False, "user-stopped"),
    (cand("unless-stopped", "exited", stopped=False), True, "unless-stopped"),
    (cand("unless-stopped", "exited"), False, "user-stopped-inferred"),
    (cand("on-failure", "exited", stopped=False), False, "policy-on-failure"),
    # Never to be touched.
    (cand("always", labels=UNIT), False, "systemd-unit"),
    (cand("always", "running"), False, "running"),
    (cand("always", started=False), False, "never-started"),
    # The manager's label is the policy when Podman's is no.
    (cand("no", labels={"io.podbridge.restart": "always"}), True, "always"),
    (cand("no", labels={"io.podbridge.restart": "on-failure:2"}), False,
     "policy-on-failure"),
    (cand("unless-stopped", labels={"io.podbridge.restart": "always"}), True,
     "unless-stopped"),
])
def test_boot_decision(candidate: BootCandidate, start: bool, reason: str) -> None:
    assert tuple(boot_decision(candidate)) == (start, reason)


def test_conservative_boot_never_starts_an_exited_container() -> None:
    assert boot_decision(cand("always"), conservative=True).start
    assert boot_decision(cand("unless-stopped", stopped=False), conservative=True).start
    for c in (cand("always", "exited"), cand("unless-stopped", "exited", stopped=False)):
        assert boot_decision(c, conservative=True) == (False, "exited-before-bridge-start")
