"""The fleet outbox's own logic (bridge.fleet.outbox): its file across a restart, its bound
and the report of what a full outbox lost. Against real SQLite files; no NATS."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bridge.fleet.outbox import Lost, Outbox


def fill(box: Outbox, seqs: range) -> None:
    for seq in seqs:
        box.append(seq, f"podbridge.t.evt.h.e{seq}", b'{"seq": %d}' % seq)


def test_unacknowledged_events_survive_a_restart_in_order(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(1000, path)
    fill(box, range(1, 101))
    box.acknowledged(40)
    box.close()
    again = Outbox(1000, path)
    assert [p.seq for p in again.head(1000)] == list(range(41, 101))
    assert again.head(1)[0].subject == "podbridge.t.evt.h.e41"
    assert again.head(1)[0].raw == b'{"seq": 41}'
    fill(again, range(5000, 5010))   # the next run's seqs are higher
    again.acknowledged(100)
    again.close()
    last = Outbox(1000, path)
    assert [p.seq for p in last.head(1000)] == list(range(5000, 5010))
    assert last.dropped == 0 and last.lost is None
    last.close()


def test_a_memory_outbox_writes_no_file(tmp_path: Path) -> None:
    box = Outbox(10)
    fill(box, range(1, 4))
    assert len(box) == 3 and box
    box.acknowledged(3)
    assert not box
    box.close()
    assert list(tmp_path.iterdir()) == []


def test_the_bound_drops_the_oldest_and_remembers_the_gap(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    box = Outbox(50, path)
    fill(box, range(1, 121))
    assert len(box) == 50 and box.head(1)[0].seq == 71
    assert box.dropped == 70 and box.lost == Lost(70, 1, 70)
    box.close()
    # The file holds the same 50, and the unreported gap, across a restart.
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT count(*), min(seq) FROM outbox").fetchone()
    finally:
        db.close()
    assert rows == (50, 71)
    again = Outbox(50, path)
    assert again.lost == Lost(70, 1, 70) and again.dropped == 70
    again.reported(Lost(70, 1, 70))
    assert again.lost is None
    again.close()
    third = Outbox(50, path)
    assert third.lost is None and third.dropped == 70
    # A lower bound at start drops the excess of the file.
    third.close()
    small = Outbox(20, path)
    assert len(small) == 20 and small.head(1)[0].seq == 101
    assert small.lost == Lost(30, 71, 100)
    small.close()


def test_a_report_made_while_more_was_lost_keeps_the_rest(tmp_path: Path) -> None:
    box = Outbox(5, tmp_path / "o.db")
    fill(box, range(1, 9))
    seen = box.lost
    assert seen == Lost(3, 1, 3)
    fill(box, range(9, 11))
    box.reported(seen)
    assert box.lost == Lost(2, 4, 5)
    box.close()


def test_an_outbox_file_that_cannot_be_opened_keeps_events_in_memory(tmp_path: Path) -> None:
    bad = tmp_path / "a-file"
    bad.write_text("x")
    box = Outbox(10, bad / "outbox.db")   # its folder is a file
    fill(box, range(1, 4))
    assert [p.seq for p in box.head(10)] == [1, 2, 3]
    box.close()


def test_a_file_that_is_not_a_database_keeps_events_in_memory(tmp_path: Path) -> None:
    bad = tmp_path / "outbox.db"
    bad.write_bytes(b"not a database, " * 100)
    box = Outbox(10, bad)
    fill(box, range(1, 3))
    assert len(box) == 2
    box.close()
    assert bad.read_bytes().startswith(b"not a database")
