"""What a rollback does through Podman and systemd: keep the previous image, point the
name at it again, restart the unit, and bring its dependents back.

- Keep: while a unit is on probation its previous image gets a name of its own
  (``localhost/podbridge/rollback-keep:<unit>-<id>``), so that ``podman image prune`` (which
  Podman's own auto-update service runs right after an update) cannot remove it, and an
  untag of its old name cannot orphan it. The name goes when the watch ends.
- Roll back: re-tag each previous image ID to its name (no pull), RestartUnit.
- Dependents: the units whose Requires=/BindsTo= name this one (its RequiredBy and BoundBy
  properties). systemd propagates a restart to the active ones; one that a crash stopped
  (BindsTo=) or that is not running is started again here.
"""

from __future__ import annotations

import logging
import re

from bridge.errors import BridgeError, NotFound
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient
from plugins.rollback_watcher.journal import Change

logger = logging.getLogger(__name__)

KEEP_REPO = "localhost/podbridge/rollback-keep"


class RollbackError(BridgeError):
    pass


def keep_tag(unit: str, image_id: str) -> str:
    """A valid tag (``[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}``) naming the unit and the image."""
    slug = re.sub(r"[^A-Za-z0-9_.-]", "_", unit).lstrip(".-") or "unit"
    return f"{slug[:100]}-{image_id.removeprefix('sha256:')[:12]}"


async def keep_previous(podman: PodmanClient, unit: str, changes: list[Change]) -> list[str]:
    """Give every previous image a name of its own; the names made."""
    made = []
    for change in changes:
        name = keep_tag(unit, change.previous_image_id)
        try:
            await podman.tag_image(change.previous_image_id, f"{KEEP_REPO}:{name}")
            made.append(f"{KEEP_REPO}:{name}")
        except BridgeError as exc:
            logger.warning("%s: cannot keep the previous image %s: %s", unit,
                           change.previous_image_id[:12], exc)
    return made


async def release_kept(podman: PodmanClient, names: list[str]) -> None:
    for name in names:
        try:
            await podman.untag_image(name)
        except NotFound:
            pass
        except BridgeError as exc:
            logger.warning("cannot release the kept image name %s: %s", name, exc)


async def retag_previous(podman: PodmanClient, changes: list[Change]) -> None:
    """Point every name at its previous image again; raises RollbackError."""
    for change in changes:
        try:
            await podman.inspect_image(change.previous_image_id)
        except NotFound:
            raise RollbackError(f"the previous image {change.previous_image_id[:12]} of "
                                f"{change.image} is gone", "not-found") from None
        try:
            await podman.tag_image(change.previous_image_id, change.image)
        except BridgeError as exc:
            raise RollbackError(f"cannot tag {change.previous_image_id[:12]} as "
                                f"{change.image}: {exc.message}") from None
        logger.info("%s points at %s again", change.image, change.previous_image_id[:12])


async def dependents(systemd: SystemdClient, unit: str) -> list[str]:
    """The units that Require= or BindsTo= ``unit``."""
    props = await systemd.unit_properties(unit, service=False)
    names = [str(n) for key in ("RequiredBy", "BoundBy") for n in props.get(key) or []]
    return [n for n in dict.fromkeys(names) if n != unit]


async def restart_dependents(systemd: SystemdClient, names: list[str], since: float,
                             timeout: float) -> dict[str, str]:
    """Start again each dependent that is not active, or was last activated before
    ``since`` (wall-clock seconds); the job results (``kept`` where nothing was needed)."""
    results: dict[str, str] = {}
    for name in names:
        try:
            # A restart that systemd propagated may still be running as the dependent's
            # own job: its result first, then what the unit is.
            props = await systemd.settled(name, timeout)
            entered = int(props.get("ActiveEnterTimestamp") or 0) / 1e6
            if props.get("ActiveState") == "active" and entered >= since:
                results[name] = "kept"   # systemd restarted it with the unit
                continue
            if props.get("ActiveState") == "failed":
                await systemd.reset_failed_unit(name)
            results[name] = await systemd.run_job("restart", name, timeout=timeout)
        except BridgeError as exc:
            results[name] = f"error: {exc.message}"
        logger.info("dependent %s of the rollback: %s", name, results[name])
    return results
