"""Images that were rolled back: not applied again until the registry (or the local store,
for the ``local`` policy) offers a newer one.

Without this, a bad image the rollback watcher (or a user, with ``rollback.now``) took out
would come back at the next timer run, be rolled back again, and so on at every run. The
plugin learns of a rollback from the ``rollback.performed`` event and keeps, per image
name, the digests and the image ID that were refused, in its own part of the store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from typing_extensions import TypedDict

from bridge.store import Records, Store

logger = logging.getLogger(__name__)

NAMESPACE = "auto_update"
KEY = "rejected"
PER_IMAGE = 20  # refusals kept per image name, newest last


class Refusal(TypedDict):
    """An image ID (and its digests) that is not applied again."""

    image_id: str
    digests: list[str]
    unit: str
    time: float        # epoch seconds
    reason: str


# Key ``rejected``: the refusals of each image name, newest last.
RejectedImages = dict[str, list[Refusal]]


class Rejected:
    def __init__(self, store: Store) -> None:
        self.rows = Records(store, NAMESPACE, RejectedImages)

    def _all(self) -> RejectedImages:
        return self.rows.get(KEY) or {}

    def add(self, image: str, image_id: str, digests: Iterable[str], unit: str,
            reason: str = "") -> None:
        data = self._all()
        entries = data.setdefault(image, [])
        entries.append({"image_id": image_id, "digests": sorted({d for d in digests if d}),
                        "unit": unit, "time": time.time(), "reason": reason})
        del entries[:-PER_IMAGE]
        self.rows.put(KEY, data)
        logger.info("%s: image %s will not be applied again (rolled back on %s)",
                    image, image_id[:12], unit)

    def match(self, image: str, digests: Iterable[str] = (), image_id: str = ""
              ) -> Refusal | None:
        """The refusal that covers this candidate update, if any."""
        wanted = {d for d in digests if d}
        return next((entry for entry in reversed(self._all().get(image, []))
                     if (image_id and entry["image_id"] == image_id)
                     or wanted & set(entry["digests"])), None)

    def list(self) -> RejectedImages:
        return self._all()
