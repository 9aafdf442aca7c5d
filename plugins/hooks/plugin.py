"""The hooks plugin: rules from ``[[plugins.hooks.rules]]`` and from ``hooks.add``, run by
the engine; methods ``hooks.list``, ``hooks.add``, ``hooks.remove``, ``hooks.test``,
``hooks.history``; events ``hook.fired``, ``hook.failed``.

Rules from the config file are the file's: the API can neither replace nor remove them.
Rules added over the API are kept in the store and come back when the bridge restarts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, ClassVar

import aiohttp
from pydantic import Field, ValidationError, model_validator

from bridge.errors import Conflict, InvalidParams, NotFound
from bridge.methods import Params, format_validation_error, method
from bridge.plugin import PluginConfig, PluginContext
from plugins.hooks.actions import preview
from plugins.hooks.engine import Engine, RuleEntry
from plugins.hooks.rules import CommandAction, HookHistoryEntry, Rule
from plugins.hooks.runas import RunAsError, resolve

logger = logging.getLogger(__name__)

RULES_NAMESPACE = "hooks.rules"


class HooksConfig(PluginConfig):
    rules: list[Rule] = Field(default_factory=list)
    dry_run: bool = Field(False, description="log and record what would run; run nothing")
    max_concurrent: int = Field(4, ge=1, le=64, description="actions running at once")
    queue_size: int = Field(100, ge=1, le=100_000, description="jobs waiting; more are "
                            "dropped and reported as hook.failed")
    max_chain: int = Field(3, ge=1, le=16, description="how many hook firings may lead "
                           "from one to the next")
    history: int = Field(10_000, ge=10, le=1_000_000, description="outcomes kept")
    run_as: str | None = Field(None, max_length=64, description="the user command actions "
                               "run as when they name none (a root bridge needs one)")

    @model_validator(mode="after")
    def _unique_names(self) -> HooksConfig:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"two rules are named {rule.name!r}")
            seen.add(rule.name)
        return self


class AddParams(Params):
    rule: Rule
    replace: bool = Field(False, description="replace a rule of that name added over the API")


class NameParams(Params):
    name: str


class SampleEvent(Params):
    type: str = Field(min_length=1)
    subject: str = ""
    source: str = "test"
    data: dict[str, Any] = Field(default_factory=dict)
    seq: int = 0
    id: str = "sample"
    time: str = "1970-01-01T00:00:00.000000Z"


class TestParams(Params):
    rule: Rule | None = Field(None, description="a rule to try (not added)")
    name: str | None = Field(None, description="or the name of a rule in place")
    event: SampleEvent

    @model_validator(mode="after")
    def _one(self) -> TestParams:
        if (self.rule is None) == (self.name is None):
            raise ValueError("give either rule or name")
        return self


class HistoryParams(Params):
    rule: str | None = None
    limit: int = Field(50, ge=1, le=1000)


def _user_errors(rule: Rule, default: str | None) -> Iterator[tuple[int, RunAsError]]:
    """Each command action of ``rule`` that could not run as anyone, and why."""
    for i, action in enumerate(rule.actions):
        if isinstance(action, CommandAction):
            try:
                resolve(action.run_as, default)
            except RunAsError as exc:
                yield i, exc


class HooksPlugin:
    name: ClassVar[str] = "hooks"
    Config: ClassVar[type[PluginConfig]] = HooksConfig

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx
        config: HooksConfig = ctx.config
        self._session: aiohttp.ClientSession | None = aiohttp.ClientSession()
        self.engine = Engine(
            bus=ctx.bus, methods=ctx.methods, store=ctx.store, source=ctx.source,
            session=self._session, spawn=lambda coro, name: ctx.create_task(coro, name),
            subscribe=ctx.subscribe,
            dry_run=config.dry_run, max_concurrent=config.max_concurrent,
            queue_size=config.queue_size, max_chain=config.max_chain, history=config.history)
        self.engine.runner.run_as = config.run_as

    async def start(self, ctx: PluginContext) -> None:
        config: HooksConfig = ctx.config
        engine = self.engine
        for rule in config.rules:
            engine.set_rule(rule, "config")
            for i, exc in _user_errors(rule, config.run_as):
                logger.error("rule %s, action %d will fail: %s", rule.name, i, exc)
        for name, doc in sorted(ctx.store.items(RULES_NAMESPACE).items()):
            try:
                rule = Rule.model_validate(doc)
            except ValidationError as exc:
                logger.error("stored rule %s no longer validates, skipped: %s", name,
                             format_validation_error(exc))
                continue
            if rule.name in engine.rules:
                logger.warning("stored rule %s is shadowed by the config file's", name)
                continue
            engine.set_rule(rule, "api")
        engine.start()
        logger.info("hooks: %d rules%s", len(engine.rules),
                    " (dry-run: nothing will run)" if config.dry_run else "")

    async def stop(self) -> None:
        await self.engine.stop()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- methods

    @method("hooks.list", role="viewer", readonly=True)
    async def do_list(self, _: Any) -> list[dict[str, Any]]:
        """the rules, with counts"""
        return [e.to_json() for e in sorted(self.engine.rules.values(),
                                            key=lambda e: e.rule.name)]

    @method("hooks.add", AddParams, role="admin")
    async def do_add(self, p: AddParams) -> dict[str, Any]:
        """add a rule (kept across restarts)"""
        engine = self.engine
        old = engine.rules.get(p.rule.name)
        if old is not None and old.origin == "config":
            raise Conflict(f"rule {p.rule.name!r} comes from the config file: change it there")
        if old is not None and not p.replace:
            raise Conflict(f"rule {p.rule.name!r} exists: remove it first, or pass "
                           "replace: true")
        # Refused when it is added: a rule whose commands could not run as anyone.
        for i, exc in _user_errors(p.rule, self._ctx.config.run_as):
            raise InvalidParams(f"rule.actions.{i}: {exc}")
        self._ctx.store.put(RULES_NAMESPACE, p.rule.name, p.rule.model_dump(mode="json"))
        entry = engine.set_rule(p.rule, "api")
        logger.info("rule %s %s over the API", p.rule.name, "replaced" if old else "added")
        return entry.to_json()

    @method("hooks.remove", NameParams, role="admin")
    async def do_remove(self, p: NameParams) -> None:
        """remove a rule added over the API"""
        engine = self.engine
        entry: RuleEntry | None = engine.rules.get(p.name)
        if entry is None:
            raise NotFound(f"no rule named {p.name!r}")
        if entry.origin == "config":
            raise Conflict(f"rule {p.name!r} comes from the config file: remove it there")
        self._ctx.store.delete(RULES_NAMESPACE, p.name)
        engine.remove_rule(p.name)
        logger.info("rule %s removed over the API", p.name)

    @method("hooks.test", TestParams, role="viewer", readonly=True)
    async def do_test(self, p: TestParams) -> dict[str, Any]:
        """evaluate a rule against a sample event; no action runs"""
        rule = p.rule
        if rule is None:
            entry = self.engine.rules.get(p.name or "")
            if entry is None:
                raise NotFound(f"no rule named {p.name!r}")
            rule = entry.rule
        event = p.event.model_dump(mode="json")
        result = rule.explain(event)
        result["rule"] = rule.name
        result["actions"] = ([preview(a, event) for a in rule.actions]
                             if result["matched"] else [])
        return result

    @method("hooks.history", HistoryParams, role="viewer", readonly=True)
    async def do_history(self, p: HistoryParams) -> list[HookHistoryEntry]:
        """recent outcomes, newest first"""
        return self.engine.journal.list(subject=p.rule, limit=p.limit)
