"""The in-process event bus: sequence numbers, a replay ring, bounded queues.

Publishing never waits on a subscriber. Two kinds of consumers exist:

- *listeners*: plain callables run inline by ``publish`` (the live state model uses one, so
  that a snapshot and the seq it reports agree). They must be quick; an exception is
  logged and never reaches the publisher.
- *subscriptions*: a bounded queue per consumer (a websocket client, a plugin). A
  subscription whose queue overflows is dropped with the seq to resume from; it never
  slows the publisher or the other subscribers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Any, TypeVar, overload

from bridge.contracts import Topic
from bridge.events import Event, encode_event, topic_matches

D = TypeVar("D", bound=Mapping[str, Any])

logger = logging.getLogger(__name__)

Listener = Callable[[Event, bytes], None]
# What a plugin's parts are given to publish with: PluginContext.publish (type, subject,
# data), or no_publish where there is no bus (a command run by itself, a test).
Publish = Callable[[str, str, Mapping[str, Any]], None]


def no_publish(type: str, subject: str, data: Mapping[str, Any]) -> None:
    """A Publish that publishes nothing."""


class SubscriptionDropped(Exception):
    """The subscriber fell behind its queue bound; it may resume with ``since``."""

    def __init__(self, resume_since: int) -> None:
        super().__init__(f"subscriber too slow; resume with since={resume_since}")
        self.resume_since = resume_since


class ReplayGap(Exception):
    """``since`` is older than the replay ring: the client must reload the state snapshot."""

    def __init__(self, oldest: int) -> None:
        super().__init__(f"events before seq {oldest} are no longer kept")
        self.oldest = oldest


class Subscription:
    """A bounded queue of (event, bytes) for one consumer.

    ``last_seq`` is the seq of the last event handed to the consumer, so that a dropped
    consumer knows where to resume.
    """

    def __init__(self, bus: Bus, patterns: tuple[str, ...], maxsize: int) -> None:
        self._bus = bus
        self.patterns = patterns
        self.maxsize = maxsize
        self._queue: deque[tuple[Event, bytes]] = deque()
        self._matched: dict[str, bool] = {}
        self._waiter: asyncio.Future[None] | None = None
        self.last_seq = 0
        # Only the events of these hosts (a fleet bus's subscription); None: every event.
        self.hosts: frozenset[str] | None = None
        self.dropped: SubscriptionDropped | None = None
        self.closed = False
        # Called inline when the subscription is dropped, so that a consumer stuck writing
        # to a stalled peer can be let go of at once.
        self.on_drop: Callable[[SubscriptionDropped], None] | None = None

    def matches(self, topic: str) -> bool:
        hit = self._matched.get(topic)
        if hit is None:
            hit = topic_matches(self.patterns, topic)
            if len(self._matched) < 4096:
                self._matched[topic] = hit
        return hit

    def _push(self, item: tuple[Event, bytes]) -> None:
        """Queue one (event, bytes) pair; the same tuple goes to every subscription."""
        if self.closed or (self.hosts is not None and item[0].host not in self.hosts):
            return
        queue = self._queue
        if len(queue) >= self.maxsize:
            # The consumer has fallen behind: tell it where to resume, and let go of it.
            resume = queue[0][0].seq - 1 if queue else self.last_seq
            self.dropped = SubscriptionDropped(resume)
            queue.clear()
            self._bus._discard(self)
            self.closed = True
            logger.warning("dropped a slow subscriber of %s at seq %d", self.patterns, resume)
            if self.on_drop is not None:
                self.on_drop(self.dropped)
        else:
            queue.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pending(self) -> int:
        return len(self._queue)

    def get_nowait(self) -> tuple[Event, bytes] | None:
        if self._queue:
            item = self._queue.popleft()
            self.last_seq = item[0].seq
            return item
        if self.dropped is not None:
            raise self.dropped
        return None

    async def next(self) -> tuple[Event, bytes] | None:
        """The next (event, bytes); ``None`` once the subscription is closed and empty: the
        end of the stream is a value. A dropped one raises ``SubscriptionDropped``."""
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def drain(self) -> list[tuple[Event, bytes]]:
        """Everything queued now, without waiting (for batching writers)."""
        items = list(self._queue)
        self._queue.clear()
        if items:
            self.last_seq = items[-1][0].seq
        elif self.dropped is not None:
            raise self.dropped
        return items

    async def events(self) -> AsyncIterator[Event]:
        """Every event until the subscription is closed (then the loop just ends)."""
        while (item := await self.next()) is not None:
            yield item[0]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._bus._discard(self)
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(None)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Bus:
    """``first_seq``: the seq before the first event. A bridge starts it above any seq an
    earlier run of it can have given out, so that a client resuming across a restart of
    the bridge is told to reset instead of being fed a stranger's numbers."""

    def __init__(self, ring_size: int = 10_000, queue_size: int = 1_000,
                 first_seq: int = 0) -> None:
        self.ring_size = ring_size
        self.queue_size = queue_size
        self._seq = first_seq
        self._ring: deque[tuple[Event, bytes]] = deque(maxlen=ring_size)
        self._subs: list[Subscription] = []
        self._listeners: list[tuple[tuple[str, ...], Listener]] = []
        # The fleet host name stamped on every event (docs/fleet.md); None outside a fleet.
        self.host: str | None = None

    @property
    def seq(self) -> int:
        """The seq of the newest event (0 before the first)."""
        return self._seq

    @property
    def oldest_seq(self) -> int:
        return self._ring[0][0].seq if self._ring else self._seq + 1

    @overload
    def publish(self, type: Topic[D], source: str, subject: str, data: D, *,
                time: str | None = None) -> Event: ...

    @overload
    def publish(self, type: str, source: str, subject: str,
                data: Mapping[str, Any] | None = None, *, time: str | None = None
                ) -> Event: ...

    def publish(
        self, type: str, source: str, subject: str, data: Mapping[str, Any] | None = None,
        *, time: str | None = None,
    ) -> Event:
        """Publish an event. With a ``Topic`` (bridge.contracts) its data is checked
        against the topic's TypedDict; a plain topic string takes any mapping."""
        return self._publish(type, source, subject, data, time)

    def _publish(self, type: str, source: str, subject: str,
                 data: Mapping[str, Any] | None, time: str | None) -> Event:
        self._seq += 1
        event = Event(self._seq, type, source, subject, data or {}, time, host=self.host)
        raw = encode_event(event)
        self._fan_out(event, raw)
        return event

    def inject(self, event: Event, raw: bytes) -> None:
        """Fan out an event made elsewhere (the fleet's events, numbered by the stream), with
        its own seq, which must be above every seq this bus gave out."""
        if event.seq <= self._seq:
            raise ValueError(f"seq {event.seq} is not above {self._seq}")
        self._seq = event.seq
        self._fan_out(event, raw)

    def _fan_out(self, event: Event, raw: bytes) -> None:
        type = event.type
        self._ring.append((event, raw))
        for patterns, listener in self._listeners:
            if topic_matches(patterns, type):
                try:
                    listener(event, raw)
                except Exception:
                    logger.exception("bus listener %r failed on %s", listener, type)
        # The hot path of fan-out: one tuple for all, the topic's match looked up inline.
        item = (event, raw)
        for sub in list(self._subs):
            hit = sub._matched.get(type)
            if hit is None:
                hit = sub.matches(type)
            if hit:
                sub._push(item)

    @overload
    def listen(self, patterns: Topic[D], listener: Callable[[Event, D], None]
               ) -> Callable[[], None]: ...

    @overload
    def listen(self, patterns: Iterable[str], listener: Listener) -> Callable[[], None]: ...

    def listen(self, patterns: Iterable[str] | Topic[Any], listener: Callable[..., None]
               ) -> Callable[[], None]:
        """Run ``listener`` inline for every matching event; returns the function that stops
        it. Given one ``Topic``, the listener gets ``(event, data)``, its data typed by the
        topic; given patterns, ``(event, raw bytes)`` as always."""
        if isinstance(patterns, Topic):
            typed = listener

            def listener(event: Event, _raw: bytes) -> None:
                typed(event, event.data)

            patterns = (str(patterns),)
        return self._listen(tuple(patterns), listener)

    def _listen(self, patterns: tuple[str, ...], listener: Listener) -> Callable[[], None]:
        entry = (patterns, listener)
        self._listeners.append(entry)

        def remove() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return remove

    def subscribe(
        self, patterns: Iterable[str], since: int | None = None, maxsize: int | None = None,
        hosts: Iterable[str] | None = None,
    ) -> Subscription:
        """A new subscription; with ``since`` (the last seq the consumer saw), the events after
        it that are still in the ring are queued first. Raises ReplayGap when some are gone.
        ``hosts``: only events whose ``host`` is one of them."""
        sub = Subscription(self, tuple(patterns), maxsize or self.queue_size)
        if hosts is not None:
            sub.hosts = frozenset(hosts)
        if since is not None:
            if since < 0:
                raise ValueError("since must be >= 0")
            # Older than the ring, or newer than anything given out (a client of an earlier
            # run of the bridge): either way its view cannot be patched up with events.
            if (since + 1 < self.oldest_seq and since < self._seq) or since > self._seq:
                raise ReplayGap(self.oldest_seq)
            sub.last_seq = min(since, self._seq)
            backlog = [item for item in self._ring if item[0].seq > since
                       and sub.matches(item[0].type)
                       and (sub.hosts is None or item[0].host in sub.hosts)]
            # A replay larger than the queue is still given whole (it is bounded by the ring):
            # the bound applies to what arrives on top of it.
            sub._queue.extend(backlog)
            sub.maxsize += len(backlog)
        else:
            sub.last_seq = self._seq
        self._subs.append(sub)
        return sub

    def _discard(self, sub: Subscription) -> None:
        if sub in self._subs:
            self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def replay(self, since: int) -> list[Event]:
        return [e for e, _ in self._ring if e.seq > since]
