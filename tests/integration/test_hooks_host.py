"""The hooks plugin in a real PluginHost on a real Bus and Store (no Podman needed): the
methods hooks.add / hooks.remove / hooks.list / hooks.test / hooks.history, refusals of bad
rules, rules kept across a restart. ``HooksHarness`` is shared by the other hooks tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from pydantic import BaseModel

from bridge.bus import Bus
from bridge.errors import BridgeError
from bridge.events import Event
from bridge.methods import MethodRegistry
from bridge.plugin import PluginHost
from bridge.podman import PodmanClient
from bridge.state import State
from bridge.store import Store
from bridge.systemd import SystemdClient
from plugins.hooks.plugin import HooksPlugin
from tests.integration.bridgefix import refused, wait_for


class HooksHarness:
    """Hosts HooksPlugin as the bridge does; collects every hook.* event it publishes."""

    def __init__(self, tmp_path: Path, config: dict[str, Any] | None = None,
                 store: Store | None = None) -> None:
        self.bus = Bus()
        self.methods = MethodRegistry()
        self.store = store or Store(tmp_path / "hooks.sqlite")
        self._own_store = store is None
        self.hook_events: list[Event] = []
        self.failures: list[str] = []
        self.bus.listen(["hook.**"], lambda e, _raw: self.hook_events.append(e))
        self.bus.listen(["bridge.plugin_failed"],
                        lambda e, _raw: self.failures.append(e.data["error"]))
        self.host = PluginHost(
            bus=self.bus, podman=PodmanClient("unix:///nonexistent"),
            systemd=SystemdClient("system", "unix:path=/nonexistent"), store=self.store,
            # The tests run as root: a root bridge runs commands only as a named user.
            state=State(self.bus), methods=self.methods,
            config={"hooks": {"run_as": "root", **(config or {})}},
            plugins={"hooks": HooksPlugin}, backoff=lambda n: 30.0)

    async def __aenter__(self) -> HooksHarness:
        await self.host.start()
        await wait_for(lambda: self.host.info["hooks"].state in ("running", "broken",
                                                                "failed"),
                       what="the hooks plugin to start")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.host.stop()
        if self._own_store:
            self.store.close()

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return await self.methods.call(method, params or {})

    async def add(self, rule: dict[str, Any]) -> Any:
        return await self.call("hooks.add", {"rule": rule})

    def publish(self, type: str, subject: str, data: dict[str, Any] | None = None,
                source: str = "podman") -> Event:
        return self.bus.publish(type, source, subject, data or {})

    def fired(self, rule: str | None = None, type: str = "hook.fired") -> list[Event]:
        return [e for e in self.hook_events
                if e.type == type and (rule is None or e.subject == rule)]

    async def wait_fired(self, n: int, rule: str | None = None, type: str = "hook.fired",
                         timeout: float = 10.0) -> list[Event]:
        await wait_for(lambda: len(self.fired(rule, type)) >= n, timeout,
                       f"{n} {type} of {rule or 'any rule'}")
        return self.fired(rule, type)


def command_rule(name: str, argv: list[str], **extra: Any) -> dict[str, Any]:
    on = extra.pop("on", {"topic": "container.died", "where": ["data.exit_code != 0"]})
    return {"name": name, "on": on, "actions": [{"type": "command", "argv": argv}], **extra}


async def test_bad_condition_is_refused_when_added(tmp_path: Path) -> None:
    async with HooksHarness(tmp_path) as h:
        with pytest.raises(BridgeError) as info:
            await h.add(command_rule("bad", ["true"], on={
                "topic": "container.died", "where": ["data.exit_code >> 0"]}))
        assert info.value.code == "invalid-params"
        assert info.value.message.startswith("rule.on.where.0: "), info.value.message
        assert "unknown operator '>>'" in info.value.message
        with pytest.raises(BridgeError) as info:
            await h.add(command_rule("bad", ["true"], on={
                "topic": "container.died",
                "where": [{"path": "data.exit_code", "op": ">", "value": "zero"}]}))
        assert "'>' compares numbers, but the value is \"zero\"" in info.value.message
        assert await h.call("hooks.list") == []  # nothing half-added


async def test_bad_rule_in_config_file_marks_plugin_broken(tmp_path: Path) -> None:
    config = {"rules": [command_rule("crash", ["true"], on={
        "topic": "container.died", "where": ["exit_code != 0"]})]}
    async with HooksHarness(tmp_path, config) as h:
        info = h.host.info["hooks"]
        assert info.state == "broken"
        assert info.last_error is not None
        assert "bad config [plugins.hooks]: rules.0.on.where.0:" in info.last_error
        assert "must start with one of seq, id" in info.last_error
        assert h.failures and "rules.0.on.where.0" in h.failures[0]


async def test_add_list_remove_and_keep_across_restart(tmp_path: Path) -> None:
    store = Store(tmp_path / "kept.sqlite")
    config = {"rules": [command_rule("from-file", ["true"])]}
    try:
        async with HooksHarness(tmp_path, config, store=store) as h:
            added = await h.add({
                "name": "alert", "on": {"topic": "unit.state", "subject": "web*.service",
                                        "where": ["data.active_state == failed"]},
                "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/x",
                             "secret": "s3cret"}]})
            assert added["origin"] == "api"
            assert added["rule"]["actions"][0]["secret"] == "********"
            listed = {r["name"]: r for r in await h.call("hooks.list")}
            assert set(listed) == {"alert", "from-file"}
            assert listed["from-file"]["origin"] == "config"
            with pytest.raises(BridgeError) as info:
                await h.add(command_rule("alert", ["true"]))
            assert info.value.code == "conflict" and "replace: true" in info.value.message
            with pytest.raises(BridgeError) as info:
                await h.add(command_rule("from-file", ["false"]))
            assert info.value.code == "conflict" and "config file" in info.value.message
            assert (await refused(h, "hooks.remove", {"name": "from-file"})).code == "conflict"
            assert (await refused(h, "hooks.remove", {"name": "nope"})).code == "not-found"
        # A new plugin instance on the same store: the API rule is back, with its secret.
        async with HooksHarness(tmp_path, config, store=store) as h:
            listed = {r["name"]: r for r in await h.call("hooks.list")}
            assert set(listed) == {"alert", "from-file"}
            await h.call("hooks.remove", {"name": "alert"})
            assert [r["name"] for r in await h.call("hooks.list")] == ["from-file"]
        async with HooksHarness(tmp_path, config, store=store) as h:
            assert [r["name"] for r in await h.call("hooks.list")] == ["from-file"]
    finally:
        store.close()


async def test_hooks_test_evaluates_without_running(tmp_path: Path) -> None:
    ran = tmp_path / "ran"          # the rule's command leaves ran-SUBJECT
    async with HooksHarness(tmp_path) as h:
        await h.add(command_rule("crash", ["/bin/sh", "-c", f'touch "{ran}-$0"',
                                           "{{subject}}"],
                                 on={"topic": "container.died", "subject": "web-*",
                                     "where": ["data.exit_code != 0"]}))
        hit = await h.call("hooks.test", {"name": "crash", "event": {
            "type": "container.died", "subject": "web-1", "data": {"exit_code": 137}}})
        assert hit["matched"] is True and hit["topic"] is True and hit["subject"] is True
        assert hit["conditions"] == [{"condition": "data.exit_code != 0", "found": True,
                                      "actual": 137, "result": True}]
        assert hit["actions"][0]["argv"][-1] == "web-1"  # the template, filled in
        miss = await h.call("hooks.test", {"name": "crash", "event": {
            "type": "container.died", "subject": "web-1", "data": {"exit_code": 0}}})
        assert miss["matched"] is False and miss["actions"] == []
        assert miss["conditions"][0]["result"] is False
        absent = await h.call("hooks.test", {"name": "crash", "event": {
            "type": "container.died", "subject": "web-1"}})
        assert absent["matched"] is False and absent["conditions"][0]["found"] is False
        # An unsaved rule can be tried too, and a bad one is refused the same way.
        inline = await h.call("hooks.test", {"rule": command_rule(
            "try", ["true"], on={"topic": "unit.*", "where": ["data.n_restarts >= 3"]}),
            "event": {"type": "unit.state", "subject": "a.service",
                      "data": {"n_restarts": 3}}})
        assert inline["matched"] is True
        info = await refused(h, "hooks.test", {"rule": command_rule(
            "try", ["true"], on={"topic": "unit.*", "where": ["data.n >= x"]}),
            "event": {"type": "unit.state"}})
        assert info.code == "invalid-params" and "compares numbers" in info.message
        assert h.hook_events == []
        # A real event after the tries, as a marker: the rule runs for it alone.
        h.publish("container.died", "web-real", {"exit_code": 1})
        (fired,) = await h.wait_fired(1, "crash")
        [rule] = await h.call("hooks.list")
        assert rule["stats"]["matched"] == 1, rule
    assert fired.data["event"]["subject"] == "web-real"
    left = await asyncio.to_thread(lambda: sorted(p.name for p in tmp_path.glob("ran-*")))
    assert left == ["ran-web-real"]
    assert [e.type for e in h.hook_events] == ["hook.fired"]


class Name(BaseModel):
    name: str


async def test_hooks_fire_on_the_audit_trail_and_their_calls_are_audited(
        tmp_path: Path) -> None:
    from bridge.audit import AuditLog
    from bridge.roles import Caller

    async with HooksHarness(tmp_path) as h:
        audit = AuditLog(h.store, h.bus)
        h.methods.audit = audit.record
        stopped: list[str] = []

        async def stop(p: Any) -> None:
            stopped.append(p.name)

        h.methods.register("demo.stop", stop, Name, role="operator")
        # A refused change is on the trail: a rule tells of it, and calls a method itself.
        await h.add({"name": "refused", "on": {"topic": "audit.call",
                                               "where": ["data.ok == false"]},
                     "actions": [{"type": "call", "method": "demo.stop",
                                  "params": {"name": "{{data.who}}"}}]})
        with pytest.raises(BridgeError):
            await h.methods.call("demo.stop", {"name": "web"}, Caller("vic", "viewer"))
        await wait_for(lambda: stopped == ["vic"], what="the hook's call")
        trail = [(r["who"], r["method"], r["ok"]) for r in reversed(audit.list())]
        assert trail == [("vic", "demo.stop", False), ("hook/refused", "demo.stop", True)]
