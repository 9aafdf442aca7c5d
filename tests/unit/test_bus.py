from __future__ import annotations

import json

import pytest

from bridge.bus import Bus, ReplayGap, SubscriptionDropped
from bridge.events import Event, compile_pattern, encode_event, topic_matches


def test_seq_increases_and_bytes_are_shared() -> None:
    bus = Bus()
    sub_a = bus.subscribe(["*"])
    sub_b = bus.subscribe(["container.*"])
    e1 = bus.publish("container.died", "podman", "web", {"exit_code": 1})
    e2 = bus.publish("unit.state", "systemd", "web.service", {})
    assert (e1.seq, e2.seq) == (1, 2)
    (ev_a1, raw_a1), (ev_a2, _) = sub_a.drain()
    (ev_b1, raw_b1), = sub_b.drain()
    assert raw_a1 is raw_b1, "an event is serialised once for every subscriber"
    assert json.loads(raw_a1)["data"] == {"exit_code": 1}
    assert ev_a2.type == "unit.state"
    assert ev_b1 is ev_a1


def test_since_replays_exactly_the_missed_events() -> None:
    bus = Bus(ring_size=100)
    for i in range(10):
        bus.publish("container.start", "podman", f"c{i}")
    sub = bus.subscribe(["*"], since=6)
    assert [e.seq for e, _ in sub.drain()] == [7, 8, 9, 10]
    bus.publish("container.stop", "podman", "c")
    assert [e.seq for e, _ in sub.drain()] == [11]


def test_since_at_head_replays_nothing() -> None:
    bus = Bus()
    bus.publish("a.b", "x", "s")
    sub = bus.subscribe(["*"], since=1)
    assert sub.drain() == []


def test_since_older_than_ring_is_a_gap() -> None:
    bus = Bus(ring_size=5)
    for _ in range(20):
        bus.publish("a.b", "x", "s")
    with pytest.raises(ReplayGap) as info:
        bus.subscribe(["*"], since=3)
    assert info.value.oldest == 16
    # Exactly at the edge: everything after 15 is still there.
    assert [e.seq for e, _ in bus.subscribe(["*"], since=15).drain()] == [16, 17, 18, 19, 20]


def test_slow_subscriber_is_dropped_with_resume_point_others_unaffected() -> None:
    bus = Bus(queue_size=3)
    slow = bus.subscribe(["*"])
    fast = bus.subscribe(["*"])
    dropped: list[SubscriptionDropped] = []
    slow.on_drop = dropped.append
    for i in range(3):
        bus.publish("a.b", "x", str(i))
        fast.drain()
    bus.publish("a.b", "x", "overflow")
    assert dropped and dropped[0].resume_since == 0
    assert slow.closed and bus.subscriber_count == 1
    with pytest.raises(SubscriptionDropped):
        slow.drain()
    assert [e.subject for e, _ in fast.drain()] == ["overflow"]


def test_resume_after_drop_gets_everything() -> None:
    bus = Bus(queue_size=2, ring_size=100)
    sub = bus.subscribe(["*"])
    sub.drain()
    bus.publish("a.b", "x", "1")
    sub.get_nowait()  # consumed seq 1
    for i in range(2, 6):
        bus.publish("a.b", "x", str(i))
    assert sub.dropped is not None
    resumed = bus.subscribe(["*"], since=sub.dropped.resume_since)
    assert [e.subject for e, _ in resumed.drain()] == ["2", "3", "4", "5"]


def test_listener_runs_inline_and_its_error_is_contained() -> None:
    bus = Bus()
    seen: list[int] = []

    def bad(_e: object, _r: bytes) -> None:
        raise RuntimeError("boom")

    bus.listen(["x.*"], bad)
    stop = bus.listen(["x.*"], lambda e, _r: seen.append(e.seq))
    bus.publish("x.y", "s", "a")
    stop()
    bus.publish("x.y", "s", "b")
    assert seen == [1]


@pytest.mark.parametrize(("pattern", "topic", "expected"), [
    ("container.*", "container.died", True),
    ("container.*", "container", False),
    ("container.*", "image.pull", False),
    ("*", "anything.at.all", True),
    ("autoupdate.**", "autoupdate.a.b", True),
    ("*.died", "container.died", True),
    ("unit.stat?", "unit.state", True),
    ("a.b", "a.bc", False),
    ("a+b.*", "a+b.c", True),
])
def test_patterns(pattern: str, topic: str, expected: bool) -> None:
    assert bool(compile_pattern(pattern).match(topic)) is expected
    assert topic_matches([pattern], topic) is expected


def test_since_from_an_earlier_run_of_the_bridge_is_a_reset() -> None:
    earlier = Bus(first_seq=1000)
    for _ in range(5):
        earlier.publish("a.b", "x", "s")
    seen = earlier.seq  # 1005
    later = Bus(first_seq=2000)  # the bridge restarted
    later.publish("a.b", "x", "s")
    with pytest.raises(ReplayGap):
        later.subscribe(["*"], since=seen)
    with pytest.raises(ReplayGap):  # a seq never given out
        later.subscribe(["*"], since=5000)
    assert [e.seq for e, _ in later.subscribe(["*"], since=2000).drain()] == [2001]


def test_a_hosts_filter_keeps_only_those_hosts_events_live_and_replayed() -> None:
    bus = Bus()

    def inject(seq: int, host: str) -> None:
        event = Event(seq, "container.start", "podman", f"c{seq}", {}, None, host=host)
        bus.inject(event, encode_event(event))

    for seq, host in ((1, "h1"), (2, "h2"), (3, "h1")):
        inject(seq, host)
    sub = bus.subscribe(["**"], since=0, hosts=["h2"])
    everyone = bus.subscribe(["**"], since=0)
    for seq, host in ((4, "h2"), (5, "h3"), (6, "h2")):
        inject(seq, host)
    assert [e.seq for e, _ in sub.drain()] == [2, 4, 6]
    assert [e.seq for e, _ in everyone.drain()] == [1, 2, 3, 4, 5, 6]
