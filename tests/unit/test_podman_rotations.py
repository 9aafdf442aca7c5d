"""The rotation judgement of the Podman source, on streams recorded from Podman 4.3.1.

Recorded in a debian12 world (file events logger, 1,000,000-byte log) by a plain reader of
``/v4.0.0/libpod/events?stream=true`` (no ``since``: the bridge's first stream), then
abridged: of the events read live or from before the stream, every Nth; all the others
(rotations, and those fed before they were read); each kept event with all its repeats,
in the recorded order. Each file's first line says which N and when the stream was asked
for. What they show of Podman 4.3.1: at
each rotation a stream from the log's tail is fed the kept half of the log again, just
before the rotation event -- first what it had read, then what it had not read yet (Podman
reopened the log without reading the old one to its end); at its first rotation, also what
was in the log before the stream began.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bridge.bus import Bus
from bridge.podman_compat import PodmanCompat
from bridge.sources import PodmanSource
from bridge.state import State

DATA = Path(__file__).parent / "data"
# The log rotated before the stream read anything of it: all it was fed before the
# rotation was from before it began (the false gap of a CI run, issue 16).
EDGE = DATA / "events-podman-4.3.1-rotation-before-first-read.jsonl"
# 16,000 events by four senders through a stream from the tail: six rotations.
BURST = DATA / "events-podman-4.3.1-burst-rotations.jsonl"


def recording(path: Path) -> tuple[int, list[dict[str, Any]]]:
    """When the recorded stream was asked for (its first line says), and its events."""
    head, *lines = path.read_text().splitlines()
    return json.loads(head)["asked_ns"], [json.loads(line) for line in lines]


async def replay(lines: list[dict[str, Any]], asked_ns: int,
                 version: str = "4.3.1") -> tuple[PodmanSource, list[tuple[str, str]]]:
    """The lines through a source whose first stream (no since) was asked for at
    ``asked_ns``; what it published."""
    bus = Bus(ring_size=100_000)
    source = PodmanSource(bus, None, State(bus))  # type: ignore[arg-type]
    sub = bus.subscribe(["*"], maxsize=100_000)
    source.begin_stream(asked_ns, None, PodmanCompat(version))
    for raw in lines:
        source.handle(raw)
    await source.close()      # a re-list a suspected gap started (no Podman here)
    return source, [(e.type, e.subject) for e, _ in sub.drain()]


def stamp(raw: dict[str, Any]) -> int:
    return int(raw["timeNano"])


def key(raw: dict[str, Any]) -> str:
    return json.dumps(raw, sort_keys=True)


def news(lines: list[dict[str, Any]], asked_ns: int) -> list[tuple[str, str]]:
    """What the stream brought that is new and not from before it: each event once, in the
    order first read."""
    seen: set[str] = set()
    out = []
    for raw in lines:
        if key(raw) not in seen and stamp(raw) >= asked_ns:
            seen.add(key(raw))
            attrs = raw["Actor"].get("Attributes") or {}
            out.append((f"{raw['Type']}.{raw['Action']}", attrs.get("name") or raw["Actor"]["ID"]))
    return out


async def test_a_rotation_before_the_stream_read_anything_is_no_gap_and_no_news() -> None:
    """The stream was fed, before the rotation event, only what was in the log before it
    began: nothing it had read comes again, yet nothing was cut. Before the fix the
    bridge suspected a gap here and published every one of those old events as news."""
    asked, lines = recording(EDGE)
    rotation = next(i for i, raw in enumerate(lines) if raw["Action"] == "log-rotation")
    assert rotation > 0 and all(stamp(raw) < asked for raw in lines[:rotation])
    old = [raw for raw in lines if stamp(raw) < asked]
    source, published = await replay(lines, asked)
    assert source.metrics()["gaps_suspected"] == 0
    assert source.metrics()["rotations"] == 1
    assert source.metrics()["history_skipped"] == len(old)
    assert published == news(lines, asked)
    assert ("system.log-rotation", "/run/libpod/events/events.log") in published


async def test_a_recorded_burst_is_published_whole_and_once_without_a_gap() -> None:
    asked, lines = recording(BURST)
    source, published = await replay(lines, asked)
    expected = news(lines, asked)
    assert published == expected
    metrics = source.metrics()
    assert metrics["gaps_suspected"] == 0, metrics
    assert metrics["rotations"] == 6
    assert metrics["history_skipped"] == sum(1 for raw in lines if stamp(raw) < asked) > 0
    assert metrics["duplicates_dropped"] == len(lines) - len(expected) - \
        metrics["history_skipped"]


async def test_a_kept_half_of_what_the_reader_never_read_is_a_suspected_gap() -> None:
    """The recorded burst as a reader gets it that fell behind one whole rotation: it never
    read the second stretch of events live, only the kept half Podman fed it at the next
    rotation -- nothing in it had been read: a gap is suspected there, and only there."""
    asked, lines = recording(BURST)
    rotations = [i for i, raw in enumerate(lines) if raw["Action"] == "log-rotation"]
    first, second = rotations[0], rotations[1]
    # The second stretch: read live after the first rotation, then fed again before the
    # second; the reader that fell behind got only the second feeding.
    stretch = lines[first + 1:second]
    keys = [key(raw) for raw in stretch]
    fed_again = next(i for i, k in enumerate(keys) if k in keys[:i])
    behind = lines[:first + 1] + stretch[fed_again:] + lines[second:]
    source, published = await replay(behind, asked)
    assert source.metrics()["gaps_suspected"] == 1
    assert published == news(behind, asked)


async def test_when_the_clock_went_back_past_the_first_stream_nothing_is_history() -> None:
    """An event stamped before the stream was asked for is news when the host's clock now
    reads earlier than that moment: the clock was stepped back, and Podman's new events
    carry the earlier time too."""
    _, lines = recording(EDGE)
    ahead = time.time_ns() + 3_600 * 10**9      # "asked" an hour from now
    source, published = await replay(lines, ahead)
    assert source.metrics()["history_skipped"] == 0
    assert len(published) == len({key(raw) for raw in lines})
