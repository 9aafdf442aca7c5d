"""Watches in a real SQLite store: saved, read back as they were, closed into the history."""

from __future__ import annotations

from pathlib import Path

from bridge.names import split_name
from bridge.store import Store
from plugins.rollback_watcher.journal import Change, Watch, WatchJournal
from plugins.rollback_watcher.rollback import keep_tag
from plugins.rollback_watcher.verdict import Probation


def make_watch(unit: str = "web.service") -> Watch:
    p = Probation(begun_at=100.0, probation=5)
    p.job_done("done", 101)
    return Watch(unit=unit, changes=[Change("localhost/app:v1", "sha256:" + "1" * 64,
                                            "2" * 64, "web")],
                 probation=p, origin="autoupdate", run="r1")


def test_save_survives_a_reopen_and_finish_moves_it_to_history(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    watch = make_watch()
    WatchJournal(store).save(watch)
    store.close()

    store = Store(tmp_path / "db")
    journal = WatchJournal(store)
    [back] = journal.open_watches()
    assert back == watch
    record = journal.finish(back, "performed", reason="container died")
    assert journal.open_watches() == []
    [row] = journal.history()
    assert row["kind"] == "performed" and row["reason"] == "container died"
    assert row["changes"][0]["previous_image_id"] == "sha256:" + "1" * 64
    assert record["result"] == "performed" and journal.last("web.service") == row
    store.close()


def test_unreadable_watch_is_dropped(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put("rollback_watcher", "watch/x.service", {"unit": "x.service"})
    journal = WatchJournal(store)
    journal.save(make_watch("y.service"))
    assert [w.unit for w in journal.open_watches()] == ["y.service"]
    assert journal.get("x.service") is None
    store.close()


def test_names_and_keep_tags() -> None:
    assert split_name("127.0.0.1:5000/podbridge/httpd:v1") == ("127.0.0.1:5000/podbridge/httpd",
                                                                "v1")
    assert split_name("localhost:5000/app") == ("localhost:5000/app", "latest")
    assert keep_tag("container-web@1.service", "sha256:" + "ab" * 32) == \
        "container-web_1.service-" + "ab" * 6
