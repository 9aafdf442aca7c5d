"""A JetStream KV bucket of JSON values, as ``bridge.fleet.api.KV`` promises it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from nats.js import errors as js_errors
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue

from bridge.fleet.api import FleetError, KVConflict, KVEntry

logger = logging.getLogger(__name__)


def _decode(raw: bytes | None) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


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
        try:
            return [str(k) for k in await self._kv.keys()]
        except js_errors.NoKeysError:
            return []

    async def snapshot(self) -> dict[str, KVEntry]:
        """Every key's current value (a watch read until its initial values end; a
        deleted key's last entry is a delete, which ignore_deletes leaves out)."""
        out: dict[str, KVEntry] = {}
        watcher = await self._kv.watch(">", ignore_deletes=True)
        try:
            while True:
                entry = await watcher.updates(  # type: ignore[no-untyped-call]
                    timeout=10.0)
                if entry is None:
                    break
                out[entry.key] = KVEntry(entry.key, _decode(entry.value),
                                         int(entry.revision or 0))
        finally:
            with contextlib.suppress(Exception):  # the connection may be closed already
                await watcher.stop()  # type: ignore[no-untyped-call]
        return out

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
