"""Restart policies: the labels the manager reads, and who restarts what at boot (pure).

Podman's own policies (``HostConfig.RestartPolicy``) are evaluated by Podman at every exit;
the manager only adds what Podman lacks: starting ``always`` / ``unless-stopped`` containers
after a reboot (as newer Podman's ``podman-restart.service`` does), and backoff restarts for
containers labelled ``io.podbridge.restart`` whose own Podman policy is ``no``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal, NamedTuple

from bridge.container_info import UNIT_LABEL

logger = logging.getLogger(__name__)

LABEL_RESTART = "io.podbridge.restart"
LABEL_RESTART_ON = "io.podbridge.restart-on"

# Podman policies under which Podman itself never restarts a container.
PODMAN_NO_RESTART = frozenset({"", "no", "never", "none"})
# Container states in which there is nothing to start.
ACTIVE_STATES = frozenset({"running", "paused", "restarting", "stopping", "removing"})


class ManagedPolicy(NamedTuple):
    """The policy of an ``io.podbridge.restart`` label."""

    kind: Literal["always", "on-failure"]
    max_retries: int = 0  # 0: unlimited

    def __str__(self) -> str:
        if self.kind == "on-failure" and self.max_retries:
            return f"on-failure:{self.max_retries}"
        return self.kind


class PolicyError(ValueError):
    pass


def parse_managed_policy(value: str) -> ManagedPolicy:
    """``always``, ``on-failure`` or ``on-failure:N`` (N >= 0, 0 meaning unlimited), as
    Podman's ``ParseRestartPolicy`` accepts them."""
    text = value.strip().lower()
    if text == "always":
        return ManagedPolicy("always")
    kind, sep, count = text.partition(":")
    if kind != "on-failure":
        raise PolicyError(f"label {LABEL_RESTART}: {value!r} is not always or on-failure[:N]")
    if not sep:
        return ManagedPolicy("on-failure")
    try:
        retries = int(count)
    except ValueError:
        raise PolicyError(f"label {LABEL_RESTART}: retry count {count!r} is not a number"
                          ) from None
    if retries < 0:
        raise PolicyError(f"label {LABEL_RESTART}: retry count must be >= 0, not {retries}")
    return ManagedPolicy("on-failure", retries)


def managed_policy(labels: Mapping[str, str]) -> ManagedPolicy | None:
    """The label's policy, or None when there is no label or it does not parse."""
    value = labels.get(LABEL_RESTART)
    if value is None:
        return None
    try:
        return parse_managed_policy(value)
    except PolicyError as exc:
        logger.warning("%s; ignored", exc)
        return None


def restarts_on_unhealthy(labels: Mapping[str, str]) -> bool:
    values = {v.strip().lower() for v in labels.get(LABEL_RESTART_ON, "").split(",")}
    return "unhealthy" in values


def podman_policy_name(policy: str | None) -> str:
    """``on-failure:3`` -> ``on-failure``; None/"" -> ``no``."""
    if not policy:
        return "no"
    name = policy.partition(":")[0].lower()
    return "no" if name in PODMAN_NO_RESTART else name


def wants_restart(policy: ManagedPolicy, exit_code: int | None) -> bool:
    """Whether an exit (not a user stop) calls for a restart under ``policy``. An unknown
    exit code counts as a failure."""
    if policy.kind == "always":
        return True
    return exit_code != 0


class BootCandidate(NamedTuple):
    """What the boot decision needs to know of one container."""

    name: str
    state: str  # Podman's: created, exited, running, ...
    started_before: bool  # StartedAt is set: it ran at some point
    podman_policy: str | None
    labels: Mapping[str, str]
    # The bridge's record of the last stop it saw: True (the user stopped it), False (it
    # started or died on its own after that), None (no record, or one older than its exit).
    user_stopped: bool | None


class BootDecision(NamedTuple):
    start: bool
    reason: str


def boot_policy(candidate: BootCandidate) -> str:
    """The policy that applies at boot: Podman's, else the manager label's."""
    podman = podman_policy_name(candidate.podman_policy)
    if podman != "no":
        return podman
    label = managed_policy(candidate.labels)
    return str(label) if label is not None else "no"


def boot_decision(candidate: BootCandidate, *, conservative: bool = False) -> BootDecision:
    """Start this container after a reboot?

    ``conservative`` is for a bridge start when it is unknown whether a reboot happened:
    then only containers that a reboot took down (Podman shows them ``created`` although
    they ran before) are started, never one that exited before.
    """
    if candidate.labels.get(UNIT_LABEL):
        return BootDecision(False, "systemd-unit")
    if candidate.state in ACTIVE_STATES:
        return BootDecision(False, "running")
    if not candidate.started_before:
        # Newer Podman's ShouldStartOnBoot skips Created/Configured containers too.
        return BootDecision(False, "never-started")
    policy = boot_policy(candidate).partition(":")[0]
    if policy not in ("always", "unless-stopped"):
        return BootDecision(False, f"policy-{policy}")
    went_down_with_boot = candidate.state != "exited"
    if conservative and not went_down_with_boot:
        return BootDecision(False, "exited-before-bridge-start")
    if policy == "always":
        return BootDecision(True, "always")
    if candidate.user_stopped:
        return BootDecision(False, "user-stopped")
    if candidate.user_stopped is None and not went_down_with_boot:
        # No record of why it exited. Podman restarts an unless-stopped container at every
        # exit except a user's stop, so one that stayed exited was stopped by its user.
        return BootDecision(False, "user-stopped-inferred")
    return BootDecision(True, "unless-stopped")
