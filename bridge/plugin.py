"""The plugin contract and the host that runs plugins.

A plugin is a class with a ``name``, a pydantic ``Config``, ``async start(ctx)`` and
``async stop()``; optionally a ``cli(subparsers)`` classmethod that adds its subcommands.
Built-ins and third-party plugins alike are found through the entry-point group
``podbridge.plugins``. A plugin talks to the rest of the bridge only through its
``PluginContext``. A plugin that raises (in ``start`` or in a task it made with
``ctx.create_task``) is logged, reported as ``bridge.plugin_failed``, stopped, and started
again with backoff; the bridge lives on.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, overload, runtime_checkable

from pydantic import BaseModel, ConfigDict, ValidationError
from typing_extensions import TypedDict

from bridge.backoff import exponential
from bridge.contracts import Topic, record
from bridge.events import (
    BRIDGE_PLUGIN_FAILED,
    BRIDGE_PLUGIN_STARTED,
    SOURCE_BRIDGE,
    now_iso,
    plugin_source,
)
from bridge.fleet.api import Fleet
from bridge.methods import (
    Handler,
    MethodRegistry,
    NoParams,
    Readiness,
    format_validation_error,
)
from bridge.methods import method as method  # re-exported: plugins declare methods with it
from bridge.owners import Owner, Owners, OwnerSession, check_owner_param
from bridge.roles import Role
from bridge.tasks import TaskOwner, within
from bridge.userfiles import UserFolder

if TYPE_CHECKING:
    from bridge.bus import Bus, Subscription
    from bridge.config import Settings
    from bridge.events import Event
    from bridge.podman import PodmanClient
    from bridge.state import State
    from bridge.store import Store
    from bridge.systemd import SystemdClient

logger = logging.getLogger(__name__)

D = TypeVar("D", bound=Mapping[str, Any])

ENTRY_POINT_GROUP = "podbridge.plugins"


class PluginConfig(BaseModel):
    """Base of every plugin's Config: ``enabled`` is common to all."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


@runtime_checkable
class Plugin(Protocol):
    name: ClassVar[str]
    Config: ClassVar[type[PluginConfig]]

    async def start(self, ctx: PluginContext) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class OwnerTarget:
    """Whose Podman and manager a plugin method acts on: ``owner`` None is the bridge's
    own; else a user's, whose folders :meth:`config_folder` finds."""

    owner: Owner | None
    podman: PodmanClient
    systemd: SystemdClient
    session: OwnerSession | None
    fs_root: Path

    def tag(self) -> dict[str, Any]:
        """``uid`` and ``user`` for an answer or event about a user's things; {} else."""
        return self.owner.tag() if self.owner is not None else {}

    async def config_folder(self, sub: str) -> UserFolder | None:
        """The user's ``$XDG_CONFIG_HOME/sub``; None for the bridge's own."""
        if self.session is None:
            return None
        return await self.session.config_folder(sub, self.fs_root)


@dataclass
class PluginContext:
    """What a plugin may use: nothing else of the bridge is its business."""

    name: str
    config: Any
    bus: Bus
    podman: PodmanClient
    systemd: SystemdClient
    store: Store
    state: State
    methods: MethodRegistry
    logger: logging.Logger
    _on_task_failed: Callable[[BaseException], None]
    # The bridge's settings (bridge.config.Settings), read-only: e.g. where units go.
    settings: Settings | None = None
    owners: Owners | None = None    # a root bridge's users (bridge.owners), else None
    user_fs_root: Path = Path("/")  # where users' home folders are seen from
    # The fleet (docs/fleet.md): `fleet.joined` is False outside one; calls carry plugin/NAME.
    fleet: Fleet = field(default_factory=lambda: Fleet("default", "", None))
    _unlisten: list[Callable[[], None]] = field(default_factory=list)
    _subs: list[Subscription] = field(default_factory=list)
    tasks: TaskOwner = field(init=False)

    def __post_init__(self) -> None:
        self.tasks = TaskOwner(f"plugin/{self.name}",
                               lambda _task, exc: self._on_task_failed(exc))

    @property
    def source(self) -> str:
        return plugin_source(self.name)

    @overload
    def publish(self, type: Topic[D], subject: str, data: D) -> None: ...

    @overload
    def publish(self, type: str, subject: str, data: Mapping[str, Any] | None = None
                ) -> None: ...

    def publish(self, type: str, subject: str, data: Mapping[str, Any] | None = None
                ) -> None:
        """Publish as the plugin; with a ``Topic``, its data is checked by its TypedDict."""
        self.bus.publish(type, self.source, subject, data)

    def register_method(
        self, name: str, handler: Handler, params: type[BaseModel] = NoParams,
        description: str = "", *, role: Role = "admin", readonly: bool = False,
    ) -> None:
        """``role``: the least role that may call it; ``readonly``: it changes nothing (then
        a GET may call it). The defaults are the strictest: admin, and a change."""
        self.methods.register(name, handler, params, owner=self.name, description=description,
                              role=role, readonly=readonly)

    def register_methods(self, obj: object) -> None:
        """Register the ``@method`` handlers of ``obj`` (the host does it for the plugin
        itself, before its start: calls made meanwhile wait for the start to end)."""
        self.methods.register_declared(obj, owner=self.name)

    def for_owner(self, owner: str | None) -> OwnerTarget:
        """The Podman and systemd manager an ``owner`` param names (a user's name or uid;
        None, "", "system", "root" or "0": the bridge's own), as core methods route
        ``owner``: a root bridge acts on a user's units through the user's own manager."""
        session = check_owner_param(owner, self.owners)
        if session is None:
            return OwnerTarget(None, self.podman, self.systemd, None, self.user_fs_root)
        return OwnerTarget(session.owner, session.podman, session.systemd, session,
                           self.user_fs_root)

    @overload
    def listen(self, patterns: Topic[D], listener: Callable[[Event, D], None]) -> None: ...

    @overload
    def listen(self, patterns: Iterable[str], listener: Callable[[Event, bytes], None]
               ) -> None: ...

    def listen(self, patterns: Any, listener: Any) -> None:
        """A bus listener run inline by ``publish`` (keep it quick), removed when the plugin
        stops. Given one ``Topic``, it gets ``(event, data)`` typed by the topic."""
        self._unlisten.append(self.bus.listen(patterns, listener))

    def subscribe(self, patterns: Iterable[str], since: int | None = None,
                  maxsize: int | None = None) -> Subscription:
        """A bus subscription (``Bus.subscribe``) closed when the plugin stops."""
        sub = self.bus.subscribe(patterns, since=since, maxsize=maxsize)
        self._subs = [s for s in self._subs if not s.closed]
        self._subs.append(sub)
        return sub

    def create_task(self, coro: Coroutine[Any, Any, Any], name: str | None = None
                    ) -> asyncio.Task[Any]:
        """A task owned by the plugin: cancelled when it stops; if it raises, the plugin has
        failed and is restarted."""
        return self.tasks.create(coro, name or "task")

    async def cancel_tasks(self) -> None:
        """Stop listening, close the subscriptions, then cancel and await every task of
        the plugin."""
        for unlisten in self._unlisten:
            unlisten()
        self._unlisten.clear()
        for sub in self._subs:
            sub.close()
        self._subs.clear()
        await self.tasks.close()


@record("plugin")
class PluginRecord(TypedDict):
    """A plugin as ``bridge.plugins`` lists it."""

    name: str
    enabled: bool
    state: str            # stopped|starting|running|failed|disabled|broken
    last_error: str | None
    failures: int
    started_at: str | None


@dataclass
class PluginInfo:
    name: str
    enabled: bool
    state: str = "stopped"  # stopped|starting|running|failed|disabled|broken
    last_error: str | None = None
    failures: int = 0
    started_at: str | None = None  # RFC 3339 UTC

    def to_json(self) -> PluginRecord:
        return {"name": self.name, "enabled": self.enabled, "state": self.state,
                "last_error": self.last_error, "failures": self.failures,
                "started_at": self.started_at}


def discover() -> dict[str, type[Any] | Exception]:
    """Every plugin class in the entry-point group (or the error that loading it raised)."""
    found: dict[str, type[Any] | Exception] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken third-party plugin must not stop the bridge
            logger.exception("cannot load plugin %s", ep.name)
            found[ep.name] = exc
    return found


def add_plugin_cli(subparsers: argparse._SubParsersAction[Any]) -> None:
    for _name, cls in sorted(discover().items()):
        if isinstance(cls, Exception):
            continue
        add = getattr(cls, "cli", None)
        if add is not None:
            add(subparsers)


BackoffFn = Callable[[int], float]


def _takes_context(cls: type[Any]) -> bool:
    try:
        return bool(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return False


def default_backoff(failures: int) -> float:
    return exponential(failures, 0.5, 60.0)


class PluginHost:
    """Starts, supervises and stops plugins."""

    def __init__(
        self,
        *,
        bus: Bus,
        podman: PodmanClient,
        systemd: SystemdClient,
        store: Store,
        state: State,
        methods: MethodRegistry,
        config: dict[str, dict[str, Any]],
        plugins: dict[str, type[Any] | Exception] | None = None,
        backoff: BackoffFn = default_backoff,
        settings: Settings | None = None,
        owners: Owners | None = None,
        user_fs_root: Path = Path("/"),
        fleet: Fleet | None = None,
    ) -> None:
        self.settings = settings
        self.owners = owners
        self.user_fs_root = user_fs_root
        self.fleet = fleet or Fleet("default", "", None)
        self.bus = bus
        self.podman = podman
        self.systemd = systemd
        self.store = store
        self.state = state
        self.methods = methods
        self._config = config
        self._classes = discover() if plugins is None else plugins
        self._backoff = backoff
        self.info: dict[str, PluginInfo] = {}
        self._instances: dict[str, Any] = {}
        self._supervisors = TaskOwner("supervise")

    async def start(self) -> None:
        for name, cls in sorted(self._classes.items()):
            section = self._config.get(name, {})
            if isinstance(cls, Exception):
                self.info[name] = PluginInfo(name, False, "broken", str(cls))
                self._report_failed(name, f"cannot load: {cls}")
                continue
            enabled = bool(section.get("enabled", True))
            self.info[name] = PluginInfo(name, enabled, "stopped" if enabled else "disabled")
            if enabled:
                self._supervisors.create(self._supervise(name, cls, section), name)

    async def stop(self) -> None:
        await self._supervisors.close()

    def _report_failed(self, name: str, error: str) -> None:
        self.bus.publish(BRIDGE_PLUGIN_FAILED, SOURCE_BRIDGE, name, {"error": error})

    async def _supervise(self, name: str, cls: type[Any], section: dict[str, Any]) -> None:
        info = self.info[name]
        config_model = getattr(cls, "Config", PluginConfig)
        try:
            config = config_model.model_validate(section)
        except ValidationError as exc:
            info.state = "broken"
            info.last_error = f"bad config [plugins.{name}]: {format_validation_error(exc)}"
            logger.error("plugin %s: %s", name, info.last_error)
            self._report_failed(name, info.last_error)
            return
        while True:
            failed = asyncio.Event()
            errors: list[BaseException] = []

            def on_task_failed(exc: BaseException, failed: asyncio.Event = failed,
                               errors: list[BaseException] = errors) -> None:
                errors.append(exc)
                failed.set()

            ctx = PluginContext(
                name=name, config=config, bus=self.bus, podman=self.podman,
                systemd=self.systemd, store=self.store, state=self.state, methods=self.methods,
                logger=logging.getLogger(f"plugins.{name}"), _on_task_failed=on_task_failed,
                settings=self.settings, owners=self.owners, user_fs_root=self.user_fs_root,
                fleet=self.fleet.as_caller(plugin_source(name)))
            # A plugin whose constructor takes the context gets it there; one written
            # before that (no arguments) gets it in start() only. Both get it in start().
            plugin: Any = None
            info.state = "starting"
            ready = Readiness(name)
            error: BaseException | None = None
            try:
                # Inside the try: a constructor that raises fails like a start() that
                # raises (reported, retried after the backoff), not the host's task.
                plugin = cls(ctx) if _takes_context(cls) else cls()
                self._instances[name] = plugin
                self.methods.register_declared(plugin, owner=name, ready=ready)
                await plugin.start(ctx)
                ready.settle()
                info.state = "running"
                info.started_at = now_iso()
                self.bus.publish(BRIDGE_PLUGIN_STARTED, SOURCE_BRIDGE, name, {})
                await failed.wait()
                error = errors[0]
            except asyncio.CancelledError:
                ready.settle("the bridge is stopping")
                await self._teardown(name, plugin, ctx)
                info.state = "stopped"
                raise
            except Exception as exc:
                error = exc
            ready.settle(f"{type(error).__name__}: {error}")
            info.failures += 1
            info.state = "failed"
            info.last_error = f"{type(error).__name__}: {error}"
            logger.error("plugin %s failed: %s", name, info.last_error, exc_info=error)
            self._report_failed(name, info.last_error)
            await self._teardown(name, plugin, ctx)
            await asyncio.sleep(self._backoff(info.failures))

    async def _teardown(self, name: str, plugin: Any, ctx: PluginContext) -> None:
        if plugin is not None:
            if self._instances.get(name) is plugin:
                del self._instances[name]
            try:
                await within(plugin.stop(), 10)
            except Exception:
                logger.exception("plugin %s: stop failed", name)
        await ctx.cancel_tasks()
        self.methods.unregister_owner(name)

    def list(self) -> list[PluginRecord]:
        return [i.to_json() for i in sorted(self.info.values(), key=lambda i: i.name)]

    def instance(self, name: str) -> Any | None:
        """The running instance of plugin ``name`` (for tests and diagnostics)."""
        return self._instances.get(name)
