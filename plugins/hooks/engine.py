"""The hook engine: one bus subscription, rules matched inline, actions run by a bounded pool.

The event path only matches: for each event, the rules whose topic glob fits are checked
against it (no I/O), then a matching rule is debounced and rate-limited, and a job is put on
a bounded queue. ``max_concurrent`` workers take jobs off the queue and run the rule's
actions in order (the first failure stops the rest). When the queue is full, the new job is
dropped, recorded, and reported as ``hook.failed``: the bus is never waited on.

Loops. Every event the plugin publishes (``hook.fired``, ``hook.failed``, a publish action's
event) carries a lineage, kept here by seq: the rules whose firing led to it, and how deep
that chain is. A rule never fires on an event of its own lineage, and no rule fires on an
event whose chain is already ``max_chain`` long. So a rule on ``hook.failed`` cannot feed on
its own failures, and two rules cannot ping-pong through publish actions. Loops through the
outside world (a ``call`` that restarts a container whose death fires the rule again) are
not seen here: debounce and rate limit are what bound those.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bridge.bus import Bus, ReplayGap, Subscription, SubscriptionDropped
from bridge.events import Event, rfc3339
from bridge.methods import MethodRegistry
from bridge.store import Journal, Store
from plugins.hooks.actions import ActionFailed, ActionRunner, preview
from plugins.hooks.limits import Debouncer, RateLimiter
from plugins.hooks.rules import HOOK_FAILED, HOOK_FIRED, HookData, HookHistoryEntry, Rule

logger = logging.getLogger(__name__)

NAMESPACE = "hooks"
LINEAGE_KEEP = 4096
SUBSCRIPTION_QUEUE = 10_000
OUTPUT_IN_EVENT = 1024  # bytes of a command's output in hook.* events (all of it is recorded)

Spawn = Callable[[Coroutine[Any, Any, Any], str], "asyncio.Task[Any]"]


@dataclass(frozen=True)
class Lineage:
    depth: int = 0
    rules: frozenset[str] = frozenset()

    def then(self, rule: str) -> Lineage:
        return Lineage(self.depth + 1, self.rules | {rule})


ROOT = Lineage()


@dataclass
class RuleStats:
    matched: int = 0
    fired: int = 0
    failed: int = 0
    suppressed: int = 0  # over the rate limit
    dropped: int = 0  # queue full
    loops_blocked: int = 0
    last_fired: float | None = None
    last_error: str | None = None


@dataclass
class RuleEntry:
    rule: Rule
    origin: str  # "config" or "api"
    stats: RuleStats = field(default_factory=RuleStats)
    limiter: RateLimiter | None = None

    def __post_init__(self) -> None:
        if self.rule.rate_limit is not None:
            self.limiter = RateLimiter(self.rule.rate_limit.max, self.rule.rate_limit.per)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.rule.name, "origin": self.origin, "rule": self.rule.public(),
                "stats": {**self.stats.__dict__, "last_fired": rfc3339(self.stats.last_fired)}}


@dataclass
class Job:
    entry: RuleEntry
    event: dict[str, Any]
    lineage: Lineage
    count: int


class Engine:
    def __init__(self, *, bus: Bus, methods: MethodRegistry, store: Store, source: str,
                 session: aiohttp.ClientSession, spawn: Spawn, dry_run: bool = False,
                 max_concurrent: int = 4, queue_size: int = 100, max_chain: int = 3,
                 history: int = 10_000,
                 subscribe: Callable[..., Subscription] | None = None) -> None:
        """``subscribe``: how the engine subscribes to the bus (a plugin passes its
        context's, so that the subscription ends with the plugin)."""
        self.bus = bus
        self._subscribe = subscribe or bus.subscribe
        self.store = store
        self.journal = Journal(store, NAMESPACE, HookData, HookHistoryEntry)
        self.source = source
        self.dry_run = dry_run
        self.max_chain = max_chain
        self.history = history
        self.rules: dict[str, RuleEntry] = {}
        self.runner = ActionRunner(methods=methods, session=session)
        self._spawn = spawn
        self._max_concurrent = max_concurrent
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=queue_size)
        self._debouncer = Debouncer(self._debounced)
        self._lineage: OrderedDict[int, Lineage] = OrderedDict()
        self._sub: Subscription | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._appends = 0

    # -- lifecycle

    def start(self) -> None:
        self._sub = self._subscribe(["**"], maxsize=SUBSCRIPTION_QUEUE)
        self._tasks.append(self._spawn(self._read_events(), "hooks/events"))
        for i in range(self._max_concurrent):
            self._tasks.append(self._spawn(self._work(i), f"hooks/worker-{i}"))

    async def stop(self) -> None:
        if self._sub is not None:
            self._sub.close()
        self._debouncer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # -- rules

    def set_rule(self, rule: Rule, origin: str) -> RuleEntry:
        self._debouncer.cancel(lambda k: isinstance(k, tuple) and k[0] == rule.name)
        entry = RuleEntry(rule, origin)
        self.rules[rule.name] = entry
        return entry

    def remove_rule(self, name: str) -> RuleEntry | None:
        self._debouncer.cancel(lambda k: isinstance(k, tuple) and k[0] == name)
        return self.rules.pop(name, None)

    # -- the event path: no awaiting here

    async def _read_events(self) -> None:
        while True:
            assert self._sub is not None
            try:
                item = await self._sub.next()
            except SubscriptionDropped as exc:
                logger.warning("hooks fell %d events behind; resuming after seq %d",
                               SUBSCRIPTION_QUEUE, exc.resume_since)
                try:
                    self._sub = self._subscribe(["**"], since=exc.resume_since,
                                                   maxsize=SUBSCRIPTION_QUEUE)
                except ReplayGap as gap:
                    logger.error("hooks missed events up to seq %d", gap.oldest - 1)
                    self._sub = self._subscribe(["**"], maxsize=SUBSCRIPTION_QUEUE)
                continue
            if item is None:
                return  # the engine is stopping
            self.on_event(item[0])

    def on_event(self, event: Event) -> None:
        lineage = self._lineage.get(event.seq, ROOT)
        doc: dict[str, Any] | None = None
        for entry in list(self.rules.values()):
            rule = entry.rule
            if not rule.enabled or not rule.topic_matches(event.type):
                continue
            if doc is None:
                doc = event.to_json()
            if not rule.matches(doc):
                continue
            if rule.name in lineage.rules or lineage.depth >= self.max_chain:
                entry.stats.loops_blocked += 1
                logger.debug("rule %s: not fired on seq %d, which it led to itself (chain %s)",
                             rule.name, event.seq, sorted(lineage.rules))
                continue
            entry.stats.matched += 1
            if rule.debounce > 0:
                self._debouncer.offer((rule.name, event.subject), (entry, doc, lineage),
                                      rule.debounce)
            else:
                self._enqueue(entry, doc, lineage, 1)

    def _debounced(self, key: Hashable, item: Any, count: int) -> None:
        entry: RuleEntry = item[0]
        if self.rules.get(entry.rule.name) is not entry:  # removed or replaced meanwhile
            return
        self._enqueue(entry, item[1], item[2], count)

    def _enqueue(self, entry: RuleEntry, doc: dict[str, Any], lineage: Lineage, count: int
                 ) -> None:
        name = entry.rule.name
        if entry.limiter is not None and not entry.limiter.allow():
            entry.stats.suppressed += 1
            if entry.limiter.suppressed == 1:  # once per burst, not per event
                limit = entry.rule.rate_limit
                assert limit is not None
                logger.warning("rule %s: over its rate limit of %d per %gs; suppressing",
                               name, limit.max, limit.per)
                self._record("suppressed", name, {"event": _summary(doc)})
            return
        try:
            self._queue.put_nowait(Job(entry, doc, lineage, count))
        except asyncio.QueueFull:
            entry.stats.dropped += 1
            error = (f"{self._queue.maxsize} hook jobs already waiting: dropped this one "
                     f"(raise queue_size or max_concurrent)")
            logger.warning("rule %s: %s", name, error)
            data: HookData = {"rule": name, "event": _summary(doc), "count": count,
                              "error": error, "dropped": True, "actions": []}
            self._record("dropped", name, data)
            self._publish(HOOK_FAILED, name, data, lineage.then(name))

    # -- workers

    async def _work(self, index: int) -> None:
        while True:
            job = await self._queue.get()
            try:
                await self._execute(job)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("rule %s: the hook engine failed on it", job.entry.rule.name)
            finally:
                self._queue.task_done()

    async def _execute(self, job: Job) -> None:
        rule = job.entry.rule
        lineage = job.lineage.then(rule.name)

        def publish(type: str, subject: str, data: dict[str, Any]) -> int:
            # What a publish action sends carries the lineage of the firing that sent it.
            return self._publish(type, subject, data, lineage)
        dry_run = self.dry_run or rule.dry_run
        loop = asyncio.get_running_loop()
        started = loop.time()
        results: list[dict[str, Any]] = []
        error: str | None = None
        for i, action in enumerate(rule.actions):
            if dry_run:
                would = preview(action, job.event)
                logger.info("dry-run: rule %s would %s: %s", rule.name, action.describe(),
                            would)
                results.append({**would, "dry_run": True})
                continue
            try:
                results.append(await self.runner.run(action, job.event, rule.name, job.count,
                                                     publish))
            except ActionFailed as exc:
                error = f"action {i} ({action.type}): {exc}"
                results.append({"type": action.type, **exc.detail, "error": str(exc)})
            except Exception as exc:
                logger.exception("rule %s: action %d raised", rule.name, i)
                error = f"action {i} ({action.type}): {type(exc).__name__}: {exc}"
                results.append({"type": action.type, "error": error})
            if error is not None:
                results.extend({"type": a.type, "skipped": True} for a in rule.actions[i + 1:])
                break
        data: HookData = {"rule": rule.name, "event": _summary(job.event), "count": job.count,
                          "dry_run": dry_run, "duration": round(loop.time() - started, 3),
                          "actions": results}
        stats = job.entry.stats
        if error is None:
            stats.fired += 1
            stats.last_fired = time.time()
            logger.info("rule %s fired on %s %s", rule.name, job.event.get("type"),
                        job.event.get("subject"))
            self._record("dry-run" if dry_run else "fired", rule.name, data)
            self._publish(HOOK_FIRED, rule.name, _trim(data), lineage)
        else:
            stats.failed += 1
            stats.last_error = error
            logger.warning("rule %s failed on %s %s: %s", rule.name, job.event.get("type"),
                           job.event.get("subject"), error)
            data["error"] = error
            self._record("failed", rule.name, data)
            self._publish(HOOK_FAILED, rule.name, _trim(data), lineage)

    # -- what the plugin publishes and records

    def _publish(self, type: str, subject: str, data: Mapping[str, Any], lineage: Lineage
                 ) -> int:
        event = self.bus.publish(type, self.source, subject, data)
        self._lineage[event.seq] = lineage
        while len(self._lineage) > LINEAGE_KEEP:
            self._lineage.popitem(last=False)
        return event.seq

    def _record(self, kind: str, rule: str, data: HookData) -> None:
        try:
            self.journal.append(kind, rule, data)
            self._appends += 1
            if self._appends % 200 == 0:
                self.journal.trim(self.history)
        except Exception:
            logger.exception("cannot record the outcome of rule %s", rule)


def _summary(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) for k in ("seq", "id", "type", "subject", "source")}


def _trim(data: HookData) -> HookData:
    """hook.* events carry a command's output only up to a bound (the record has it all)."""
    actions = []
    for a in data["actions"]:
        out = a.get("output")
        if isinstance(out, str) and len(out) > OUTPUT_IN_EVENT:
            a = {**a, "output": out[-OUTPUT_IN_EVENT:], "output_truncated": True}
        actions.append(a)
    return {**data, "actions": actions}
