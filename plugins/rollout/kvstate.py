"""Rollout records and the controller's lease in JetStream KV, changed only by
compare-and-swap.

One bucket holds ``r.<ID>`` (a rollout, JSON) and ``lease`` (who controls rollouts now).
Every write names the revision it read (``kv.update(key, value, last=rev)``); a write over
someone else's gets ``Conflict`` and the writer reads again. nats-server 2.9 has no per-key
TTL, so the lease is a timestamp its holder renews: a lease whose ``renewed`` is older than
its ``ttl`` is dead and may be taken, again by compare-and-swap. (The holders' clocks are
compared: keep the fleet's clocks in sync, as NTP does, well within the lease time.)

A fact of nats-server before 2.9.21 (Debian 12 ships 2.9.10; nats-server issue #4320): on
a replicated stream the expected-last-subject-sequence check is a pre-check on the leader,
not part of the Raft proposal, so two *concurrent* writes naming the same revision can
both be accepted (the tests here see it happen). So a contended write is confirmed: after
it, wait ``settle`` (longer than a proposal takes to commit) and read the key back; only
the writer whose value is the one stored won. The lease is taken that way, and a user's
change of a rollout (halt, resume, rollback) is confirmed that way too. The controller's
own writes need no confirmation: what it asks of a host is named by a token fixed by the
rollout and the host, so a lost write only makes it ask the same thing again, which the
host does once.

``MemoryKV`` is the same contract in memory, for unit tests and the benchmark's simulated
fleet; the real one is nats-py's ``KeyValue``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from plugins.rollout.engine import Rollout

logger = logging.getLogger(__name__)

LEASE_KEY = "lease"
PREFIX = "r."


class Conflict(Exception):
    """The key changed since it was read (or exists, for a create)."""


class Missing(Exception):
    """No such key."""


class KV(Protocol):
    async def get(self, key: str) -> tuple[bytes, int]: ...
    async def create(self, key: str, value: bytes) -> int: ...
    async def update(self, key: str, value: bytes, last: int) -> int: ...
    async def keys(self) -> list[str]: ...


class NatsKV:
    """nats-py's KeyValue behind the ``KV`` contract (its errors mapped to ours)."""

    def __init__(self, kv: Any) -> None:
        self.kv = kv

    async def get(self, key: str) -> tuple[bytes, int]:
        from nats.js.errors import KeyDeletedError, KeyNotFoundError

        try:
            entry = await self.kv.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            raise Missing(key) from None
        if entry.value is None:
            raise Missing(key)
        return bytes(entry.value), int(entry.revision)

    async def create(self, key: str, value: bytes) -> int:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            return int(await self.kv.create(key, value))
        except KeyWrongLastSequenceError:
            raise Conflict(key) from None

    async def update(self, key: str, value: bytes, last: int) -> int:
        from nats.js.errors import KeyWrongLastSequenceError

        try:
            return int(await self.kv.update(key, value, last=last))
        except KeyWrongLastSequenceError:
            raise Conflict(key) from None

    async def keys(self) -> list[str]:
        from nats.js.errors import NoKeysError

        try:
            return list(await self.kv.keys())
        except NoKeysError:
            return []


class MemoryKV:
    """The ``KV`` contract in memory: revisions, create-if-absent, update-if-unchanged."""

    def __init__(self) -> None:
        self.data: dict[str, tuple[bytes, int]] = {}
        self.seq = 0

    async def get(self, key: str) -> tuple[bytes, int]:
        if key not in self.data:
            raise Missing(key)
        return self.data[key]

    async def create(self, key: str, value: bytes) -> int:
        if key in self.data:
            raise Conflict(key)
        self.seq += 1
        self.data[key] = (value, self.seq)
        return self.seq

    async def update(self, key: str, value: bytes, last: int) -> int:
        if key not in self.data or self.data[key][1] != last:
            raise Conflict(key)
        self.seq += 1
        self.data[key] = (value, self.seq)
        return self.seq

    async def keys(self) -> list[str]:
        return list(self.data)


def _dump(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


class Rollouts:
    """The rollout records."""

    def __init__(self, kv: KV) -> None:
        self.kv = kv

    async def load(self, rollout_id: str) -> tuple[Rollout, int]:
        raw, rev = await self.kv.get(PREFIX + rollout_id)
        return Rollout.from_json(json.loads(raw)), rev

    async def create(self, r: Rollout) -> int:
        return await self.kv.create(PREFIX + r.id, _dump(r.to_json()))

    async def save(self, r: Rollout, rev: int) -> int:
        """Write ``r`` over revision ``rev``; ``Conflict`` if it changed since."""
        return await self.kv.update(PREFIX + r.id, _dump(r.to_json()), rev)

    async def mutate(self, rollout_id: str, change: Callable[[Rollout], None],
                     kept: Callable[[Rollout], bool], settle: float = 0.5,
                     attempts: int = 20) -> Rollout:
        """Apply ``change`` (which may raise to refuse) by compare-and-swap, retrying on a
        conflict; then, after ``settle``, read it back: ``kept`` says whether the change is
        in what is stored (a later write made over ours keeps it; a concurrent one that
        won does not, and the change is made again)."""
        for _ in range(attempts):
            r, rev = await self.load(rollout_id)
            change(r)
            try:
                await self.save(r, rev)
            except Conflict:
                continue
            await asyncio.sleep(settle)
            stored, _ = await self.load(rollout_id)
            if kept(stored):
                return stored
            logger.info("rollout %s: a concurrent write replaced ours; again", rollout_id)
        raise Conflict(f"rollout {rollout_id} keeps changing: try again")

    async def ids(self) -> list[str]:
        return sorted(k[len(PREFIX):] for k in await self.kv.keys() if k.startswith(PREFIX))

    async def all(self) -> list[Rollout]:
        out = []
        for rid in await self.ids():
            try:
                out.append((await self.load(rid))[0])
            except Missing:
                continue
        return out


@dataclass
class LeaseInfo:
    holder: str
    renewed: float
    ttl: float

    def expired(self, now: float) -> bool:
        return now - self.renewed > self.ttl


class Lease:
    """One controller at a time. ``acquire`` takes a free or dead lease (or renews ours);
    ``renew`` keeps it; both return False when another holder has it. A lease taken (not
    renewed) is confirmed after ``settle``: see the module's note on nats-server 2.9."""

    def __init__(self, kv: KV, holder: str, ttl: float, clock: Any = time.time,
                 settle: float = 0.0) -> None:
        self.kv = kv
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.settle = settle
        self.rev: int | None = None
        self.nonce = ""

    @property
    def held(self) -> bool:
        return self.rev is not None

    async def current(self) -> tuple[LeaseInfo | None, int | None]:
        try:
            raw, rev = await self.kv.get(LEASE_KEY)
        except Missing:
            return None, None
        d = json.loads(raw)
        return LeaseInfo(str(d["holder"]), float(d["renewed"]), float(d["ttl"])), rev

    async def _raw(self) -> dict[str, Any] | None:
        try:
            raw, _ = await self.kv.get(LEASE_KEY)
        except Missing:
            return None
        value = json.loads(raw)
        return value if isinstance(value, dict) else None

    def _value(self) -> bytes:
        return _dump({"holder": self.holder, "renewed": self.clock(), "ttl": self.ttl,
                      "nonce": self.nonce})

    async def acquire(self) -> bool:
        info, rev = await self.current()
        if info is not None and rev is not None and info.holder == self.holder \
                and self.rev == rev:
            return await self.renew()
        if info is not None and not info.expired(self.clock()):
            self.rev = None
            return False
        self.nonce = uuid.uuid4().hex
        try:
            if info is None or rev is None:
                mine = await self.kv.create(LEASE_KEY, self._value())
            else:
                if info.renewed > 0:  # 0: released by its holder
                    logger.warning("taking the rollout lease from %s (silent %.1fs)",
                                   info.holder, self.clock() - info.renewed)
                mine = await self.kv.update(LEASE_KEY, self._value(), rev)
        except Conflict:
            self.rev = None
            return False
        if self.settle > 0:
            # Confirm: only the write that is stored won (two may have been accepted).
            await asyncio.sleep(self.settle)
            stored = await self._raw()
            if stored is None or stored.get("nonce") != self.nonce:
                logger.info("another controller took the lease at the same moment")
                self.rev = None
                return False
            _, mine_now = await self.current()
            mine = mine_now if mine_now is not None else mine
        self.rev = mine
        return True

    async def renew(self) -> bool:
        """Extend our lease; False (and not held any more) if someone took it."""
        if self.rev is None:
            return await self.acquire()
        try:
            self.rev = await self.kv.update(LEASE_KEY, self._value(), self.rev)
        except (Conflict, Missing):
            logger.warning("lost the rollout lease")
            self.rev = None
        return self.rev is not None

    async def release(self) -> None:
        """Give it up now (an expired timestamp), so a successor need not wait."""
        if self.rev is None:
            return
        value = _dump({"holder": self.holder, "renewed": 0.0, "ttl": self.ttl,
                       "nonce": ""})
        try:
            await self.kv.update(LEASE_KEY, value, self.rev)
        except (Conflict, Missing):
            pass
        self.rev = None
