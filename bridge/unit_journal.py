"""A unit's journal through ``journalctl -o json``: the tail, and as a stream.

journalctl is the reader (as Cockpit's logs page uses it): it knows the journal's files,
rotation and the system and user units' fields. The command is a setting
(``journalctl``), so a bridge can read a journal it does not share a root with (the test
world's). Where no journal exists journalctl says "No journal files were found": the
method then answers ``not-supported``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
from typing import Any

from bridge.errors import BridgeError
from bridge.events import rfc3339
from bridge.streams import MAX_ITEM_BYTES, End, Put, StreamSource, chunk_text_items
from bridge.tasks import within

logger = logging.getLogger(__name__)

NO_JOURNAL = "No journal files were found"
BATCH = 256


class NoJournal(BridgeError):
    code = "not-supported"


def entry_of(record: dict[str, Any]) -> dict[str, Any]:
    """A journal record (journalctl's JSON) in the protocol's shape."""
    usec = record.get("__REALTIME_TIMESTAMP")
    time = None
    if isinstance(usec, str) and usec.isdigit():
        time = rfc3339(int(usec) * 1000)  # nanoseconds
    message = record.get("MESSAGE")
    if isinstance(message, list):   # not UTF-8: journalctl sends the bytes
        message = bytes(x for x in message if isinstance(x, int)).decode(errors="replace")
    priority = record.get("PRIORITY")
    pid = record.get("_PID")
    return {"time": time, "priority": int(str(priority)) if str(priority).isdigit() else None,
            "message": message if isinstance(message, str) else "",
            "pid": int(str(pid)) if str(pid).isdigit() else None,
            "identifier": record.get("SYSLOG_IDENTIFIER")}


def journal_argv(command: list[str], unit: str, uid: int | None, *, tail: int,
                 since: str | None, follow: bool) -> list[str]:
    argv = [*command, "--no-pager", "-q", "-o", "json", "-n", str(tail)]
    if uid is None:
        argv.append(f"--unit={unit}")
    else:
        argv += [f"--user-unit={unit}", f"_UID={uid}"]
    if since:
        argv.append(f"--since=@{since}" if since.replace(".", "", 1).isdigit()
                    else f"--since={since}")
    if follow:
        argv.append("--follow")
    return argv


class JournalStream(StreamSource):
    def __init__(self, command: list[str], argv: list[str], unit: str) -> None:
        self.command = command
        self.argv = argv
        self.unit = unit
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr: asyncio.Task[bytes] | None = None

    async def open(self) -> None:
        # journalctl -q prints nothing where there is no journal, and --follow then waits
        # for ever: ask once without -q whether there is one.
        check = [*self.command, "--no-pager", "-n", "0"]
        try:
            probe = await asyncio.create_subprocess_exec(
                *check, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            try:
                _, err = await within(probe.communicate(), 30)
            finally:  # timed out or cancelled: the probe goes too, and is reaped
                if probe.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        probe.kill()
                    await probe.wait()
        except (OSError, TimeoutError) as exc:
            raise NoJournal(f"journal of {self.unit}: cannot run {check[0]}: "
                            f"{exc}") from None
        if NO_JOURNAL in err.decode(errors="replace"):
            raise NoJournal(f"journal of {self.unit}: this host keeps no journal "
                            "(systemd-journald does not run)")
        # A session of its own: closing kills the whole group (a prefix such as nsenter
        # forks, and its child would otherwise keep the pipes open).
        self._proc = await asyncio.create_subprocess_exec(
            *self.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
        assert self._proc.stderr is not None
        self._stderr = asyncio.create_task(self._proc.stderr.read(), name="journal/stderr")

    async def produce(self, put: Put) -> End:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        rest = b""
        while True:
            # What journalctl has written so far, as one batch (items of whole entries).
            data = await proc.stdout.read(MAX_ITEM_BYTES)
            *whole, rest = (rest + data).split(b"\n") if data else [*rest.split(b"\n"), b""]
            batch: list[dict[str, Any]] = []
            for line in whole:
                if not line.strip():
                    continue
                try:
                    batch.append(entry_of(json.loads(line)))
                except ValueError:
                    logger.warning("journalctl: a line that is not JSON: %.200r", line)
            for item in chunk_text_items(batch, "entries"):
                await put(item)
            if not data:
                break
            if len(rest) > 16 * MAX_ITEM_BYTES:
                rest = b""      # one entry past 1 MiB: not kept
        code = await proc.wait()
        err = (await self._stderr if self._stderr is not None else b"").decode(
            errors="replace").strip()
        if code != 0:
            raise BridgeError(f"journal of {self.unit}: journalctl exited {code}: {err}")
        return End("eof")

    async def collect(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []

        async def put(item: dict[str, Any]) -> None:
            entries.extend(item["entries"])

        await self.drain(put)
        return entries

    async def aclose(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
        if self._stderr is not None:
            self._stderr.cancel()
            await asyncio.gather(self._stderr, return_exceptions=True)
            self._stderr = None
