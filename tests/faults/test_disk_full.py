"""The store's disk full (ENOSPC), for real: a small tmpfs of the test's own under the
store. A write then fails with a clear error, nothing half-written, the database intact;
writes resume once space is freed."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.store import Store, StoreFull


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=700", "tmpfs",
                           str(mnt)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs (the suite runs as root): {done.stderr}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    """Take every free byte of ``folder``'s file system; the filler file."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass
    return filler


def test_disk_full_is_a_clear_error_and_loses_nothing(small_disk: Path) -> None:
    store = Store(small_disk / "podbridge.sqlite")
    try:
        for i in range(20):
            store.append("faults", "kept", f"s{i}", {"n": i})
        store.put("faults", "key", {"v": 1})
        filler = fill(small_disk)
        big = {"blob": "x" * 64_000}
        with pytest.raises(StoreFull) as caught:
            for i in range(200):     # WAL pages may still take a few small writes
                store.append("faults", "lost", f"l{i}", big)
        assert "disk is full" in caught.value.message and caught.value.code == "internal-error"
        with pytest.raises(StoreFull):
            store.put("faults", "key", {"v": 2, **big})
        # Intact: the integrity check passes and every earlier record reads back.
        assert store.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [r["n"] for r in store.journal("faults", kind="kept", limit=100)] == \
            list(range(19, -1, -1))
        assert store.get("faults", "key") == {"v": 1}
        lost_before = len(store.journal("faults", kind="lost", limit=1000))
        # Space comes back: writes resume, on the same connection.
        os.unlink(filler)
        store.append("faults", "kept", "after", {"n": 20})
        store.put("faults", "key", {"v": 3})
        assert store.get("faults", "key") == {"v": 3}
        assert store.journal("faults", kind="kept", limit=1)[0]["n"] == 20
        assert len(store.journal("faults", kind="lost", limit=1000)) == lost_before
    finally:
        store.close()
    # And a fresh open of the file finds it whole.
    again = sqlite3.connect(small_disk / "podbridge.sqlite")
    try:
        assert again.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        again.close()
