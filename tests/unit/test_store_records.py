"""The typed views of the store (bridge.store.Records, Journal) and the plugins' stored
records: each written as its owner's type, validated on read, and rows written by older
versions still load (in the one time form of the wire)."""

from __future__ import annotations

from typing import NotRequired

import pytest
from typing_extensions import TypedDict

from bridge.store import Journal, JournalEntry, Records, Store
from plugins.auto_update.history import History
from plugins.auto_update.rejected import Rejected
from plugins.restart_manager.userstops import UserStops
from plugins.rollback_watcher.journal import Change, Watch, WatchJournal
from plugins.rollback_watcher.verdict import Probation


class Thing(TypedDict):
    name: str
    size: int
    note: NotRequired[str]


class ThingEntry(JournalEntry, Thing):
    pass


@pytest.fixture
def store() -> Store:
    return Store(":memory:")


def test_records_validate_on_read_and_skip_what_does_not_fit(store: Store) -> None:
    rows = Records(store, "ns", Thing, "thing/")
    rows.put("a", {"name": "a", "size": 1})
    store.put("ns", "thing/b", {"name": "b", "size": "2", "later": True})   # lax, newer
    store.put("ns", "thing/c", {"name": "c"})                               # no size
    store.put("ns", "other", {"x": 1})                                      # not a thing
    assert rows.get("a") == {"name": "a", "size": 1}
    assert rows.get("b") == {"name": "b", "size": 2, "later": True}   # unknown key kept
    assert rows.get("c") is None
    assert rows.get("missing") is None
    assert rows.items() == {"a": {"name": "a", "size": 1},
                            "b": {"name": "b", "size": 2, "later": True}}
    assert rows.keys() == ["a", "b", "c"]
    rows.delete("c")
    assert rows.keys() == ["a", "b"]


def test_journal_reads_rows_as_their_entry_type(store: Store) -> None:
    journal = Journal(store, "ns", Thing, ThingEntry)
    journal.append("made", "a", {"name": "a", "size": 1}, when=1_700_000_000.0)
    store.append("ns", "made", "b", {"name": "b"})           # does not fit: left out
    store.append("other", "made", "c", {"name": "c", "size": 3})
    assert journal.list() == [{"id": 1, "kind": "made", "subject": "a",
                               "time": "2023-11-14T22:13:20.000000000Z",
                               "name": "a", "size": 1}]
    journal.trim(0)
    assert journal.list() == []
    assert len(store.journal("other")) == 1


def test_auto_update_records_of_older_versions_load(store: Store) -> None:
    history = History(store)
    # An older version wrote the times of the last run with +00:00 (or as epoch seconds).
    store.put("auto_update", "last_run", {
        "run": "r1", "started": "2026-01-02T03:04:05.123456+00:00", "finished": 1767323046.5,
        "dry_run": False, "errors": [], "results": {"true": 1}, "pending": []})
    last = history.last_run()
    assert last is not None
    assert last["started"] == "2026-01-02T03:04:05.123456Z"
    assert last["finished"] == "2026-01-02T03:04:06.500000000Z"
    store.put("auto_update", "last_trigger", 1767323046)
    assert history.last_trigger() == 1767323046.0
    store.put("auto_update", "intent/a.service", {"unit": "a.service", "changes": [
        {"image": "x:1", "old_image_id": "sha256:1"}]})
    assert history.intents() == [{"unit": "a.service", "changes": [
        {"image": "x:1", "old_image_id": "sha256:1"}]}]
    rejected = Rejected(store)
    rejected.add("x:1", "sha256:2", ["sha256:d"], "a.service", "bad")
    refusal = rejected.match("x:1", ["sha256:d"])
    assert refusal is not None and refusal["unit"] == "a.service"
    store.put("auto_update", "rejected", {"x:1": [{"image_id": "i"}]})   # unreadable
    assert rejected.list() == {}


def test_a_watch_round_trips_and_an_old_one_loads(store: Store) -> None:
    journal = WatchJournal(store)
    watch = Watch("a.service", [Change("x:1", "sha256:1")], Probation(begun_at=5.0))
    journal.save(watch)
    assert journal.get("a.service") == watch
    # As the hand-written to_json of an older version stored it (extra probation keys).
    store.put("rollback_watcher", "watch/b.service", {
        "id": "abc", "unit": "b.service", "origin": "autoupdate", "run": "r", "phase":
        "rollback", "changes": [{"image": "y:1", "previous_image_id": "p",
                                 "new_image_id": "n", "container": "c"}],
        "probation": {"begun_at": 1, "probation": 30, "gone": 1}, "keep_tags": [],
        "reason": "bad", "rolled_back_by": "", "rollback_at": None, "dependents": None,
        "restarted": {}, "probation_fixed": False, "job": ""})
    store.put("rollback_watcher", "watch/c.service", {"unit": "c.service"})
    watches = {w.unit: w for w in journal.open_watches()}
    assert set(watches) == {"a.service", "b.service"}
    assert watches["b.service"].phase == "rollback"
    assert watches["b.service"].probation.begun_at == 1.0
    assert store.get("rollback_watcher", "watch/c.service") is None   # dropped, logged
    journal.finish(watch, "passed")
    # A history row of a version before "restarted" and RFC 3339 times.
    old = {**watch.summary(), "begun_at": 5.0, "result": "passed"}
    del old["restarted"]
    store.append("rollback_watcher", "passed", "a.service", dict(old))
    rows = journal.history()
    assert [r["begun_at"] for r in rows] == ["1970-01-01T00:00:05.000000000Z"] * 2
    last = journal.last("a.service")
    assert last is not None and "restarted" not in last


def test_user_stops_are_typed(store: Store) -> None:
    stops = UserStops(store, "restart_manager")
    stops.record("cid1", "web", True, "stop", when=100.0)
    assert stops.get("cid1") == {"stopped": True, "time": 100.0, "name": "web", "via": "stop"}
    assert stops.stopped("cid1", exited_at=101.0) is True
    assert stops.stopped("cid1", exited_at=200.0) is None      # predates the exit
    store.put("restart_manager", "user_stop/cid2", {"stopped": "maybe"})
    assert stops.stopped("cid2") is None
    assert stops.prune({"cid1"}) == 1
