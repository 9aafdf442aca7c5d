from __future__ import annotations

from pathlib import Path

from bridge.store import Store
from plugins.auto_update.rejected import PER_IMAGE, Rejected


def test_rolled_back_images_are_matched_by_digest_or_id(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    rejected = Rejected(store)
    rejected.add("reg/app:latest", "id-bad", ["sha256:bad", ""], "app.service", "died")
    assert rejected.match("reg/app:latest", {"sha256:bad"}) is not None
    assert rejected.match("reg/app:latest", (), "id-bad") is not None
    assert rejected.match("reg/app:latest", {"sha256:newer"}, "id-newer") is None
    assert rejected.match("reg/other:latest", {"sha256:bad"}) is None
    # Kept in the store: a restarted bridge still knows.
    assert Rejected(store).match("reg/app:latest", {"sha256:bad"})["unit"] == "app.service"
    for i in range(PER_IMAGE + 5):
        rejected.add("reg/app:latest", f"id-{i}", [f"sha256:{i}"], "app.service")
    assert len(rejected.list()["reg/app:latest"]) == PER_IMAGE
    assert rejected.match("reg/app:latest", {"sha256:bad"}) is None, "the oldest went"
    store.close()
