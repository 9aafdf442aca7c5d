"""A bridge's link to its fleet over NATS JetStream (docs/fleet.md).

The link never holds the bridge up: events go to a local outbox first, and a sender
publishes them (acknowledged by JetStream, de-duplicated by ``Nats-Msg-Id``) whenever NATS
answers; heartbeats, summaries and method calls simply wait for NATS to come back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nats
import orjson
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js import errors as js_errors

from bridge import __version__
from bridge.backoff import Backoff, retrying
from bridge.errors import BridgeError, ProtocolError, to_bridge_error
from bridge.events import Event, topic_matches
from bridge.fleet.api import FleetError, FleetUnavailable
from bridge.fleet.hosts import host_rows, summary_of
from bridge.fleet.kv import JsonKV
from bridge.fleet.outbox import FLEET_OUTBOX_OVERFLOW, Outbox, OutboxOverflowData
from bridge.fleet.settings import FleetSettings, check_name
from bridge.methods import AccessDenied
from bridge.roles import RANK, ROLES, Caller
from bridge.streams import StreamSource
from bridge.tasks import TaskOwner, within

if TYPE_CHECKING:
    from bridge.bus import Bus
    from bridge.methods import MethodRegistry
    from bridge.state import State

logger = logging.getLogger(__name__)

BATCH = 512          # events published before their acks are awaited together
PUBLISH_TIMEOUT = 5.0
DUPLICATE_WINDOW = 120.0


def connect_options(s: FleetSettings) -> dict[str, Any]:
    """nats.connect keyword arguments for the settings' credentials and TLS."""
    opts: dict[str, Any] = {}
    if s.user:
        opts["user"], opts["password"] = s.user, s.password
    if s.token:
        opts["token"] = s.token
    if s.nkey_seed_file:
        opts["nkeys_seed"] = str(s.nkey_seed_file)
    if s.creds_file:
        opts["user_credentials"] = str(s.creds_file)
    if s.tls_ca or s.tls_cert or any(u.startswith("tls://") for u in s.servers):
        ctx = ssl.create_default_context(cafile=str(s.tls_ca) if s.tls_ca else None)
        if s.tls_cert and s.tls_key:
            ctx.load_cert_chain(str(s.tls_cert), str(s.tls_key))
        opts["tls"] = ctx
    return opts


class FleetLink:
    """``client=True``: a command's connection (no outbox, heartbeat, calls or watch)."""

    def __init__(self, settings: FleetSettings, *, bus: Bus | None,
                 methods: MethodRegistry | None, state: State | None,
                 client: bool = False, fleet_bus: Bus | None = None,
                 outbox_path: Path | None = None, answer_calls: bool = True) -> None:
        """``outbox_path``: the SQLite file that keeps unacknowledged events across a
        restart (a bridge's ``STATE_DIR/fleet-outbox.db``); None keeps them in memory.
        ``answer_calls=False``: answer fleet calls only once :meth:`answer_calls` is called
        (a bridge: once it serves its own clients, its state loaded)."""
        self.settings = settings
        self.host = settings.host
        self.bus = bus
        self.methods = methods
        self.state = state
        self.client = client
        self.fleet_bus = fleet_bus  # where the watched events of every host go
        self.nc: Any = None
        self.js: Any = None
        self._ready = asyncio.Event()     # connected and streams/buckets in place
        self._wake = asyncio.Event()
        self.outbox = Outbox(settings.outbox_max, None if client else outbox_path)
        self.published_seq = 0
        self.started = time.time()
        # The link's own tasks and the calls it is answering: cancelled and awaited on close.
        self._tasks = TaskOwner("fleet")
        self._unlisten: Any = None
        self._buckets: dict[str, JsonKV] = {}
        self.heartbeats: dict[str, dict[str, Any]] = {}
        self.summaries_cache: dict[str, dict[str, Any]] = {}
        self._hosts_read = -1e9  # monotonic time of the last read of both buckets
        self._closing = False
        self._answering = asyncio.Event()
        if answer_calls:
            self._answering.set()

    # -- lifecycle
    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self.nc is not None and self.nc.is_connected

    async def wait_connected(self, timeout: float | None) -> bool:
        try:
            await within(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def start(self) -> None:
        if self.bus is not None and not self.client:
            self._unlisten = self.bus.listen(["**"], self._on_event)
        self._tasks.create(self._run(), "link")

    async def close(self) -> None:
        self._closing = True
        if self._unlisten is not None:
            self._unlisten()
        await self._tasks.close()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await within(self.nc.close(), 5)
        self.outbox.close()

    def status(self) -> dict[str, Any]:
        server = None
        if self.nc is not None and self.nc.is_connected and self.nc.connected_url:
            u = self.nc.connected_url
            server = f"{u.scheme}://{u.hostname}:{u.port}"
        return {"joined": True, "connected": self.connected, "fleet": self.settings.name,
                "host": self.host, "server": server, "outbox": len(self.outbox),
                "dropped": self.outbox.dropped, "published_seq": self.published_seq}

    # -- connecting
    async def _run(self) -> None:
        self.nc = await retrying(lambda: nats.connect(
            self.settings.servers, name=f"podbridge {self.host}",
            allow_reconnect=True, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            connect_timeout=2, ping_interval=5, max_outstanding_pings=2,
            disconnected_cb=self._on_disconnected, reconnected_cb=self._on_reconnected,
            error_cb=self._on_error, **connect_options(self.settings)),
            Backoff(0.2, 5.0), lambda exc, _: logger.info(
                "fleet %s: no NATS server answers (%s); trying again", self.settings.name, exc))
        self.js = self.nc.jetstream(timeout=PUBLISH_TIMEOUT)
        # The stream and the two buckets, made when missing; retried until JetStream
        # answers (a fresh cluster elects its meta leader first).
        await retrying(self._setup, Backoff(0.2, 2.0), lambda exc, _: logger.info(
            "fleet %s: JetStream not ready (%s); trying again", self.settings.name, exc))
        self._ready.set()
        logger.info("fleet %s: host %s joined through %s", self.settings.name, self.host,
                    self.nc.connected_url.netloc if self.nc.connected_url else "?")
        if self.client:
            return
        self._tasks.create(self._send(), "send")
        self._tasks.create(self._beat(), "heartbeat")
        if self.settings.watch:
            # Only a bridge that watches the fleet keeps every host's heartbeat at hand (on a
            # big fleet, N hosts each reading N heartbeats is N² messages); the others read
            # the buckets when asked.
            self._tasks.create(self._follow_hosts(), "hosts")
        self._tasks.create(self._serve_calls(), "calls")
        if self.settings.watch and self.fleet_bus is not None:
            self._tasks.create(self._watch(), "watch")
        self._wake.set()

    def answer_calls(self) -> None:
        """Start answering method calls for this host (see ``answer_calls``)."""
        self._answering.set()

    async def _serve_calls(self) -> None:
        # A call answered before the bridge has its state would see an empty host (a
        # panel showing this host would load an empty snapshot): wait until it serves.
        await self._answering.wait()
        await self.nc.subscribe(self.settings.rpc_subject(self.host), cb=self._on_rpc)

    async def _setup(self) -> None:
        await self._ensure_stream()
        await self._bucket("heartbeat")
        await self._bucket("summary")

    def _replicas_error(self, exc: Exception) -> bool:
        text = str(exc).lower()
        return "insufficient resources" in text or "replicas" in text

    async def _ensure_stream(self) -> None:
        s = self.settings
        with contextlib.suppress(js_errors.NotFoundError):
            await self.js.stream_info(s.stream)
            return
        config = api.StreamConfig(
            name=s.stream, subjects=[f"{s.event_prefix}.>"], retention=api.RetentionPolicy.LIMITS,
            max_age=s.stream_max_age, max_bytes=s.stream_max_bytes,
            discard=api.DiscardPolicy.OLD, storage=api.StorageType.FILE,
            num_replicas=s.replicas, duplicate_window=DUPLICATE_WINDOW)
        try:
            await self.js.add_stream(config)
        except js_errors.APIError as exc:
            if s.replicas == 1 or not self._replicas_error(exc):
                raise
            logger.warning("fleet %s: %d replicas refused (%s); the stream gets 1", s.name,
                           s.replicas, exc)
            config.num_replicas = 1
            await self.js.add_stream(config)

    async def _bucket(self, name: str) -> JsonKV:
        if name in self._buckets:
            return self._buckets[name]
        full = self.settings.bucket(name)
        try:
            kv = await self.js.key_value(full)
        except js_errors.BucketNotFoundError:
            try:
                kv = await self.js.create_key_value(bucket=full, history=1,
                                                    replicas=self.settings.replicas)
            except js_errors.APIError as exc:
                if self.settings.replicas == 1 or not self._replicas_error(exc):
                    raise
                logger.warning("fleet: bucket %s gets 1 replica (%s)", full, exc)
                kv = await self.js.create_key_value(bucket=full, history=1, replicas=1)
        self._buckets[name] = JsonKV(full, kv)
        return self._buckets[name]

    async def _on_disconnected(self) -> None:
        if not self._closing:
            logger.warning("fleet %s: NATS connection lost; events wait in the outbox",
                           self.settings.name)

    async def _on_reconnected(self) -> None:
        logger.info("fleet %s: NATS connection back (%s)", self.settings.name,
                    self.nc.connected_url.netloc if self.nc.connected_url else "?")
        self._wake.set()

    async def _on_error(self, exc: Exception) -> None:
        logger.debug("fleet: NATS error: %s", exc)

    # -- publishing the bus (the outbox)
    def _on_event(self, event: Event, raw: bytes) -> None:
        self.outbox.append(event.seq, self.settings.event_subject(self.host, event.type), raw)
        self._wake.set()

    async def _send(self) -> None:
        """Publish the outbox in order; an event leaves it only once JetStream has it."""
        host = self.host
        while True:
            if self.outbox.lost is not None and self.bus is not None:
                self._report_lost()
            if not self.outbox or not self.nc.is_connected:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self.outbox.head(BATCH)
            publishes = [self.js.publish(subject, raw, timeout=PUBLISH_TIMEOUT,
                                         headers={"Nats-Msg-Id": f"{host}:{seq}"})
                         for seq, subject, raw in batch]
            results = await asyncio.gather(*publishes, return_exceptions=True)
            # How many were acknowledged before the first that was not.
            done = next((i for i, r in enumerate(results) if isinstance(r, BaseException)),
                        len(results))
            # Only the acknowledged head leaves the outbox (the same events may have been
            # dropped meanwhile when it overflowed: count from its head as it is now).
            if done:
                self.outbox.acknowledged(batch[done - 1].seq)
                self.published_seq = batch[done - 1].seq
            if done < len(batch):
                logger.info("fleet: publishing paused (%s); %d events wait", results[done],
                            len(self.outbox))
                await asyncio.sleep(0.5)

    def _report_lost(self) -> None:
        """Tell the fleet (and this host's clients) that a full outbox lost events: an
        event of its own, sent once NATS is back, after the events the outbox kept."""
        lost = self.outbox.lost
        # Once the outbox has room: the report itself must not push out another event.
        if lost is None or not self.connected or self.bus is None or \
                len(self.outbox) >= self.outbox.limit:
            return
        self.bus.publish(FLEET_OUTBOX_OVERFLOW, "bridge", self.host, OutboxOverflowData(
            lost=lost.lost, first_seq=lost.first, last_seq=lost.last,
            outbox_max=self.outbox.limit, dropped=self.outbox.dropped))
        logger.error("fleet %s: %d events (seqs %d to %d) were lost while NATS was away "
                     "(outbox_max %d)", self.settings.name, lost.lost, lost.first,
                     lost.last, self.outbox.limit)
        self.outbox.reported(lost)

    # -- heartbeat and summary
    async def _beat(self) -> None:
        # Online (a fresh heartbeat) means answering calls: not before (see answer_calls).
        await self._answering.wait()
        s = self.settings
        last_summary: dict[str, Any] | None = None
        next_beat = 0.0
        while True:
            now = time.time()
            try:
                if self.state is not None:
                    summary = summary_of(self.host, self.state)
                    if summary != last_summary or now >= next_beat:
                        await (await self._bucket("summary")).put(
                            self.host, {**summary, "time": now})
                        last_summary = summary
                if now >= next_beat:
                    await (await self._bucket("heartbeat")).put(self.host, {
                        "host": self.host, "time": now, "interval": s.heartbeat_interval,
                        "started": self.started, "version": __version__,
                        "seq": self.published_seq})
                    next_beat = now + s.heartbeat_interval
            except Exception as exc:
                logger.debug("fleet: heartbeat not written: %s", exc)
                next_beat = 0.0
            await asyncio.sleep(min(1.0, s.heartbeat_interval))

    async def _follow_hosts(self) -> None:
        """Keep every host's heartbeat and summary, read again every heartbeat interval.

        A read, not a KV watch: a watch's consumer can die with the servers that held it
        (the whole cluster restarted) and say nothing, leaving a stale view; a read made
        each time cannot go stale for longer than one interval."""
        while True:
            try:
                self.heartbeats, self.summaries_cache = await self._read_hosts()
                self._hosts_read = time.monotonic()
            except Exception as exc:
                logger.debug("fleet: hosts not read (%s); again", exc)
            await asyncio.sleep(min(self.settings.heartbeat_interval, 5.0))

    async def _snapshot(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        fresh = time.monotonic() - self._hosts_read < 2 * self.settings.heartbeat_interval + 5
        if not self.client and self.settings.watch and fresh:
            return self.heartbeats, self.summaries_cache
        if not self.connected:
            raise FleetUnavailable("NATS does not answer")
        return await self._read_hosts()

    async def _read_hosts(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Every host's heartbeat and summary, read from the two buckets now."""
        hb, sm = [await (await self._bucket(b)).snapshot() for b in ("heartbeat", "summary")]
        return ({k: e.value for k, e in hb.items() if isinstance(e.value, dict)},
                {k: e.value for k, e in sm.items() if isinstance(e.value, dict)})

    async def hosts(self) -> list[dict[str, Any]]:
        heartbeats, summaries = await self._snapshot()
        return host_rows(heartbeats, summaries, self.settings.offline_after)

    async def summaries(self) -> dict[str, dict[str, Any]]:
        return dict((await self._snapshot())[1])

    async def kv(self, bucket: str) -> JsonKV:
        check_name("bucket", bucket)
        if not self.connected:
            raise FleetUnavailable("NATS does not answer")
        return await self._bucket(bucket)

    # -- method calls
    async def call(self, host: str, method: str, params: dict[str, Any],
                   caller: dict[str, Any], timeout: float | None, *,
                   readonly: bool = False) -> Any:
        """``readonly``: the host runs ``method`` only if it only reads (fleet.get)."""
        timeout = timeout or self.settings.call_timeout
        if host == self.host and self.methods is not None:
            self._check_readonly(method, readonly)
            return await self.methods.call(method, params, self._caller(caller))
        if not self.connected:
            raise FleetUnavailable(f"host {host}: NATS does not answer")
        request: dict[str, Any] = {"method": method, "params": params, "caller": caller}
        if readonly:
            request["readonly"] = True
        payload = orjson.dumps(request)
        try:
            msg = await self.nc.request(self.settings.rpc_subject(host), payload,
                                        timeout=timeout)
        except NoRespondersError:
            raise FleetUnavailable(f"host {host} does not answer (not connected to the "
                                   "fleet)") from None
        except (NatsTimeout, TimeoutError):
            raise FleetError(f"host {host}: no answer to {method} in {timeout:g} s",
                             "timeout") from None
        reply = orjson.loads(msg.data)
        if reply.get("ok"):
            return reply.get("data")
        err = reply.get("error") or {}
        raise FleetError(f"{host}: {err.get('message', 'failed')}", err.get("code", "failed"))

    def _check_readonly(self, method: str, readonly: bool) -> None:
        assert self.methods is not None
        if readonly and not self.methods.get(method).readonly:
            raise AccessDenied(f"{method} changes something: call it with fleet.call, "
                               "not fleet.get")

    def _caller(self, c: dict[str, Any]) -> Caller:
        """Who a fleet call runs as here (docs/fleet.md, Identity of a fleet call)."""
        origin = str(c.get("host") or "?")
        role = str(c.get("role") or "viewer")
        if role not in ROLES:
            role = "viewer"
        # The lower of the caller's role and the role fleet calls are given here.
        role = min(role, self.settings.call_role, key=lambda r: RANK.get(r, -1))
        return Caller(name=f"{c.get('name') or '?'}@{origin}", role=role, via="fleet",
                      remote=origin)

    async def _on_rpc(self, msg: Msg) -> None:
        self._tasks.create(self._answer(msg), "rpc")

    async def _answer(self, msg: Msg) -> None:
        reply: dict[str, Any]
        try:
            req = orjson.loads(msg.data)
            if not isinstance(req, dict) or not isinstance(req.get("method"), str):
                raise BridgeError("a fleet call is {method, params, caller}", "protocol-error")
            assert self.methods is not None
            raw_caller = req.get("caller")
            caller: dict[str, Any] = raw_caller if isinstance(raw_caller, dict) else {}
            self._check_readonly(req["method"], bool(req.get("readonly")))
            data = await self.methods.call(req["method"], req.get("params") or {},
                                           self._caller(caller))
            if isinstance(data, StreamSource):
                # A stream (logs, stats, exec, pull progress) lives on a websocket: a
                # request/reply cannot carry it.
                await data.aclose()
                raise BridgeError(f"{req['method']} opens a stream, which a fleet call "
                                  "cannot carry: use the host's own bridge", "not-supported")
            reply = {"ok": True, "data": data}
        except orjson.JSONDecodeError:
            reply = {"ok": False, "error": ProtocolError("a fleet call must be JSON").to_json()}
        except Exception as exc:  # a BridgeError as it is; anything else logged, internal-error
            reply = {"ok": False, "error": to_bridge_error(exc, "fleet call").to_json()}
        if msg.reply:
            with contextlib.suppress(Exception):
                await msg.respond(orjson.dumps(reply, default=str))

    # -- the events of every host
    async def _subscribe(self, subject: str, last: int | None, **kwargs: Any) -> Any:
        """An ordered consumer of ``subject`` from stream seq ``last + 1`` (None: new ones)."""
        policy = api.DeliverPolicy.NEW if last is None else api.DeliverPolicy.BY_START_SEQUENCE
        config = None if last is None else api.ConsumerConfig(opt_start_seq=last + 1)
        return await self.js.subscribe(subject, ordered_consumer=True, deliver_policy=policy,
                                       config=config, **kwargs)

    async def _stream(self, since: int | None, subject: str,
                      idle: float = 6.0) -> AsyncIterator[tuple[int, Msg]]:
        """(stream seq, message) from ``since + 1`` (None: new ones only), forever; the
        consumer is made again from where it was when it is lost (a node gone)."""
        last = since
        while True:
            if not self.connected:
                await asyncio.sleep(0.5)
                continue
            try:
                sub = await self._subscribe(subject, last, idle_heartbeat=2.0)
            except Exception as exc:
                logger.debug("fleet: cannot follow the stream (%s); again", exc)
                await asyncio.sleep(0.5)
                continue
            try:
                while True:
                    try:
                        msg = await sub.next_msg(timeout=idle)
                    except (NatsTimeout, TimeoutError):
                        await sub.consumer_info()  # raises when the consumer is gone
                        continue
                    seq = int(msg.metadata.sequence.stream)
                    if last is not None and seq <= last:
                        continue
                    last = seq
                    yield seq, msg
            except Exception as exc:  # not CancelledError nor GeneratorExit (BaseException)
                logger.info("fleet: stream consumer lost (%s); resuming after %s", exc, last)
            finally:
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    @staticmethod
    def fleet_event(seq: int, msg: Msg) -> dict[str, Any] | None:
        try:
            ev = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(ev, dict):
            return None
        ev["host_seq"] = ev.get("seq")
        ev["seq"] = seq
        if "host" not in ev:
            parts = msg.subject.split(".", 4)
            ev["host"] = parts[3] if len(parts) > 3 else None
        return ev

    async def _watch(self) -> None:
        assert self.fleet_bus is not None
        bus = self.fleet_bus
        # From what the stream holds now on: a client resumes within this bridge's ring.
        info = await self.js.stream_info(self.settings.stream)
        start = int(info.state.last_seq)
        if bus.seq < start:
            bus._seq = start  # the ring starts empty, its seqs the stream's
        async for seq, msg in self._stream(bus.seq, self._subject(None)):
            ev = self.fleet_event(seq, msg)
            if ev is None:
                continue
            event = Event(seq, str(ev.get("type", "")), str(ev.get("source", "")),
                          str(ev.get("subject", "")), ev.get("data") or {},
                          ev.get("time"), ev.get("id"), host=ev.get("host"))
            raw = orjson.dumps(ev)
            if seq > bus.seq:
                bus.inject(event, raw)

    def _subject(self, hosts: list[str] | None) -> str:
        """The stream's subjects to read: one host's only, when only one is asked for."""
        one = f".{hosts[0]}" if hosts and len(hosts) == 1 else ""
        return f"{self.settings.event_prefix}{one}.>"

    def _wanted(self, seq: int, msg: Msg, patterns: list[str], hosts: list[str] | None
                ) -> dict[str, Any] | None:
        """The fleet event of ``msg`` if it is of one of ``hosts`` and ``patterns``."""
        ev = self.fleet_event(seq, msg)
        if ev is None or (hosts and ev.get("host") not in hosts):
            return None
        return ev if topic_matches(patterns, str(ev.get("type", ""))) else None

    async def events(self, patterns: list[str], hosts: list[str] | None,
                     since: int | None) -> AsyncIterator[dict[str, Any]]:
        async for seq, msg in self._stream(since, self._subject(hosts)):
            if (ev := self._wanted(seq, msg, patterns, hosts)) is not None:
                yield ev

    async def read_events(self, patterns: list[str], hosts: list[str] | None, since: int,
                          limit: int) -> dict[str, Any]:
        """Events after ``since`` from the stream, at most ``limit``, without waiting for
        new ones: ``{events, last}`` (``last``: the stream seq to resume after)."""
        if not self.connected:
            raise FleetUnavailable("NATS does not answer")
        try:
            return await self._read_events(patterns, hosts, since, limit)
        except (NatsTimeout, TimeoutError):
            raise FleetError("the stream did not answer in time (NATS electing a leader?)",
                             "timeout") from None

    async def _read_events(self, patterns: list[str], hosts: list[str] | None, since: int,
                           limit: int) -> dict[str, Any]:
        info = await self.js.stream_info(self.settings.stream)
        end = int(info.state.last_seq)
        out: list[dict[str, Any]] = []
        last = max(since, int(info.state.first_seq) - 1)
        if last >= end:
            return {"events": out, "last": max(since, end)}
        sub = await self._subscribe(self._subject(hosts), last)
        try:
            while len(out) < limit:
                try:
                    msg = await sub.next_msg(timeout=2.0)
                except (NatsTimeout, TimeoutError):
                    break
                seq = int(msg.metadata.sequence.stream)
                last = seq
                if (ev := self._wanted(seq, msg, patterns, hosts)) is not None:
                    out.append(ev)
                if seq >= end or int(msg.metadata.num_pending) == 0:
                    break
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return {"events": out, "last": last}
