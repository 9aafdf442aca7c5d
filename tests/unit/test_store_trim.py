"""Store.trim: the one way the audit trail and plugins' journals forget old rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

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


def test_a_failed_commit_leaves_no_transaction_open(tmp_path: Path) -> None:
    # A COMMIT that fails with something other than OperationalError (here a deferred
    # constraint, an IntegrityError) is rolled back too: the next write must not meet
    # "cannot start a transaction within a transaction".
    store = Store(tmp_path / "s.db")
    store.execute("PRAGMA foreign_keys=ON")
    store.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (pid INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);")
    with pytest.raises(sqlite3.IntegrityError), store.transaction() as db:
        db.execute("INSERT INTO child VALUES (1)")
    assert not store.db.in_transaction
    store.put("ns", "k", 1)
    assert store.get("ns", "k") == 1 and store.execute("SELECT * FROM child").fetchall() == []
    store.close()
