"""Store.trim: the one way the audit trail and plugins' journals forget old rows."""

from __future__ import annotations

from pathlib import Path

from bridge.store import Store


def test_trim_keeps_the_newest_of_one_namespace(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    for i in range(10):
        store.append("hooks", "ran", f"r{i}", {"i": i}, when=float(i))
        store.append("other", "ran", f"o{i}", {"i": i}, when=float(i))
    store.trim("journal", 3, namespace="hooks")
    assert [r["subject"] for r in store.journal("hooks")] == ["r9", "r8", "r7"]
    assert len(store.journal("other")) == 10
    store.trim("journal", 100, namespace="other", before=4.0)
    assert [r["i"] for r in store.journal("other")] == [9, 8, 7, 6, 5, 4]
    store.close()
