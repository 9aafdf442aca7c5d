"""Hooks running real commands, hosted on a real Bus: once per matching event with the
event on stdin, conditions, debounce, rate limit, the timeout that kills a hung command's
process group, overflow of the job queue, loops, call and publish actions, dry-run."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from plugins.hooks.engine import NAMESPACE
from tests.integration.bridgefix import wait_for
from tests.integration.test_hooks_host import HooksHarness, command_rule

WRITE_STDIN = ["/bin/sh", "-c", 'cat > "$1"', "sh"]


def gone(pid: int) -> bool:
    """No such process, or only a zombie waiting for its (new) parent to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


async def settled(h: HooksHarness) -> None:
    """A positive marker for "nothing more happened": a rule of its own fires on an event
    published now; the engine decides in order, so every event before it was decided."""
    if not any(r["name"] == "marker" for r in await h.call("hooks.list")):
        await h.add({"name": "marker", "on": {"topic": "test.marker"},
                     "actions": [{"type": "publish", "topic": "hook.marked"}]})
    before = len(h.fired("marker"))
    h.publish("test.marker", "marker")
    await h.wait_fired(before + 1, "marker")


async def test_command_fires_once_per_matching_event(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    async with HooksHarness(tmp_path) as h:
        await h.add(command_rule("crash", [*WRITE_STDIN, f"{out}/{{{{seq}}}}.json"], on={
            "topic": "container.died", "subject": "web-*", "where": ["data.exit_code != 0"]}))
        hits = [
            h.publish("container.died", "web-1", {"exit_code": 1, "image": "i"}),
            h.publish("container.died", "web-2", {"exit_code": 137}),
        ]
        # None of these match: exit 0, no exit code at all, another subject, another topic.
        h.publish("container.died", "web-3", {"exit_code": 0})
        h.publish("container.died", "web-4", {})
        h.publish("container.died", "db", {"exit_code": 1})
        h.publish("container.start", "web-1", {"exit_code": 1})
        fired = await h.wait_fired(2, "crash")
        await settled(h)  # every event above was decided: no wrong firing can follow
        assert len(h.fired("crash")) == 2 and h.fired(type="hook.failed") == []
        assert sorted(p.name for p in out.iterdir()) == sorted(f"{e.seq}.json" for e in hits)
        for event in hits:
            assert json.loads((out / f"{event.seq}.json").read_text()) == event.to_json()
        by_seq = {e.data["event"]["seq"]: e for e in fired}
        assert set(by_seq) == {e.seq for e in hits}
        first = by_seq[hits[0].seq].data
        assert first["rule"] == "crash" and first["count"] == 1
        assert first["actions"][0]["exit_code"] == 0
        assert fired[0].source == "plugin/hooks"
        # Recorded in the store, and readable over the API.
        history = await h.call("hooks.history", {"rule": "crash"})
        assert [r["kind"] for r in history] == ["fired", "fired"]
        assert {r["event"]["seq"] for r in history} == {e.seq for e in hits}
        assert len([r for r in h.store.journal(NAMESPACE) if r["subject"] == "crash"]) == 2
        stats = (await h.call("hooks.list"))[0]["stats"]
        assert stats["fired"] == 2 and stats["matched"] == 2


async def test_command_env_and_failure_stops_later_actions(tmp_path: Path) -> None:
    marker = tmp_path / "second-ran"
    async with HooksHarness(tmp_path) as h:
        await h.add({"name": "fail", "on": {"topic": "container.died"}, "actions": [
            {"type": "command", "env": {"CODE": "{{data.exit_code}}"},
             "argv": ["/bin/sh", "-c", 'echo "rule=$PODBRIDGE_RULE subject=$1 code=$CODE"; '
                      "exit 4", "sh", "{{subject}}"]},
            {"type": "command", "argv": ["touch", str(marker)]}]})
        h.publish("container.died", "web", {"exit_code": 2})
        (failed,) = await h.wait_fired(1, "fail", "hook.failed")
        assert failed.data["error"] == "action 0 (command): /bin/sh exited with 4"
        first, second = failed.data["actions"]
        assert first["exit_code"] == 4
        assert first["output"] == "rule=fail subject=web code=2\n"
        assert second == {"type": "command", "skipped": True}
        assert not marker.exists()
        (record,) = await h.call("hooks.history", {"rule": "fail"})
        assert record["kind"] == "failed" and "exited with 4" in record["error"]


async def test_hung_command_is_killed_at_its_timeout_with_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids"
    # The shell and its child both ignore SIGTERM: only the SIGKILL after kill_grace ends
    # them. The child would keep the output pipe open if it were left behind.
    script = f'trap "" TERM; sleep 300 & echo "$$ $!" > {pidfile}; wait'
    async with HooksHarness(tmp_path) as h:
        await h.add({"name": "hang", "on": {"topic": "test.hang"}, "actions": [
            {"type": "command", "argv": ["/bin/sh", "-c", script], "timeout": 0.5,
             "kill_grace": 0.3}]})
        start = time.monotonic()
        h.publish("test.hang", "x")
        (failed,) = await h.wait_fired(1, "hang", "hook.failed")
        took = time.monotonic() - start
        action = failed.data["actions"][0]
        assert action["timed_out"] is True and action["exit_code"] is None
        assert "ran past its 0.5s timeout and was killed" in failed.data["error"]
        assert 0.7 <= took < 5, took
        shell, child = (int(p) for p in pidfile.read_text().split())
        assert action["pid"] == shell
        await wait_for(lambda: gone(shell) and gone(child), 5, "the processes to be gone")


async def test_debounce_fires_once_per_quiet_subject_with_the_last_event(
        tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    async with HooksHarness(tmp_path) as h:
        await h.add(command_rule("flappy", [*WRITE_STDIN, f"{out}/{{{{subject}}}}.json"],
                                 debounce=0.8))
        # One turn of the loop: however slow the machine, no quiet period ends in between.
        burst = [h.publish("container.died", "web", {"exit_code": code})
                 for code in (1, 2, 3, 4, 5)]
        other = h.publish("container.died", "db", {"exit_code": 9})
        await asyncio.sleep(0)
        assert h.fired() == []  # still inside the quiet period
        fired = await h.wait_fired(2, "flappy")
        # The marker: a third subject debounced the same way fires only after every timer
        # set before it (loop timers run in deadline order), so no late second firing of
        # web or db can follow.
        h.publish("container.died", "marker", {"exit_code": 1})
        await h.wait_fired(3, "flappy")
        assert [e.data["event"]["subject"] for e in h.fired("flappy")].count("web") == 1
        assert [e.data["event"]["subject"] for e in h.fired("flappy")].count("db") == 1
        by_subject = {e.data["event"]["subject"]: e.data for e in fired}
        assert by_subject["web"]["count"] == 5
        assert by_subject["web"]["event"]["seq"] == burst[-1].seq  # the last of the burst
        assert by_subject["db"]["count"] == 1
        assert json.loads((out / "web.json").read_text())["data"]["exit_code"] == 5
        assert json.loads((out / "db.json").read_text())["seq"] == other.seq


async def test_rate_limit_suppresses_over_the_limit(tmp_path: Path) -> None:
    async with HooksHarness(tmp_path) as h:
        await h.add(command_rule("limited", ["true"], rate_limit={"max": 2, "per": 60}))
        for i in range(5):
            h.publish("container.died", f"c{i}", {"exit_code": 1})
        await h.wait_fired(2, "limited")
        await settled(h)
        assert len(h.fired("limited")) == 2
        stats = (await h.call("hooks.list"))[0]["stats"]
        assert stats["suppressed"] == 3 and stats["fired"] == 2
        kinds = [r["kind"] for r in await h.call("hooks.history", {"rule": "limited"})]
        assert kinds.count("suppressed") == 1  # recorded once per burst, not per event


async def test_full_queue_drops_and_reports_without_blocking_the_bus(tmp_path: Path) -> None:
    async with HooksHarness(tmp_path, {"max_concurrent": 1, "queue_size": 1}) as h:
        await h.add(command_rule("slow", ["sleep", "0.3"]))
        for i in range(6):
            h.publish("container.died", f"c{i}", {"exit_code": 1})
        # Publishing never waited: it returned before any 0.3 s job could even start
        # (a promise of order, not of a duration; the speed is measured by make bench).
        assert h.fired("slow") == [] and h.fired("slow", "hook.failed") == []
        await wait_for(lambda: len(h.fired("slow")) + len(h.fired("slow", "hook.failed"))
                       >= 6, 10, "every job run or dropped")
        dropped = h.fired("slow", "hook.failed")
        assert len(dropped) >= 3 and all(e.data["dropped"] for e in dropped)
        assert "hook jobs already waiting" in dropped[0].data["error"]
        assert 1 <= len(h.fired("slow")) <= 2
        stats = (await h.call("hooks.list"))[0]["stats"]
        assert stats["dropped"] == len(dropped)


async def test_a_rule_never_fires_on_what_it_caused(tmp_path: Path) -> None:
    async with HooksHarness(tmp_path) as h:
        # "boom" fails; "alert" runs on every hook.failed and fails too: without the guard
        # it would feed on its own failures forever.
        await h.add({"name": "boom", "on": {"topic": "test.boom"},
                     "actions": [{"type": "command", "argv": ["false"]}]})
        await h.add({"name": "alert", "on": {"topic": "hook.failed"},
                     "actions": [{"type": "command", "argv": ["false"]}]})
        # "ping" and "pong" publish events that trigger each other.
        await h.add({"name": "ping", "on": {"topic": ["test.start", "hook.pong"]},
                     "actions": [{"type": "publish", "topic": "hook.ping"}]})
        await h.add({"name": "pong", "on": {"topic": "hook.ping"},
                     "actions": [{"type": "publish", "topic": "hook.pong"}]})
        h.publish("test.boom", "x")
        h.publish("test.start", "x")
        await h.wait_fired(1, "alert", "hook.failed")
        await h.wait_fired(1, "pong")
        await settled(h)
        assert len(h.fired("boom", "hook.failed")) == 1
        assert len(h.fired("alert", "hook.failed")) == 1
        assert len(h.fired("ping")) == 1 and len(h.fired("pong")) == 1
        assert [e.type for e in h.hook_events].count("hook.pong") == 1
        stats = {r["name"]: r["stats"] for r in await h.call("hooks.list")}
        assert stats["alert"]["loops_blocked"] == 1
        assert stats["ping"]["loops_blocked"] == 1


async def test_call_and_publish_actions(tmp_path: Path) -> None:
    calls: list[Any] = []
    async with HooksHarness(tmp_path) as h:
        from pydantic import BaseModel

        class Restart(BaseModel):
            name: str
            code: int

        async def restart(p: Restart) -> dict[str, Any]:
            calls.append(p)
            return {"restarted": p.name}

        h.methods.register("test.restart", restart, Restart)
        await h.add({"name": "heal", "on": {"topic": "container.died"}, "actions": [
            {"type": "call", "method": "test.restart",
             "params": {"name": "{{subject}}", "code": "{{data.exit_code}}"}},
            {"type": "publish", "topic": "hook.healed", "data": {"who": "{{subject}}"}}]})
        h.publish("container.died", "web", {"exit_code": 3})
        (fired,) = await h.wait_fired(1, "heal")
        assert [(c.name, c.code) for c in calls] == [("web", 3)]
        assert fired.data["actions"][0]["result"] == {"restarted": "web"}
        healed = [e for e in h.hook_events if e.type == "hook.healed"]
        assert len(healed) == 1 and healed[0].subject == "web"
        assert healed[0].data == {"who": "web"} and healed[0].source == "plugin/hooks"
        # A call that fails is reported with the method's error code.
        await h.add({"name": "nomethod", "on": {"topic": "test.x"},
                     "actions": [{"type": "call", "method": "no.such"}]})
        h.publish("test.x", "y")
        (failed,) = await h.wait_fired(1, "nomethod", "hook.failed")
        assert "unknown-method" in failed.data["error"]


async def test_dry_run_logs_and_records_what_would_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    async with HooksHarness(tmp_path, {"dry_run": True}) as h:
        await h.add(command_rule("careful", ["touch", str(marker), "{{subject}}"]))
        h.publish("container.died", "web", {"exit_code": 1})
        (fired,) = await h.wait_fired(1, "careful")
        assert fired.data["dry_run"] is True
        assert fired.data["actions"][0]["argv"] == ["touch", str(marker), "web"]
        (record,) = await h.call("hooks.history", {"rule": "careful"})
        assert record["kind"] == "dry-run"
    assert not marker.exists()


async def test_stopping_the_plugin_kills_a_running_command(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    async with HooksHarness(tmp_path) as h:
        await h.add({"name": "long", "on": {"topic": "test.long"}, "actions": [
            {"type": "command", "argv": ["/bin/sh", "-c", f'echo $$ > {pidfile}; sleep 300'],
             "timeout": 600}]})
        h.publish("test.long", "x")
        await wait_for(lambda: pidfile.exists() and pidfile.read_text().strip() != "",
                       5, "the command to start")
        shell = int(pidfile.read_text())
        assert not gone(shell)
    # The harness stopped the plugin: the command was killed and reaped (the autouse
    # fixture also fails the test if any child process were left).
    assert gone(shell)
    assert h.fired() == [] and h.fired(type="hook.failed") == []
