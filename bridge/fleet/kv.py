"""A JetStream KV bucket of JSON values, as ``bridge.fleet.api.KV`` promises it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from nats.js import errors as js_errors
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from bridge.backoff import Backoff
from bridge.fleet.api import FleetError, FleetUnavailable, KVConflict, KVEntry

logger = logging.getLogger(__name__)

# How long a snapshot may wait for a replica that has the bucket up to date.
SNAPSHOT_TIMEOUT = 30.0


def _decode(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


# A deleted key's value inside a snapshot, before the snapshot drops it.
_DELETED = object()


def _conflict(exc: Exception) -> bool:
    # 10071: wrong last sequence (update); 10164/10058 style "already exists" for create.
    if isinstance(exc, js_errors.KeyWrongLastSequenceError):
        return True
    return isinstance(exc, js_errors.APIError) and exc.err_code in (10071, 10164)


class JsonKV:
    def __init__(self, bucket: str, kv: KeyValue) -> None:
        self.bucket = bucket
        self._kv = kv

    async def get(self, key: str) -> KVEntry | None:
        try:
            entry = await self._kv.get(key)
        except (js_errors.KeyNotFoundError, js_errors.KeyDeletedError):
            return None
        return KVEntry(key, _decode(entry.value), int(entry.revision or 0))

    async def put(self, key: str, value: Any) -> int:
        return int(await self._kv.put(key, orjson.dumps(value)))

    async def create(self, key: str, value: Any) -> int:
        try:
            return int(await self._kv.create(key, orjson.dumps(value)))
        except js_errors.Error as exc:
            if _conflict(exc) or isinstance(exc, js_errors.KeyValueError):
                raise KVConflict(f"{self.bucket}/{key} exists already") from None
            raise FleetError(f"{self.bucket}/{key}: {exc}") from exc

    async def update(self, key: str, value: Any, revision: int) -> int:
        with self._at_revision(key, revision):
            return int(await self._kv.update(key, orjson.dumps(value), last=revision))

    async def delete(self, key: str, revision: int | None = None) -> None:
        with self._at_revision(key, revision):
            await self._kv.delete(key, last=revision)

    @contextlib.contextmanager
    def _at_revision(self, key: str, revision: int | None) -> Iterator[None]:
        """A write that expects ``key`` at ``revision``: its JetStream error as ours."""
        try:
            yield
        except js_errors.Error as exc:
            if _conflict(exc):
                raise KVConflict(f"{self.bucket}/{key} is no longer at revision "
                                 f"{revision}") from None
            raise FleetError(f"{self.bucket}/{key}: {exc}") from exc

    async def keys(self) -> list[str]:
        """The keys of :meth:`snapshot` (nats-py's ``keys()`` is a watch with its flaws)."""
        return list(await self.snapshot())

    async def snapshot(self) -> dict[str, KVEntry]:
        """Every key's current value, as the stream's leader has it now.

        A watch reads from whichever replica its consumer is placed on, and nats-py ends
        its initial values when that consumer reports nothing pending: right after a NATS
        node restarts, a consumer on it serves the node's old copy until it catches up
        (seconds: keys missing, older revisions), and a watch can also end before its
        first entry arrives (empty). So the stream leader's last sequence is read first
        (a replica that knows no leader answers stream info too, with its own state: such
        an answer is not used), and a watch is taken as the bucket only if it reaches
        that sequence (delete markers count: the last message may be one); otherwise it
        is read again (also after a request that timed out), for at most SNAPSHOT_TIMEOUT.
        A KV never removes the newest entry of a key, so an up-to-date watch always holds
        the stream's last message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SNAPSHOT_TIMEOUT
        backoff = Backoff(first=0.05, cap=1.0)
        while True:
            try:
                taken = await self._snapshot_once()
            except TimeoutError as exc:  # nats-py's too: a request made as a node rejoins
                taken = f"timed out ({exc!r})"
            if not isinstance(taken, str):
                return taken
            logger.debug("fleet kv %s: %s; again", self.bucket, taken)
            if loop.time() + backoff.delay > deadline:
                raise FleetUnavailable(f"{self.bucket}: no up-to-date NATS replica answered "
                                       f"in {SNAPSHOT_TIMEOUT:g} s (last: {taken})")
            await backoff.sleep()

    async def _snapshot_once(self) -> dict[str, KVEntry] | str:
        """The bucket, or why this read of it cannot be taken for it."""
        info = (await self._kv.status()).stream_info
        if info.cluster is not None and not info.cluster.leader:
            # Not the leader's answer: a replica that knows no leader yet (one just
            # restarted) answers with its own, perhaps old, state.
            return "stream info without a leader"
        if info.state.messages == 0:
            return {}
        entries, last = await self._watch_once()
        if last < info.state.last_seq:
            return f"a watch reached revision {last} of {info.state.last_seq}"
        return {k: e for k, e in entries.items() if e.value is not _DELETED}

    async def _watch_once(self) -> tuple[dict[str, KVEntry], int]:
        """One watch's initial values (a deleted key's value is ``_DELETED``) and the
        highest revision among them."""
        out: dict[str, KVEntry] = {}
        last = 0
        watcher = await self._kv.watch(">")
        try:
            while True:
                entry = await watcher.updates(  # type: ignore[no-untyped-call]
                    timeout=10.0)
                if entry is None:
                    break
                revision = int(entry.revision or 0)
                last = max(last, revision)
                deleted = entry.operation in (KV_DEL, KV_PURGE)
                out[entry.key] = KVEntry(entry.key, _DELETED if deleted else
                                         _decode(entry.value), revision)
        finally:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await watcher.stop()  # type: ignore[no-untyped-call]
        return out, last

    async def watch(self, key_pattern: str = ">") -> AsyncIterator[KVEntry]:
        watcher = await self._kv.watch(key_pattern)
        try:
            while True:
                try:
                    entry = await watcher.updates(  # type: ignore[no-untyped-call]
                    timeout=3600.0)
                except TimeoutError:
                    continue
                if entry is None:
                    continue  # the end of the initial values
                deleted = entry.operation in (KV_DEL, KV_PURGE)
                yield KVEntry(entry.key, None if deleted else _decode(entry.value),
                              int(entry.revision or 0))
        finally:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await watcher.stop()  # type: ignore[no-untyped-call]
