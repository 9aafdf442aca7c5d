"""Restart manager: restart policies after a reboot, backoff restarts, crash loops.

Modules: ``policy`` (labels, boot decisions), ``backoff``, ``crashloop`` and ``engine`` are
pure and take the time as an argument; ``userstops`` (the store), ``boot`` (the boot pass),
``status`` (methods) and ``plugin`` do the I/O.

What it does
  - Boot: at bridge start and at Podman's ``system.refresh``, start every container whose
    policy is ``always``, or ``unless-stopped`` unless its user stopped it; skip the ones a
    systemd unit runs (label ``PODMAN_SYSTEMD_UNIT``). Publishes ``restart.boot`` with what
    was started, what failed and why each other container was skipped.
  - Crash loops: ``crashloop_count`` deaths within ``crashloop_window`` s (5 in 60) raise
    ``restart.crashloop``; for unit-run containers the deaths are the unit's NRestarts
    increments, and systemd's ``start-limit-hit`` is a crash loop at once.
  - Backoff: label ``io.podbridge.restart=always|on-failure[:N]`` on a container whose Podman
    policy is ``no``: restarts after 1 s, 2 s, 4 s ... capped at 5 min, starting over after
    10 min up, at most N times (``restart.scheduled``, ``restart.performed``,
    ``restart.failed``, ``restart.gave_up``, ``restart.cancelled``).
  - Health: label ``io.podbridge.restart-on=unhealthy``: an ``unhealthy`` health status
    restarts the container (``podman restart``), through the same backoff.
  - Methods ``restart.status [name]`` and ``restart.reset name``.

Choices where the issue is silent
  - A user stop is seen as a ``stop`` event, a second ``cleanup`` event after a ``died``
    (the stopper's own cleanup, after conmon's: Podman 4.3 often skips the ``stop`` event,
    as it loses a race with conmon), or a ``kill`` event followed (or preceded) by ``died``
    within ``kill_window`` (10 s). Podman 4.3 keeps ``StoppedByUser`` to itself (not in
    inspect), so the manager records each container's last user stop or start in the
    store, by container ID; a record older than the container's last exit says nothing.
  - When there is no record (the bridge was not running), an ``unless-stopped`` container
    that was ``exited`` before the boot counts as user-stopped: Podman restarts such a
    container at every other exit, so only a user's stop leaves it exited.
  - One boot pass per boot: the boot is named by the time of Podman's ``refresh`` event,
    kept in the store; a bridge restart within the same boot starts nothing (else it would
    undo user stops of ``always`` containers). If Podman's event log no longer holds the
    refresh event, the pass at bridge start is conservative: it starts only containers that
    a reboot took down (``created`` although they ran), never one that had exited.
  - ``always`` containers start at boot even if a user stopped them (as Podman's
    ``ShouldStartOnBoot`` and Docker do); containers that never ran are not started (as
    newer Podman; Podman 4.3's ``podman start --all --filter restart-policy=always`` does
    start them); ``on-failure`` containers are not started (a reboot is not a failure).
    The ``io.podbridge.restart`` label counts as the policy at boot.
  - A label on a container whose Podman policy is not ``no``, or which a systemd unit runs,
    is ignored (``restart.status`` says why in ``conflict``): two restarters would race.
  - ``on-failure`` with exit code 0 does not restart and ends the run of failures; an
    unknown exit code counts as a failure. ``always`` has no limit. Attempts count the
    restarts performed; with N the exit after the N-th restart gives up.
  - A start by someone else (a user, a unit) is a fresh run: the attempt count and the
    gave-up flag reset and a pending restart is cancelled (as a user start resets Podman's
    RestartCount). A restart whose start fails is retried through the same backoff.
  - Health restarts share the attempt count but have no limit; unit-run containers are
    left to systemd for health too. Unhealthy reports while a restart is pending are
    ignored.
  - The crash-loop flag is raised once per episode and clears after a full window without
    a death, or at ``restart.reset``. The manager only reports a crash loop; it does not
    stop Podman's own ``--restart=always`` loop.
  - ``restart.reset`` forgets failures (count, crash loop, gave-up, pending restart); it
    neither starts nor stops the container.
"""
