"""Sources: Podman's event stream and systemd's D-Bus signals, onto the bus.

Both reconnect with backoff and resume without losing or doubling events: the Podman
stream resumes with ``since=`` the newest event time seen and de-duplicates what is sent
again; the systemd source subscribes again and re-reads unit state, publishing only what
changed while it was away.

Podman's stream repeats events (its file logger rotates at about 1 MB and the reader is
fed the kept half again). A repeat is byte for byte the same event, so the de-duplication
key is the whole event (a digest of it), never a subset of its fields: tags of one image
share the ID and can share a time. Keys are remembered for far more events than a rotated
file holds, so every repeat is recognised, and an event that merely carries an older time
(a container's death stamped when it died, a clock that jumped back) is never mistaken
for one. The stream is read on a thread (:mod:`bridge.podman_stream`) so that a busy
loop never lets the rotation overtake the reader. A gap is suspected, counted, and the
state listed again when Podman shows that it cut what the bridge had not read: a rotation
during the stream that replays nothing the reader had seen (Podman before 4.5 feeds the
kept half again: none of it seen means the reader was behind the cut), or a resumed
stream whose first event is not one the bridge had (the log no longer reaches back to
where the bridge stood). At the first stream's first rotation the kept half also reaches
back past where that stream began: those events are history (stamped before the bridge
first asked), neither published nor a sign of a gap.

What the stream loses without a sign is read again: once the stream has been quiet for
``RECONCILE_QUIET`` seconds (and every ``RECONCILE_EVERY`` seconds while it is busy), the
bridge asks Podman for the events it wrote since the last such reading (``stream=false``, a
fresh read of its log) and publishes those its stream did not deliver, counted as
``events_recovered``; the state is then listed again, as the late events arrive out of
order. Podman's journald readers are known to miss entries now and then (containers/podman
#18501, #24220), and a reader that misses one sees nothing amiss.

A resumed stream asks for events from a little before the newest one seen: Podman stamps
an event when it makes it and writes it once it holds the log's lock, so with concurrent
callers the log is not in time order, and ``since=`` (strictly after) from the newest
time seen skips an event stamped earlier but written later. Before 4.5 a ``since=``
stream also ends at the next rotation, so on a busy host the bridge resumes often.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import Message

from bridge import faults
from bridge.backoff import Backoff
from bridge.bus import Bus
from bridge.errors import BridgeError
from bridge.events import (
    BRIDGE_SOURCE,
    JOB_DONE,
    SOURCE_BRIDGE,
    SOURCE_PODMAN,
    SOURCE_SYSTEMD,
    SYSTEMD_RELOADING,
    UNIT_NEW,
    UNIT_REMOVED,
    UNIT_STATE,
    iso_from_ns,
)
from bridge.podman import PodmanClient
from bridge.podman_compat import PodmanCompat, exit_code_of
from bridge.podman_stream import EventReader
from bridge.state import ACTION_STATE, State
from bridge.systemd import (
    MANAGER_IFACE,
    SERVICE_IFACE,
    UNIT_IFACE,
    SystemdClient,
    unit_path_to_name,
    unwrap,
)
from bridge.tasks import TaskOwner, within

logger = logging.getLogger(__name__)

# What the bridge publishes after a checkpoint: the container's state, read from Podman.
CONTAINER_STATE = "container.state"

# Attributes of a libpod event that are not container labels.
NON_LABEL_ATTRIBUTES = frozenset({"image", "name", "podId", "containerExitCode", "oomKilled",
                                  "network", "error", "execID", "health_status"})
# Keys remembered: a rotated events file (1 MB) holds under 10,000 events, so any repeat
# Podman sends is among them. An unknown event older than every remembered one cannot be
# judged: it is taken for a repeat (and counted).
DEDUP_KEYS = 65_536
ROTATION = "log-rotation"
# How far before the newest event seen a resumed stream starts (what comes again is
# dropped as a repeat): far more than an event waits for the events log's lock.
RESUME_OVERLAP_NS = 5_000_000_000
# The stream quiet this long, what it should have delivered is read again (see above);
# while it stays busy, at least this often, up to RESUME_OVERLAP_NS before its newest event.
RECONCILE_QUIET = 1.0
RECONCILE_EVERY = 30.0
# The properties of a unit the state keeps, by D-Bus interface, and their keys there.
WATCHED = {UNIT_IFACE: (("ActiveState", "active_state"), ("SubState", "sub_state"),
                        ("LoadState", "load_state"), ("Description", "description")),
           SERVICE_IFACE: (("Result", "result"), ("NRestarts", "n_restarts"))}


def translate_podman_event(raw: dict[str, Any], compat: PodmanCompat | None = None,
                           ) -> tuple[str, str, dict[str, Any], int] | None:
    """(type, subject, data, time_ns) of a libpod event, or None if it is not one.

    ``compat`` (the sending Podman's) says which events carry a real exit code; without
    it, any ``containerExitCode`` is taken."""
    kind = str(raw.get("Type") or "").lower()
    action = str(raw.get("Action") or raw.get("status") or "")
    if not kind or not action:
        return None
    actor = raw.get("Actor") or {}
    attrs: dict[str, str] = actor.get("Attributes") or {}
    time_ns = int(raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000)
    data: dict[str, Any] = {"id": actor.get("ID") or raw.get("id") or ""}
    if kind == "container":
        data["image"] = attrs.get("image", "")
        data["pod_id"] = attrs.get("podId", "")
        data["exit_code"] = compat.exit_code(action, attrs) if compat else exit_code_of(attrs)
        data["health"] = raw.get("HealthStatus") or attrs.get("health_status") or None
        data["labels"] = {k: v for k, v in attrs.items() if k not in NON_LABEL_ATTRIBUTES}
        state = ACTION_STATE.get(action)
        if state:
            data["state"] = state
        if "oomKilled" in attrs:
            data["oom_killed"] = attrs["oomKilled"] == "true"
    else:
        data["attributes"] = dict(attrs)
    if attrs.get("error"):
        data["error"] = attrs["error"]
    data["time"] = iso_from_ns(time_ns) if time_ns else None
    subject = attrs.get("name") or data["id"]
    return f"{kind}.{action}", subject, data, time_ns


class _Source:
    """What both sources share: ``bridge.source`` when their peer comes or goes, and one
    re-list of the state at a time, in a task of its own (``stop`` cancels it)."""

    peer = ""  # the subject of bridge.source

    def __init__(self, bus: Bus, state: State) -> None:
        self.bus = bus
        self.state = state
        self.connected = False
        self._resync_task: asyncio.Task[None] | None = None
        self._tasks = TaskOwner(f"{type(self).__name__}")

    def _set_connected(self, connected: bool, error: str | None = None) -> None:
        if connected != self.connected:
            self.connected = connected
            self.bus.publish(BRIDGE_SOURCE, SOURCE_BRIDGE, self.peer,
                             {"connected": connected, "error": error})

    def _resync_soon(self, resync: Callable[[], Awaitable[None]], failed: str) -> None:
        """``resync()`` in a task, unless one runs; ``failed`` logs why it failed."""
        if self._resync_task is None or self._resync_task.done():
            self._resync_task = self._tasks.create(_logged(resync, failed), "resync")

    def stop(self) -> None:
        if self._resync_task is not None:
            self._resync_task.cancel()

    async def close(self) -> None:
        """``stop``, and wait until a re-list it cancelled has ended."""
        self.stop()
        await self._tasks.close()


def podman_time(ns: int) -> str:
    """A time as Podman's ``since``/``until`` take it to the nanosecond."""
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


async def _logged(resync: Callable[[], Awaitable[None]], failed: str) -> None:
    try:
        await resync()
    except Exception as exc:
        logger.warning(failed, exc)


class PodmanSource(_Source):
    """One long-lived ``/libpod/events`` stream, resumed across Podman restarts."""

    peer = "podman"

    def __init__(self, bus: Bus, podman: PodmanClient, state: State) -> None:
        super().__init__(bus, state)
        self.podman = podman
        self.last_ns = 0
        # When the first stream was asked for (the bridge's clock: Podman's socket is a
        # local one). A stream opened without ``since`` starts at the tail of Podman's
        # events log, so from then on it is where the bridge stands until it has seen an
        # event: a resume from there misses nothing, even when the stream dies before
        # Podman sent it a single event.
        self.first_open_ns = 0
        self._seen: OrderedDict[bytes, int] = OrderedDict()   # digest -> time_ns
        self.compat: PodmanCompat | None = None  # the Podman of the current connection
        self.events_read = 0        # events handled (new or repeated)
        self.duplicates = 0         # repeats dropped
        self.gaps_suspected = 0     # rotations that overtook the reader, lines dropped
        self.rotations = 0
        self.history_skipped = 0    # events from before the first stream, fed again
        self.recovered = 0          # events the stream lost, read again from Podman's log
        self.reconciled_ns = 0      # events stamped up to here were read again
        self._fresh = asyncio.Event()  # set when the stream delivers a new event
        self._fed_again_since_rotation = 0  # repeats and history since the last rotation
        # Events stamped before this are history (0: none can come): see _is_history.
        self._history_ns = 0
        self._connection_ns = 0     # when this stream was asked for: older rotations are
        self._reopens = True        # history; this stream follows the log's rotations
        self._awaiting_overlap = False  # a resumed stream must begin with a seen event
        self._reader: EventReader | None = None

    def metrics(self) -> dict[str, int]:
        reader = self._reader
        return {"events_read": self.events_read, "duplicates_dropped": self.duplicates,
                "history_skipped": self.history_skipped,
                "gaps_suspected": self.gaps_suspected, "rotations": self.rotations,
                "events_recovered": self.recovered,
                "pending": reader.pending if reader else 0,
                "lines_dropped": reader.dropped if reader else 0}

    def _is_new(self, raw: dict[str, Any], time_ns: int) -> bool:
        if self._remember(raw, time_ns):
            return True
        self._fed_again_since_rotation += 1
        self.duplicates += 1
        return False

    def _remember(self, raw: dict[str, Any], time_ns: int) -> bool:
        """Whether the event is one not seen before (and remember it)."""
        key = hashlib.blake2b(json.dumps(raw, sort_keys=True, separators=(",", ":"))
                              .encode(), digest_size=16).digest()
        if key in self._seen:
            return False
        if len(self._seen) >= DEDUP_KEYS:
            if time_ns < next(iter(self._seen.values())):
                return False
            self._seen.popitem(last=False)
        self._seen[key] = time_ns
        return True

    def handle(self, raw: dict[str, Any]) -> None:
        parsed = translate_podman_event(raw, self.compat)
        if parsed is None:
            return
        self.events_read += 1
        type_, subject, data, time_ns = parsed
        new = self._is_new(raw, time_ns)
        if self._awaiting_overlap:
            self._awaiting_overlap = False
            if new:
                self._gap("the resumed stream began after what the bridge had read")
        if not new:
            return
        if self._is_history(time_ns):
            self.history_skipped += 1
            self._fed_again_since_rotation += 1
            return
        if type_ == f"system.{ROTATION}" and time_ns >= self._connection_ns:
            self._rotated()
        self.last_ns = max(self.last_ns, time_ns)
        self._fresh.set()
        self.bus.publish(type_, SOURCE_PODMAN, subject, data, time=data["time"])
        if type_ == "container.checkpoint" and data.get("id"):
            self._tasks.create(self._state_after_checkpoint(data["id"], subject),
                               "checkpoint-state")

    async def _state_after_checkpoint(self, cid: str, subject: str) -> None:
        """Podman's checkpoint event does not say whether the container was left running:
        its state, read now, follows as ``container.state`` (nothing when it is gone)."""
        try:
            info = await self.podman.inspect_container(cid)
        except BridgeError as exc:
            logger.debug("container %s after its checkpoint: %s", subject, exc)
            return
        status = str((info.get("State") or {}).get("Status") or "")
        if status:
            self.bus.publish(CONTAINER_STATE, SOURCE_PODMAN, subject,
                             {"id": cid, "state": "exited" if status == "stopped" else status,
                              "time": iso_from_ns(time.time_ns())})

    def _is_history(self, time_ns: int) -> bool:
        """Whether a new event is one from before the bridge's first stream, which Podman
        before 4.5 feeds again to a stream opened at its log's tail: at the stream's first
        rotation it reopens the log at its start, and the kept half reaches back past where
        the stream began. The state listed when the stream opened already holds what those
        events did; published, they would reach clients (and plugins) as news.

        Only in such a stream and only until its first rotation (after it, the kept half
        begins inside what was fed again). Told by Podman's stamp against the moment the
        stream was asked for, on the same host's clock; should that clock be stepped back
        past that moment, Podman's new events carry older stamps too, and nothing is taken
        for history any more."""
        if not self._history_ns or time_ns >= self._history_ns:
            return False
        if time.time_ns() < self._history_ns:
            logger.info("podman events: the clock went back past the first stream; "
                        "no event is taken for history from now on")
            self._history_ns = 0
            return False
        return True

    def _rotated(self) -> None:
        """Podman rotated its log during this stream. Where it feeds the kept half again
        (before 4.5), a rotation that repeated nothing means the kept half began after what
        the reader had read, and what lay between was cut. Podman 4.5 and later skip the
        kept half themselves: nothing to judge by.

        Fed again means seen, or history (:meth:`_is_history`): a stream opened at the
        log's tail that read nothing of the old log before it rotated (the log rotated
        before Podman's reader looked at the file again: it polls every 250 ms and, on
        finding the file replaced, reopens it without reading the old one to its end) is
        fed only history and what it had not read yet -- nothing was cut, no gap."""
        self.rotations += 1
        self._history_ns = 0
        judged = self._reopens and (self.compat is None
                                    or self.compat.events_file_resends_after_rotation)
        if judged and self._fed_again_since_rotation == 0:
            self._gap("the events log rotated past the reader")
        self._fed_again_since_rotation = 0

    def _gap(self, why: str) -> None:
        self.gaps_suspected += 1
        logger.warning("podman events: a gap is suspected (%s); listing the state again", why)
        self._relist_soon("podman resync after a gap failed: %s")

    def _relist_soon(self, failed: str) -> None:
        """Podman's lists read again into the state, in a task (see ``_resync_soon``)."""
        self._resync_soon(lambda: self.state.resync_podman(self.podman), failed)

    async def reconcile_when_quiet(self) -> None:
        """Forever: once the stream has delivered something, wait until it has been quiet
        for ``RECONCILE_QUIET`` seconds (or busy for ``RECONCILE_EVERY``), then
        :meth:`reconcile`."""
        loop = asyncio.get_running_loop()
        while True:
            await self._fresh.wait()
            busy_until = loop.time() + RECONCILE_EVERY
            quiet = False
            while not quiet and loop.time() < busy_until:
                self._fresh.clear()
                try:
                    await within(self._fresh.wait(), RECONCILE_QUIET)
                except TimeoutError:
                    # Quiet: nothing new came, and nothing waits to be handled.
                    quiet = self._reader is None or self._reader.pending == 0
            # Busy: events stamped shortly before the newest may still be on their way.
            upto = self.last_ns - (0 if quiet else RESUME_OVERLAP_NS)
            try:
                await self.reconcile(upto)
            except (BridgeError, OSError) as exc:
                logger.info("podman events: reading the log again failed: %s", exc)

    async def reconcile(self, upto: int) -> int:
        """Read the events Podman wrote from the last reconciliation to ``upto`` again and
        publish those the stream did not deliver; how many that was."""
        since = max(self.reconciled_ns - RESUME_OVERLAP_NS, self.first_open_ns)
        if not self.connected or not since or upto <= since:
            return 0
        written = await self.podman.events_written(podman_time(since), timeout=120,
                                                   what="podman events again")
        found = 0
        for raw in written:
            parsed = translate_podman_event(raw, self.compat)
            if parsed is None:
                continue
            type_, subject, data, time_ns = parsed
            if not since < time_ns <= upto or not self._remember(raw, time_ns):
                continue
            found += 1
            self.bus.publish(type_, SOURCE_PODMAN, subject, data, time=data["time"])
        self.reconciled_ns = max(self.reconciled_ns, upto)
        if found:
            self.recovered += found
            logger.warning("podman events: %d event(s) written from %s to %s never came on "
                           "the stream; read again from Podman's log and published late",
                           found, iso_from_ns(since), iso_from_ns(upto))
            self._relist_soon("podman resync after late events failed: %s")
        return found

    def resume_since(self) -> str | None:
        """The ``since`` of the next stream: the newest event seen, else the moment the
        first stream was asked for; None before the first stream (Podman then starts at
        its log's tail, and the state is listed after it answered).

        Not ``None`` on a resume that has seen no event yet: Podman would start again at
        the tail and skip what was written while the bridge was away -- after a reboot,
        the refresh that the boot's first Podman command writes before the bridge is back.
        """
        ns = self.resume_since_ns()
        return None if ns is None else podman_time(ns)

    def resume_since_ns(self) -> int | None:
        """:meth:`resume_since` in nanoseconds: ``RESUME_OVERLAP_NS`` before the newest
        event seen (events are not written in time order), never before the first stream
        was asked for (what came before it, the state listed then holds)."""
        if self.last_ns:
            return max(self.last_ns - RESUME_OVERLAP_NS, self.first_open_ns)
        return self.first_open_ns or None

    def begin_stream(self, asked_ns: int, since_ns: int | None, compat: PodmanCompat) -> None:
        """A stream asked for at ``asked_ns`` (``since=since_ns``, None: from the log's
        tail) was answered by ``compat``'s Podman: how its events are judged from now."""
        self.first_open_ns = self.first_open_ns or asked_ns
        self.compat = compat
        self._connection_ns = asked_ns
        self._fed_again_since_rotation = 0
        self._reopens = since_ns is None or compat.events_since_stream_follows_rotation
        self._awaiting_overlap = since_ns is not None and self._seen_after(since_ns)
        # Only a stream from the tail is fed history, and only where Podman feeds the kept
        # half of its rotated log again; a resumed one asks from after the first stream.
        self._history_ns = self.first_open_ns if since_ns is None and \
            compat.events_file_resends_after_rotation else 0

    def _seen_after(self, ns: int) -> bool:
        """Whether an event stamped after ``ns`` is among those remembered."""
        return any(t > ns for t in reversed(self._seen.values()))

    async def run(self) -> None:
        backoff = Backoff()
        while True:
            since_ns = self.resume_since_ns()
            reader = EventReader(self.podman.path, self.resume_since())
            try:
                asked_ns = time.time_ns()
                await reader.open()
                self.first_open_ns = self.first_open_ns or asked_ns
                self._reader = reader
                # Podman has answered: only now is a re-list of the state race-free, as
                # events that happen during the re-list arrive on the stream as well.
                # Once per connection: the Podman behind the socket may have changed.
                self.begin_stream(asked_ns, since_ns, await self.podman.compat(refresh=True))
                self._set_connected(True)
                backoff.reset()
                await self.state.resync_podman(self.podman)
                dropped = handled = 0
                async for line in reader:
                    handled += 1
                    if handled % 256 == 0:
                        await asyncio.sleep(0)    # a backlog must not starve the clients
                    if faults.dropped("podman-event", line):
                        continue
                    try:
                        raw = json.loads(line)
                    except ValueError:
                        logger.warning("podman sent a line that is not JSON: %.200r", line)
                        continue
                    if isinstance(raw, dict):
                        self.handle(raw)
                    if reader.dropped != dropped:
                        dropped = reader.dropped
                        self._gap(f"{dropped} lines dropped: the bridge fell behind")
                logger.info("podman event stream ended; reconnecting")
                self._set_connected(False, "stream ended")
            except asyncio.CancelledError:
                raise
            except (BridgeError, OSError, TimeoutError, ValueError) as exc:
                log = logger.warning if self.connected or backoff.attempt == 1 \
                    else logger.debug
                log("podman event stream: %s", exc)
                self._set_connected(False, str(exc))
            except Exception as exc:  # anything unforeseen
                logger.warning("podman event stream failed: %r", exc)
                self._set_connected(False, repr(exc))
            finally:
                await asyncio.shield(reader.close())
            await backoff.sleep()


class SystemdSource(_Source):
    """systemd's Manager signals and unit property changes, onto the bus."""

    peer = "systemd"

    def __init__(self, bus: Bus, systemd: SystemdClient, state: State) -> None:
        super().__init__(bus, state)
        self.systemd = systemd
        self._paths: dict[str, str] = {}
        self._remove_handler: Callable[[], None] | None = None

    async def run(self) -> None:
        backoff = Backoff(0.2, 5.0)
        while True:
            try:
                if not self.systemd.connected:
                    await self.systemd.connect()
                if self._remove_handler is None:
                    self._remove_handler = self.systemd.add_signal_handler(self._on_signal)
                # Subscribe before listing: a change between the two is then seen twice
                # (harmless, set_unit publishes only real changes), never missed.
                await self.systemd.subscribe()
                await self.resync()
                self._set_connected(True)
                backoff.reset()
                await self.systemd.wait_disconnected()
                logger.warning("lost the D-Bus connection to systemd; reconnecting")
                self._set_connected(False, "disconnected")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Say it once, not at every retry.
                log = logger.warning if self.connected or backoff.attempt == 1 \
                    else logger.debug
                log("systemd source: %s", exc)
                self._set_connected(False, str(exc))
            self.systemd.close()
            await backoff.sleep()

    def stop(self) -> None:
        if self._remove_handler is not None:
            self._remove_handler()
            self._remove_handler = None
        super().stop()

    async def resync(self) -> None:
        units = await self.systemd.list_units()
        listed = set()
        for name, description, load, active, sub, _f, path, *_ in units:
            listed.add(name)
            self._paths[path] = name
            self._update(name, {"description": description, "load_state": load,
                                "active_state": active, "sub_state": sub})
        for name in [n for n in self.state.units if n not in listed]:
            self.state.remove_unit(name)
            self.bus.publish(UNIT_REMOVED, SOURCE_SYSTEMD, name, {"unit": name})
        # Result and NRestarts live on the Service interface, which ListUnits does not give,
        # and reading them costs one call per unit: read them only for the units that run
        # containers and for failed units. Later changes arrive by PropertiesChanged.
        wanted = {c["unit"] for c in self.state.containers.values() if c.get("unit")}
        busy = [(n, p) for n, _d, _l, a, _s, _f, p, *_ in units
                if n.endswith(".service") and (n in wanted or a == "failed")]
        sem = asyncio.Semaphore(8)

        async def read(name: str, path: str) -> None:
            async with sem:
                try:
                    props = await self.systemd.get_all(path, SERVICE_IFACE)
                except BridgeError:
                    return
                self._update(name, {"result": props.get("Result"),
                                    "n_restarts": props.get("NRestarts")})

        await asyncio.gather(*(read(n, p) for n, p in busy))

    def _update(self, name: str, fields: dict[str, Any]) -> None:
        before = self.state.set_unit(name, fields)
        if before is not None:
            rec = self.state.units[name]
            self.bus.publish(UNIT_STATE, SOURCE_SYSTEMD, name, {
                "unit": name,
                "active_state": rec["active_state"], "sub_state": rec["sub_state"],
                "result": rec["result"], "n_restarts": rec["n_restarts"],
                "previous": before,
            })

    def _on_signal(self, msg: Message) -> None:
        member = msg.member
        if msg.interface == MANAGER_IFACE:
            if member == "JobRemoved":
                job_id, job, unit, result = msg.body
                self.bus.publish(JOB_DONE, SOURCE_SYSTEMD, unit,
                                 {"unit": unit, "job": job, "id": job_id, "result": result})
            elif member == "UnitNew":
                name, path = msg.body
                self._paths[path] = name
                self.bus.publish(UNIT_NEW, SOURCE_SYSTEMD, name, {"unit": name})
            elif member == "UnitRemoved":
                name, path = msg.body
                self._paths.pop(path, None)
                self.state.remove_unit(name)
                self.bus.publish(UNIT_REMOVED, SOURCE_SYSTEMD, name, {"unit": name})
            elif member == "Reloading":
                (active,) = msg.body
                self.bus.publish(SYSTEMD_RELOADING, SOURCE_SYSTEMD, "systemd",
                                 {"active": bool(active)})
                if not active:
                    # Units may have come and gone: read them again, off the signal path.
                    self._resync_soon(self.resync, "systemd resync after reload failed: %s")
            return
        if member == "PropertiesChanged" and msg.path:
            iface, changed, _invalidated = msg.body
            name = self._paths.get(msg.path) or unit_path_to_name(msg.path)
            fields = {key: unwrap(changed[prop]) for prop, key in WATCHED.get(iface, ())
                      if prop in changed}
            if fields:
                self._update(name, fields)


def start_sources(tasks: TaskOwner, bus: Bus, podman: PodmanClient, systemd: SystemdClient,
                  state: State) -> tuple[PodmanSource, SystemdSource]:
    """The two sources of one Podman and one systemd, run as tasks of ``tasks``; they stop
    (their pending re-lists too) when ``tasks`` closes."""
    podman_source = PodmanSource(bus, podman, state)
    systemd_source = SystemdSource(bus, systemd, state)
    tasks.create(podman_source.run(), "source/podman")
    tasks.create(podman_source.reconcile_when_quiet(), "source/podman-reconcile")
    tasks.create(systemd_source.run(), "source/systemd")
    return podman_source, systemd_source
