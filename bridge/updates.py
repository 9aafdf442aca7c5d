"""The contract between the plugin that updates images (auto_update publishes these
topics) and the one that watches updates (rollback_watcher publishes its own, and each
listens to the other's). Neither imports the other: both import this.

Times are RFC 3339 UTC strings, as every time on the wire.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from bridge.contracts import Topic, record
from bridge.events import Time
from bridge.store import JournalEntry

# The result of one container's update, as Podman's auto-update prints it (UPDATED).
UpdateResult = Literal["true", "false", "pending", "failed", "rolled back"]
UPDATED: Final = "true"
PENDING: Final = "pending"
FAILED: Final = "failed"
ROLLED_BACK: Final = "rolled back"

# A label selector as autoupdate.targets and .apply take it, and fleet.rollout.start, whose
# controller hands it on to each host's autoupdate.apply: LABEL=VALUE.
Selector = Annotated[str, Field(pattern=r"^[^=]+=.*$", description="LABEL=VALUE")]


class UpdateData(TypedDict):
    """One container of one unit in an auto-update run."""

    unit: str
    container: str
    container_id: str
    image: str
    policy: str
    old_image_id: str
    new_image_id: str
    old_digest: str
    new_digest: str
    result: UpdateResult
    reason: str
    dry_run: bool
    run: str                 # the run's id: a watch hears only its own run
    rollback: bool           # false: the user asked for no rollback
    available: NotRequired[bool]
    probation: NotRequired[float | None]   # a fleet rollout's probation, in seconds
    rollout: NotRequired[str]              # the fleet rollout's token


class UpdateRecord(TypedDict):
    """What the journal keeps of one container's check or update (``kind`` ``check`` or
    ``update``)."""

    unit: str
    container: str
    container_id: str
    image: str
    policy: str
    old_digest: str
    new_digest: str
    old_image_id: str
    new_image_id: str
    result: str              # an UpdateResult, as Podman printed it
    reason: str
    run: NotRequired[str]    # the run's id (rows of older versions have none)


@record("autoupdate.history", owner="auto_update")
class UpdateHistoryEntry(JournalEntry, UpdateRecord):
    """A row of ``autoupdate.history``: a check or an update, as the journal keeps it."""


AUTOUPDATE_CHECK = Topic("autoupdate.check", UpdateData, owner="auto_update")
AUTOUPDATE_PENDING = Topic("autoupdate.pending", UpdateData, owner="auto_update")
# Published before the unit is restarted: a watcher saves its watch inline, before it.
AUTOUPDATE_UPDATING = Topic("autoupdate.updating", UpdateData, owner="auto_update")
AUTOUPDATE_UPDATED = Topic("autoupdate.updated", UpdateData, owner="auto_update")
AUTOUPDATE_FAILED = Topic("autoupdate.failed", UpdateData, owner="auto_update")


class ChangeData(TypedDict):
    """One container's image change in a unit."""

    image: str
    previous_image_id: str
    new_image_id: str
    container: str


class WatchData(TypedDict):
    """A unit on probation after an update (or a rollback of it), as status, history and
    the ``rollback.*`` events show it."""

    id: str
    unit: str
    origin: str               # autoupdate | method | manual
    run: str
    phase: str                # update | rollback | verify
    changes: list[ChangeData]
    probation: float          # seconds
    begun_at: Time           # older rows of rollback.history: epoch seconds, read as RFC 3339
    active_at: Time
    job_result: str | None
    containers: list[str]
    reason: str
    rolled_back_by: str
    dependents: list[str] | None
    restarted: NotRequired[dict[str, str]]  # rows of rollback.history from before it lack it
    result: NotRequired[str]  # in history and the final events: passed | rolled back | ...
    stage: NotRequired[str]
    resumed: NotRequired[bool]


@record("rollback.history", owner="rollback_watcher")
class WatchHistoryEntry(WatchData, total=False):
    """A row of ``rollback.history``: a finished watch (its ``id`` is the watch's)."""

    kind: str
    subject: str
    time: str | None


ROLLBACK_WATCHING = Topic("rollback.watching", WatchData, owner="rollback_watcher")
ROLLBACK_PASSED = Topic("rollback.passed", WatchData, owner="rollback_watcher")
# auto_update listens: an image rolled back is not applied again.
ROLLBACK_PERFORMED = Topic("rollback.performed", WatchData, owner="rollback_watcher")
ROLLBACK_FAILED = Topic("rollback.failed", WatchData, owner="rollback_watcher")
