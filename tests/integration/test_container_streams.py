"""Streams on the websocket against a real Podman (docs/protocol.md, section 9):
``containers.logs`` and ``containers.stats`` with follow, ``containers.exec`` with a TTY
both ways, a slow client that never reads, and a connection that goes with streams open."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.client_stream import ClientStream
from bridge.errors import BridgeError
from bridge.streams import MAX_ITEM_BYTES, QUEUE_ITEMS, WRITE_HIGH_WATER
from tests.helpers import unique
from tests.integration.bridgefix import RawWS, base_url, refused, wait_for

IMAGE = "localhost/podbridge/httpd:v1"
TICKER = ("trap 'exit 0' TERM; i=0; while true; do echo out $i; echo err $i >&2; "
          "i=$((i+1)); sleep 0.1; done")


@pytest.fixture
async def ticker(client: BridgeClient) -> AsyncIterator[str]:
    """A running container that prints ``out N`` (stdout) and ``err N`` (stderr) 10 times
    a second."""
    name = unique("tick")
    await client.call("containers.create", {"image": IMAGE, "name": name,
                                            "command": ["sh", "-c", TICKER]})
    try:
        yield name
    finally:
        try:
            await client.call("containers.remove", {"name": name, "force": True})
        except BridgeError as exc:
            assert exc.code == "not-found", exc


def stamp(text: str) -> float:
    """Podman's RFC 3339 time (nanoseconds, or whole seconds) as a number."""
    whole, _, frac = text.rstrip("Z").partition(".")
    return dt.datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (frac or "0"))


async def frames_until(stream: ClientStream, pred: Any, timeout: float = 30) -> list[Any]:
    got: list[Any] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await stream.next_frame(max(0.1, deadline - loop.time()))
        assert frame is not None, "connection lost"
        got.append(frame)
        if pred(got) or frame["type"] == "end":
            return got


async def test_logs_tail_then_follow_and_end(client: BridgeClient, ticker: str) -> None:
    # The tail, without follow: the last 4 lines, stdout and stderr told apart, in order.
    async def enough() -> bool:
        # Three seconds of lines (20 a second): journald's times are whole seconds.
        out = await client.call("containers.logs", {"name": ticker, "tail": 60})
        return len(out["lines"]) >= 60
    await wait_for(enough, 30, "the ticker's lines", 0.1)
    answer = await client.call("containers.logs", {"name": ticker, "tail": 4})
    tail = answer["lines"]
    assert len(tail) == 4 and answer["truncated"] is False
    assert {x["fd"] for x in tail} == {1, 2}
    assert all(re.fullmatch(r"(out|err) \d+", x["text"]) for x in tail), tail
    assert all(x["time"] and x["time"].startswith("20") for x in tail)

    # since: only the lines from that time on (Podman's RFC 3339 time, given back).
    # (Podman 5 with journald gives times to the second only: compare times, not lines.)
    everything = (await client.call("containers.logs", {"name": ticker, "tail": None}))
    since = (await client.call("containers.logs", {"name": ticker, "tail": None,
                                                   "since": tail[0]["time"]}))["lines"]
    assert since and all(stamp(x["time"]) >= stamp(tail[0]["time"]) for x in since), since
    assert stamp(everything["lines"][0]["time"]) < stamp(tail[0]["time"])
    assert "out 0" not in [x["text"] for x in since]
    # Follow: the stream opens, brings lines that were not printed yet, both fds.
    stream = await client.stream("containers.logs", {"name": ticker, "tail": 0,
                                                     "follow": True})
    assert stream.head == {"stream": stream.id}
    last_tail = max(int(x["text"].split()[1]) for x in tail)
    seen: list[dict[str, Any]] = []
    async for item in stream:
        seen += item["lines"]
        if len({x["fd"] for x in seen}) == 2 and len(seen) >= 10:
            break
    numbers = [int(x["text"].split()[1]) for x in seen if x["fd"] == 1]
    assert numbers == sorted(numbers) and numbers[-1] > last_tail
    # The container stops: Podman ends the log, the stream ends `eof`.
    await client.call("containers.stop", {"name": ticker, "timeout": 5})
    rest = await frames_until(stream, lambda got: False)
    assert rest[-1]["type"] == "end" and rest[-1]["reason"] == "eof", rest[-1]


async def test_logs_closed_by_the_client(client: BridgeClient, ticker: str) -> None:
    stream = await client.stream("containers.logs", {"name": ticker, "follow": True})
    await frames_until(stream, lambda got: got[-1]["type"] == "data")
    # Input and resize belong to exec: a log refuses them, and carries on.
    for msg in ({"type": "stream_input", "stream": stream.id, "data": "x"},
                {"type": "stream_resize", "stream": stream.id, "rows": 5, "cols": 5}):
        refused = await client.request(msg)
        assert refused["error"]["code"] == "not-supported", refused
    await frames_until(stream, lambda got: got[-1]["type"] == "data")
    reply = await client.request({"type": "stream_close", "stream": stream.id})
    assert reply["ok"], reply
    # The end frame came before the close's result: it is queued already.
    queued = []
    while not stream.frames.empty():
        queued.append(stream.frames.get_nowait())
    assert queued and queued[-1] == {"type": "end", "stream": stream.id, "reason": "closed"}
    again = await client.request({"type": "stream_close", "stream": stream.id})
    assert again["error"]["code"] == "not-found"


async def test_stream_errors_before_it_opens(client: BridgeClient, bridge: Bridge) -> None:
    with pytest.raises(BridgeError) as exc:
        await client.stream("containers.logs", {"name": unique("nope"), "follow": True})
    assert exc.value.code == "not-found"
    with pytest.raises(BridgeError) as exc:
        await client.stream("containers.exec", {"name": unique("nope")})
    assert exc.value.code == "not-found"
    with pytest.raises(BridgeError) as exc:
        await client.stream("containers.logs", {"name": "x", "follow": "often"})
    assert exc.value.code == "invalid-params"
    # REST cannot carry a stream: not-supported, and it says where to go.
    async with aiohttp.ClientSession() as http:
        async with http.get(base_url(bridge) + "/api/containers.logs",
                            params={"name": "x", "follow": "true"},
                            headers={"Authorization": f"Bearer {bridge.token}"}) as resp:
            body = await resp.json()
    assert resp.status == 501 and body["error"]["code"] == "not-supported", body
    assert "websocket" in body["error"]["message"]


async def test_exec_tty_both_ways_with_resize(client: BridgeClient, ticker: str) -> None:
    stream = await client.stream("containers.exec", {"name": ticker, "command": ["/bin/sh"],
                                                     "rows": 24, "cols": 80})
    assert stream.head["exec_id"]
    output = ""

    async def read_until(text: str) -> None:
        nonlocal output
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while text not in output:
            frame = await stream.next_frame(max(0.1, deadline - loop.time()))
            assert frame is not None and frame["type"] == "data", (frame, output)
            output += frame["data"]["output"]

    assert (await stream.input("stty size\r"))["ok"]
    await read_until("24 80")
    assert (await stream.resize(40, 120))["ok"]
    await stream.input("stty size; echo $((6*7))x\r")
    await read_until("40 120")
    await read_until("42x")
    await stream.input("exit 3\r")
    rest = await frames_until(stream, lambda got: False)
    assert rest[-1]["type"] == "end" and rest[-1]["reason"] == "exit", rest[-1]
    assert rest[-1]["exit_code"] == 3


async def test_exec_resizes_sent_at_once_end_at_the_last(client: BridgeClient,
                                                         ticker: str) -> None:
    """The panel sends a size on open and another when the terminal is fitted, without
    waiting between them: the process must end up with the last size asked for, whatever
    order the bridge's calls to Podman would have landed in."""
    stream = await client.stream("containers.exec", {"name": ticker, "command": ["/bin/sh"],
                                                     "rows": 24, "cols": 80})
    sizes = [(24, 80 + i) for i in range(1, 16)] + [(33, 107)]
    answers = await asyncio.gather(*(stream.resize(r, c) for r, c in sizes))
    assert all(a["ok"] for a in answers), answers
    output = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    await stream.input("stty size; echo size-$((40+2))\r")
    while "size-42" not in output:
        frame = await stream.next_frame(max(0.1, deadline - loop.time()))
        assert frame is not None and frame["type"] == "data", (frame, output)
        output += frame["data"]["output"]
    assert "33 107" in output, output
    await stream.close()


async def test_exec_without_tty_keeps_stdout_and_stderr(client: BridgeClient,
                                                        ticker: str) -> None:
    stream = await client.stream("containers.exec", {
        "name": ticker, "tty": False,
        "command": ["sh", "-c", "read x; echo out $x; echo err $x >&2; exit 5"]})
    await stream.input("hello\n")
    frames = await frames_until(stream, lambda got: False)
    data = [f["data"] for f in frames if f["type"] == "data"]
    out = "".join(d["output"] for d in data if d["fd"] == 1)
    err = "".join(d["output"] for d in data if d["fd"] == 2)
    assert out == "out hello\n" and err == "err hello\n", data
    assert frames[-1]["reason"] == "exit" and frames[-1]["exit_code"] == 5
    resize = await client.request({"type": "stream_resize", "stream": stream.id,
                                   "rows": 10, "cols": 10})
    assert resize["error"]["code"] == "not-found"   # it has ended


async def test_stats_sample_and_follow_under_load(client: BridgeClient, ticker: str) -> None:
    one = await client.call("containers.stats", {"name": ticker})
    assert one["mem_usage"] > 0 and one["pids"] >= 1, one
    assert set(one) >= {"cpu_percent", "mem_limit", "net_in", "block_out", "time"}
    stream = await client.stream("containers.stats", {"name": ticker, "follow": True,
                                                      "interval": 1})
    # Load: a busy loop in the container; the CPU seen must move.
    busy = await client.stream("containers.exec", {
        "name": ticker, "tty": False, "command": ["sh", "-c", "while :; do :; done"]})
    samples: list[dict[str, Any]] = []
    async for sample in stream:
        samples.append(sample)
        if sample["cpu_percent"] > 20 or len(samples) > 30:
            break
    assert samples[-1]["cpu_percent"] > 20, [s["cpu_percent"] for s in samples]
    await busy.close()
    await client.call("containers.stop", {"name": ticker, "timeout": 5})
    rest = await frames_until(stream, lambda got: False, timeout=30)
    assert rest[-1]["type"] == "end" and rest[-1]["reason"] == "eof", rest[-1]


async def test_stats_of_a_stopped_container_is_a_conflict(client: BridgeClient) -> None:
    name = unique("still")
    await client.call("containers.create", {"image": IMAGE, "name": name, "start": False})
    try:
        assert (await refused(client, "containers.stats", {"name": name})).code == "conflict"
    finally:
        await client.call("containers.remove", {"name": name, "force": True})


def runners(bridge: Bridge) -> list[Any]:
    assert bridge.server is not None
    return [r for c in bridge.server.connections for r in c._streams.values()]


async def test_slow_client_is_bounded_and_loses_nothing(bridge: Bridge, client: BridgeClient,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """A client that stops reading: the bridge's queue stays at its bound, the socket's
    buffer near its high-water mark, Podman is paused (frames sent stop growing); when
    the client reads again every line arrives, none lost, none doubled."""
    # exec's output, not the log: where journald keeps the log (debian13) it rate-limits
    # a flood, and the source would be too slow to fill anything.
    raw = await RawWS.open(bridge, max_msg_size=0)
    name = unique("flood")
    await client.call("containers.create", {"image": IMAGE, "name": name,
                                            "command": ["sleep", "1000"]})
    try:
        await raw.send({"id": 1, "type": "call", "method": "containers.exec",
                        "params": {"name": name, "tty": False,
                                   "command": ["seq", "1", "100000000"]}})
        assert (await raw.recv())["data"]["stream"] == 1
        await wait_for(lambda: bool(runners(bridge)), what="the stream")
        runner = runners(bridge)[0]
        transport = next(iter(bridge.server.connections)).request.transport  # type: ignore[union-attr]
        # Not reading: the bridge stops sending once the socket's buffers are full.
        await wait_for(lambda: runner.queued >= QUEUE_ITEMS - 1, timeout=60,
                       what="the stream's queue to fill")
        sent = runner.sent
        buffered = transport.get_write_buffer_size()
        await asyncio.sleep(1.0)   # a pause to see that nothing grows; no state to wait for
        assert runner.sent == sent, "frames kept going to a client that does not read"
        assert runner.queued <= QUEUE_ITEMS
        assert transport.get_write_buffer_size() <= WRITE_HIGH_WATER + 128 * 1024
        held = sum(len(json.dumps(item)) for _, item in list(runner._queue._queue))
        assert held <= QUEUE_ITEMS * (MAX_ITEM_BYTES + 1024)
        with capsys.disabled():
            print(f"\nslow client: queue {runner.queued}/{QUEUE_ITEMS} items (max "
                  f"{runner.max_queued}, {held} B of JSON), socket buffer {buffered} B, "
                  f"{sent} frames sent before the pause, none during it")
        # Reading again: every number, in order, from 1.
        expect, text = 1, ""
        while expect < 300_000:
            frame = await raw.recv(timeout=30)
            assert frame["type"] == "data" and frame["data"]["fd"] == 1, frame
            *lines, text = (text + frame["data"]["output"]).split("\n")
            for line in lines:
                assert int(line) == expect, (line, expect)
                expect += 1
    finally:
        await raw.close()
        await client.call("containers.remove", {"name": name, "force": True})
    await wait_for(lambda: not runners(bridge), what="the stream to go with its connection")


async def test_connection_close_ends_every_stream(bridge: Bridge, client: BridgeClient,
                                                  ticker: str) -> None:
    raw = await RawWS.open(bridge)
    try:
        calls = [("containers.logs", {"name": ticker, "follow": True}),
                 ("containers.stats", {"name": ticker, "follow": True}),
                 ("containers.exec", {"name": ticker})]
        for i, (method, params) in enumerate(calls, 1):
            await raw.send({"id": i, "type": "call", "method": method, "params": params})
        opened = 0
        while opened < 3:
            frame = await raw.recv(timeout=30)
            opened += frame.get("type") == "result" and frame["ok"]
            assert frame.get("ok", True), frame
        await wait_for(lambda: len(runners(bridge)) == 3, what="three streams")
        tasks = {t for t in asyncio.all_tasks() if t.get_name().startswith("stream/")}
        assert len(tasks) == 6
    finally:
        await raw.close()
    await wait_for(lambda: not runners(bridge), what="the streams to go")
    await wait_for(lambda: all(t.done() for t in tasks), what="every stream task to end")
    left = [t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("stream/")]
    assert not left, left


async def test_too_many_streams(bridge: Bridge, ticker: str) -> None:
    raw = await RawWS.open(bridge)
    try:
        for i in range(1, 18):
            await raw.send({"id": i, "type": "call", "method": "containers.logs",
                            "params": {"name": ticker, "follow": True, "tail": 0}})
        results: dict[int, dict[str, Any]] = {}
        while len(results) < 17:
            frame = await raw.recv(timeout=30)
            if frame["type"] == "result":
                results[frame["id"]] = frame
        refused = [r for r in results.values() if not r["ok"]]
        assert len(refused) == 1 and "too many open streams" in refused[0]["error"]["message"]
    finally:
        await raw.close()
    await wait_for(lambda: not runners(bridge), what="the streams to go")


async def test_streams_end_when_the_container_goes(client: BridgeClient, ticker: str) -> None:
    """Removing the container ends each stream that follows it (Podman ends the log and
    the exec; the bridge ends what Podman would not)."""
    streams = [await client.stream("containers.logs", {"name": ticker, "follow": True,
                                                       "tail": 0}),
               await client.stream("containers.stats", {"name": ticker, "follow": True,
                                                        "interval": 1}),
               await client.stream("containers.exec", {"name": ticker,
                                                       "command": ["sleep", "1000"]})]
    for stream in streams[:2]:
        await frames_until(stream, lambda got: got[-1]["type"] == "data")
    await client.call("containers.remove", {"name": ticker, "force": True})
    for stream in streams:
        frames = await frames_until(stream, lambda got: False, timeout=60)
        assert frames[-1]["type"] == "end", frames[-1]
        assert frames[-1]["reason"] in ("eof", "gone", "exit"), frames[-1]


async def test_a_removal_event_ends_a_stream_podman_keeps_open(bridge: Bridge,
                                                               client: BridgeClient,
                                                               ticker: str) -> None:
    """Podman ends its own streams when a container goes (above); the bridge also ends a
    stream when the bus says the container was removed, for a source that would not end.
    Here the container still runs: only the bus's ``container.remove`` (with its ID, and
    no owner: the system's) ends the stream, ``gone``; another container's does not."""
    cid = (await client.call("containers.inspect", {"name": ticker}))["Id"]
    stream = await client.stream("containers.logs", {"name": ticker, "follow": True,
                                                     "tail": 0})
    await frames_until(stream, lambda got: got[-1]["type"] == "data")
    bridge.bus.publish("container.remove", "podman", "other", {"id": "0" * 64})
    bridge.bus.publish("container.remove", "podman", ticker, {"id": cid, "uid": 1000,
                                                             "user": "someone"})
    still = await frames_until(stream, lambda got: got[-1]["type"] == "data")
    assert still[-1]["type"] == "data", still[-1]   # another's removal did not end it
    bridge.bus.publish("container.remove", "podman", ticker, {"id": cid})
    frames = await frames_until(stream, lambda got: False)
    assert frames[-1] == {"type": "end", "stream": stream.id, "reason": "gone"}
    assert (await client.call("containers.inspect", {"name": ticker}))["State"]["Running"]
