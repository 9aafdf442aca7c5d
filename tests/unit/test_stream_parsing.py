"""Pure logic of the streams: the log frames' parser and the runner's bounds (a fake
source: what crosses a process boundary is tested against the real Podman in
tests/integration/test_container_streams.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from bridge.container_logs import LogParser
from bridge.container_stats import cpu_percent
from bridge.streams import MAX_ITEM_BYTES, End, Put, StreamRunner, StreamSource

T1, T2 = "2026-11-29T10:00:01.000000001Z", "2026-11-29T10:00:02.000000002Z"


def frame(fd: int, text: str) -> bytes:
    data = text.encode()
    return bytes([fd, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_frames_split_anywhere_and_partial_lines_joined() -> None:
    raw = (frame(1, f"{T1} hello\n") + frame(2, f"{T1} par") + frame(2, f"{T2} tial\n")
           + frame(1, f"{T2} two\n"))
    parser = LogParser()
    out: list[dict[str, Any]] = []
    for i in range(0, len(raw), 5):       # fed 5 bytes at a time
        out += parser.feed(raw[i:i + 5])
    assert out == [{"fd": 1, "time": T1, "text": "hello"},
                   {"fd": 2, "time": T1, "text": "partial"},
                   {"fd": 1, "time": T2, "text": "two"}]
    assert parser.flush() == []


def test_plain_lines_without_frames() -> None:
    parser = LogParser()
    assert parser.feed(f"{T1} a\r\n{T2} b".encode()) == [{"fd": 1, "time": T1, "text": "a"}]
    assert parser.flush() == [{"fd": 1, "time": T2, "text": "b"}]


class Counter(StreamSource):
    def __init__(self, n: int, policy: str) -> None:
        self.n = n
        self.policy = policy  # type: ignore[assignment]
        self.produced = 0

    async def produce(self, put: Put) -> End:
        for i in range(self.n):
            await put({"i": i})
            self.produced += 1
        return End("eof")


async def run_slow(policy: str) -> tuple[Counter, list[dict[str, Any]], int]:
    src = Counter(50, policy)
    sent: list[dict[str, Any]] = []
    gate = asyncio.Event()

    async def send(frame: dict[str, Any]) -> None:
        await gate.wait()               # a client that does not read until let go
        sent.append(frame)

    runner = StreamRunner(1, src, send, lambda: 0, queue_items=4)
    runner.start()
    for _ in range(100):
        await asyncio.sleep(0)
    held = src.produced
    gate.set()
    await runner.wait()
    return src, sent, held


async def test_pause_policy_holds_the_producer_and_loses_nothing() -> None:
    _src, sent, held = await run_slow("pause")
    assert held <= 4 + 1                  # the queue's bound, plus the one being sent
    assert [f["data"]["i"] for f in sent if f["type"] == "data"] == list(range(50))
    assert sent[-1] == {"type": "end", "stream": 1, "reason": "eof"}


async def test_drop_policy_counts_what_it_drops() -> None:
    _src, sent, held = await run_slow("drop")
    assert held == 50                      # the producer never waited
    data = [f["data"]["i"] for f in sent if f["type"] == "data"]
    gaps = [f["dropped"] for f in sent if f["type"] == "gap"]
    assert len(data) + sum(gaps) == 50 and gaps, sent
    assert data == sorted(data) and sent[-1]["type"] == "end"


def test_cpu_percent_from_two_samples() -> None:
    # Podman 5's CPU field is an average since start; the deltas say what the last second
    # used: 0.5 s of CPU in 1 s of clock.
    prev = {"CPUNano": 1_000_000_000, "SystemNano": 10_000_000_000, "CPU": 3.0}
    now = {"CPUNano": 1_500_000_000, "SystemNano": 11_000_000_000, "CPU": 4.0}
    assert cpu_percent(now, prev) == 50.0
    assert cpu_percent(now, None) == 4.0          # the first sample: Podman's own


def test_a_line_that_never_ends_is_sent_in_bounded_pieces() -> None:
    parser = LogParser()
    out: list[dict[str, Any]] = []
    for _ in range(40):                    # 40 partial frames of 8 KiB, no newline
        out += parser.feed(frame(1, f"{T1} " + "x" * 8192))
    assert out and all(len(r["text"]) <= MAX_ITEM_BYTES + 8192 for r in out)
    assert sum(len(r["text"]) for r in out + parser.flush()) == 40 * 8192
