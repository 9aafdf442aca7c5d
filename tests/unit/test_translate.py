from __future__ import annotations

import asyncio

from bridge.bus import Bus
from bridge.podman import PodmanClient
from bridge.podman_compat import PodmanCompat
from bridge.sources import PodmanSource, translate_podman_event
from bridge.state import State
from bridge.systemd import unit_name_to_path, unit_path_to_name

DIED = {
    "Type": "container", "Action": "died",
    "Actor": {"ID": "abc123", "Attributes": {
        "image": "localhost/x:v1", "name": "web", "podId": "", "containerExitCode": "3",
        "PODMAN_SYSTEMD_UNIT": "web.service", "io.containers.autoupdate": "registry"}},
    "time": 1716120000, "timeNano": 1716120000123456789,
}


def podman_source(podman: PodmanClient | None = None) -> PodmanSource:
    """A source on a bus of its own (``source.bus``), by default without a Podman."""
    bus = Bus()
    return PodmanSource(bus, podman, State(bus))  # type: ignore[arg-type]


def _tags(n: int, start: int = 1716120001000000000) -> list[dict[str, object]]:
    return [{"Type": "image", "Action": "tag", "timeNano": start + i,
             "Actor": {"ID": "img", "Attributes": {"name": f"localhost/a:{i}"}}}
            for i in range(n)]


async def _settle(source: PodmanSource) -> None:
    source.stop()
    if source._resync_task is not None:
        await asyncio.gather(source._resync_task, return_exceptions=True)


def test_container_event_is_typed() -> None:
    parsed = translate_podman_event(DIED)
    assert parsed is not None
    type_, subject, data, ns = parsed
    assert (type_, subject, ns) == ("container.died", "web", 1716120000123456789)
    assert data["exit_code"] == 3 and data["state"] == "exited"
    assert data["labels"] == {"PODMAN_SYSTEMD_UNIT": "web.service",
                              "io.containers.autoupdate": "registry"}
    assert data["time"] == "2024-05-19T12:00:00.123456789Z"


def test_health_status_event() -> None:
    raw = {**DIED, "Action": "health_status", "HealthStatus": "unhealthy"}
    raw["Actor"] = {"ID": "abc", "Attributes": {"name": "web", "image": "i"}}
    parsed = translate_podman_event(raw)
    assert parsed is not None and parsed[2]["health"] == "unhealthy"
    assert parsed[2]["exit_code"] is None


def test_not_an_event() -> None:
    assert translate_podman_event({"foo": 1}) is None


def test_duplicates_and_replays_are_dropped_but_same_time_tags_kept() -> None:
    """A repeat is the same event byte for byte; anything else is news, even an event
    stamped a minute earlier (a clock that jumped back, a death reported late)."""
    source = podman_source()
    sub = source.bus.subscribe(["*"])
    source.handle(DIED)
    source.handle(DIED)  # the same event sent again
    tag = {"Type": "image", "Action": "tag", "timeNano": 1716120001000000000,
           "Actor": {"ID": "img", "Attributes": {"name": "localhost/a:1"}}}
    source.handle(tag)
    # Another tag of the same image at the same nanosecond is a different event.
    source.handle({**tag, "Actor": {"ID": "img", "Attributes": {"name": "localhost/a:2"}}})
    # An event with an older time, never seen: news.
    old = {**DIED, "timeNano": DIED["timeNano"] - 60 * 10**9,
           "Actor": {"ID": "old", "Attributes": {"name": "old"}}}
    source.handle(old)
    # A replay of the rotated log: the same events again.
    source.handle(tag)
    source.handle(old)
    got = [(e.type, e.subject) for e, _ in sub.drain()]
    assert got == [("container.died", "web"), ("image.tag", "localhost/a:1"),
                   ("image.tag", "localhost/a:2"), ("container.died", "old")]
    assert source.duplicates == 3
    assert source.metrics()["events_read"] == 7


def test_unit_paths_round_trip() -> None:
    for name in ("web.service", "podman-auto-update.timer", "a-b@1.service", "9lives.service",
                 "x_y.service"):
        path = unit_name_to_path(name)
        assert unit_path_to_name(path) == name
    assert unit_name_to_path("web.service") == "/org/freedesktop/systemd1/unit/web_2eservice"


def test_a_non_numeric_exit_code_reads_as_none() -> None:
    raw = {**DIED, "Actor": {"ID": "abc", "Attributes": {"name": "web",
                                                         "containerExitCode": "n/a"}}}
    parsed = translate_podman_event(raw)
    assert parsed is not None and parsed[2]["exit_code"] is None


def _rotation(ns: int) -> dict[str, object]:
    return {"Type": "system", "Action": "log-rotation", "timeNano": ns,
            "Actor": {"ID": "", "Attributes": {"name": "/run/libpod/events/events.log"}}}


async def test_a_rotation_that_repeats_nothing_is_a_suspected_gap() -> None:
    """Podman feeds the kept half of its rotated log again: repeats before the rotation
    event mean the reader was past the cut; none mean what lay between was cut."""
    source = podman_source()
    source._connection_ns = 1
    tags = _tags(4)
    for t in tags:
        source.handle(t)
    for t in tags[2:]:          # the kept half, again
        source.handle(t)
    source.handle(_rotation(1716120002000000000))
    assert source.metrics()["gaps_suspected"] == 0
    source.handle({**tags[0], "timeNano": 1716120003000000000})
    source.handle(_rotation(1716120004000000000))   # nothing repeated before it
    assert source.metrics()["gaps_suspected"] == 1
    assert source.metrics()["rotations"] == 2
    await _settle(source)


def test_resume_point_of_the_podman_stream() -> None:
    """Before the first stream: none (Podman starts at its log's tail). After it, never
    none: the newest event seen, else when the first stream was asked for."""
    source = podman_source(PodmanClient("unix:///nonexistent.sock"))
    assert source.resume_since() is None
    source.first_open_ns = 1_700_000_000_000_000_007
    assert source.resume_since() == "1700000000.000000007"
    # Five seconds before the newest event seen: Podman's log is not in time order.
    source.last_ns = 1_700_000_009_120_000_000
    assert source.resume_since() == "1700000004.120000000"
    source.last_ns = 1_700_000_003_000_000_000   # but never before the first stream
    assert source.resume_since() == "1700000000.000000007"
    source.last_ns = 1_600_000_000_000_000_000   # an event stamped before the first stream
    assert source.resume_since() == "1700000000.000000007"


async def test_a_resumed_stream_must_begin_with_an_event_already_read() -> None:
    """Resumed from before the newest event seen, Podman's first event is one the bridge
    had: when it is not, the log no longer reaches back that far (a gap)."""
    source = podman_source()
    tags = _tags(6)
    for t in tags[:4]:
        source.handle(t)
    since = source.resume_since_ns()
    assert since is not None and source._seen_after(since)
    source._awaiting_overlap = True      # as run() sets it for a resumed stream
    for t in tags[2:]:                   # the overlap, then what is new
        source.handle(t)
    assert source.metrics()["gaps_suspected"] == 0
    assert source.duplicates == 2
    source._awaiting_overlap = True
    source.handle(_tags(1, start=1716120009000000000)[0] | {
        "Actor": {"ID": "img", "Attributes": {"name": "localhost/b:0"}}})
    assert source.metrics()["gaps_suspected"] == 1
    await _settle(source)


async def test_rotations_are_judged_only_where_podman_resends_the_kept_half() -> None:
    """A ``since=`` stream of Podman 4.3 ends at a rotation instead of reopening (its
    rotation events are history), and Podman 4.5+ skips the kept half itself: neither
    rotation says anything about a gap."""
    assert PodmanCompat("4.3.1").events_file_resends_after_rotation
    assert not PodmanCompat("4.3.1").events_since_stream_follows_rotation
    assert not PodmanCompat("4.5.0").events_file_resends_after_rotation
    assert PodmanCompat("5.4.2").events_since_stream_follows_rotation
    for compat, reopens in ((PodmanCompat("4.3.1"), False), (PodmanCompat("5.4.2"), True)):
        source = podman_source()
        source.compat, source._reopens, source._connection_ns = compat, reopens, 1
        for t in _tags(3):
            source.handle(t)
        source.handle(_rotation(1716120005000000000))    # nothing repeated before it
        assert source.metrics()["rotations"] == 1
        assert source.metrics()["gaps_suspected"] == 0, compat
        await _settle(source)
