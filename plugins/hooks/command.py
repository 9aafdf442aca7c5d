"""Run a command for a hook: argv (never a shell), the event as JSON on stdin, a timeout
after which the whole process group is terminated, then killed.

The command gets a session (and so a process group) of its own, so that what it starts
goes with it at the timeout. Its output (stdout and stderr together) is kept up to a bound,
the tail wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Mapping
from dataclasses import dataclass

from bridge.tasks import TaskOwner, within

logger = logging.getLogger(__name__)

OUTPUT_LIMIT = 8192


class CommandFailed(Exception):
    pass


@dataclass
class CommandResult:
    pid: int
    exit_code: int | None  # None when killed at the timeout
    output: str
    timed_out: bool
    duration: float


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


async def _read_tail(stream: asyncio.StreamReader, limit: int) -> bytes:
    buf = bytearray()
    while chunk := await stream.read(65536):
        buf += chunk
        if len(buf) > limit:
            del buf[:-limit]
    return bytes(buf)


async def _feed(stdin: asyncio.StreamWriter, payload: bytes) -> None:
    # A command that does not read stdin (or exits early) must not fail the hook.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        stdin.write(payload)
        await stdin.drain()
    stdin.close()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        await stdin.wait_closed()


async def run_command(
    argv: list[str], payload: bytes, *, env: Mapping[str, str] | None, cwd: str | None,
    timeout: float, kill_grace: float = 2.0, output_limit: int = OUTPUT_LIMIT,
    user: tuple[int, int] | None = None,
) -> CommandResult:
    """Run ``argv`` with ``payload`` on stdin; at ``timeout`` send SIGTERM to its process
    group, and SIGKILL ``kill_grace`` seconds later. Always reaps the process, also when
    cancelled. Raises CommandFailed when it cannot be started."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    # ``user``: (uid, gid) to switch to, with no supplementary groups (root only).
    ids: dict[str, object] = {} if user is None else {
        "user": user[0], "group": user[1], "extra_groups": []}
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, env=dict(env) if env is not None else None,
            cwd=cwd, start_new_session=True, **ids)  # type: ignore[arg-type]
    except OSError as exc:
        raise CommandFailed(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    pgid = proc.pid  # start_new_session: the child leads its own group
    assert proc.stdin is not None and proc.stdout is not None
    io = TaskOwner(f"hook/{proc.pid}")
    io.create(_feed(proc.stdin, payload), "stdin")
    reader = io.create(_read_tail(proc.stdout, output_limit), "stdout")
    timed_out = False
    try:
        try:
            await within(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            logger.warning("command %r (pid %d) ran past its %gs timeout; terminating its "
                           "process group", argv, proc.pid, timeout)
            _signal_group(pgid, signal.SIGTERM)
            try:
                await within(proc.wait(), kill_grace)
            except TimeoutError:
                _signal_group(pgid, signal.SIGKILL)
                await proc.wait()
        # What the command left running in its group would hold the output pipe open:
        # it belongs to the hook, so it goes too.
        _signal_group(pgid, signal.SIGKILL)
        try:
            output = await within(asyncio.shield(reader), 5)
        except TimeoutError:
            logger.warning("command %r: its output stays open after it exited "
                           "(a process left its group?); not waiting for it", argv)
            output = b""
    finally:
        if proc.returncode is None:  # cancelled: the plugin is stopping
            _signal_group(pgid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        await io.close()
    text = output.decode("utf-8", "replace")
    exit_code = None if timed_out else proc.returncode
    return CommandResult(proc.pid, exit_code, text, timed_out, loop.time() - started)
