"""The method registry: one table behind the websocket ``call``, REST ``/api/<method>`` and
the CLI's ``podbridge call``. Params are validated once, here, by a pydantic model."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.errors import AccessDenied as AccessDenied  # re-exported: its old home
from bridge.errors import InvalidParams, UnknownMethod, Unreachable
from bridge.roles import ROLES, Caller, Role, allows
from bridge.tasks import within

logger = logging.getLogger(__name__)


class Params(BaseModel):
    """The base of a method's params: a key it does not name is refused."""

    model_config = ConfigDict(extra="forbid")


class NoParams(Params):
    pass


Handler = Callable[[Any], Awaitable[Any]]

# How long a call waits for the plugin behind it to finish starting.
START_WAIT = 60.0


class Readiness:
    """Whether a plugin has started. Its methods are registered before its ``start()`` runs,
    so that a client which connects early waits for them (up to ``START_WAIT`` seconds)
    rather than being told ``unknown-method`` about a method that is on its way."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.error: str | None = None
        self._settled = asyncio.Event()

    def settle(self, error: str | None = None) -> None:
        """The start ended: it succeeded (``error`` None) or failed with ``error``."""
        if not self._settled.is_set():
            self.error = error
            self._settled.set()

    async def wait(self, timeout: float = START_WAIT) -> None:
        try:
            await within(self._settled.wait(), timeout)
        except TimeoutError:
            raise Unreachable(f"plugin {self.owner} is still starting") from None
        if self.error is not None:
            raise Unreachable(f"plugin {self.owner} did not start: {self.error}")

# Who the running method was called by (None: the bridge or a plugin itself). A handler that
# passes a call on (fleet.call) reads it to carry the caller's name and role along.
current_caller: ContextVar[Caller | None] = ContextVar("podbridge_caller", default=None)


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    handler: Handler
    params: type[BaseModel]
    owner: str  # "bridge" or the plugin's name
    description: str = ""
    # The least role that may call it, and whether it only reads (then GET may call it).
    # An undeclared method is the safest kind: admin only, and a change.
    role: Role = "admin"
    readonly: bool = False
    ready: Readiness | None = None  # a plugin's start: calls wait for it


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
SPEC_ATTR = "__bridge_method__"


def method(name: str, params: type[BaseModel] = NoParams, *, role: Role = "admin",
           readonly: bool = False, description: str = "") -> Callable[[F], F]:
    """Declare a handler as the method ``name``, next to its code::

        @method("rollback.status", role="viewer", readonly=True)
        async def do_status(self, _: NoParams) -> dict[str, Any]: ...

    ``MethodRegistry.register_declared(obj)`` (a plugin's context does it for the plugin)
    registers every handler so marked. ``description`` defaults to the docstring's first
    line; ``role`` and ``readonly`` as for ``register``."""
    if role not in ROLES:
        raise ValueError(f"method {name!r}: unknown role {role!r}")

    def mark(handler: F) -> F:
        # What the registry will hold, but for the handler's binding and the owner.
        doc = (handler.__doc__ or "").strip().split("\n", 1)[0]
        setattr(handler, SPEC_ATTR, Method(name, handler, params, "", description or doc,
                                           role, readonly))
        return handler
    return mark


def declared_methods(obj: object) -> list[tuple[Method, Handler]]:
    """The ``@method`` handlers of ``obj`` (bound to it), in name order."""
    specs = ((attr, getattr(getattr(type(obj), attr, None), SPEC_ATTR, None))
             for attr in sorted(dir(type(obj))))
    return [(spec, getattr(obj, attr)) for attr, spec in specs if isinstance(spec, Method)]


def format_validation_error(exc: ValidationError) -> str:
    found = ((".".join(str(x) for x in err["loc"]) or "params", err["msg"])
             for err in exc.errors())
    return "; ".join(f"{loc}: {msg}" for loc, msg in found)


AuditFn = Callable[[Method, Caller, Any, "BaseException | None", Any, float], None]


class MethodRegistry:
    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}
        # Called after every call that changes something (or was refused), before its answer
        # is sent: the audit trail.
        self.audit: AuditFn | None = None

    def register(
        self, name: str, handler: Handler, params: type[BaseModel] = NoParams,
        *, owner: str = "bridge", description: str = "", role: Role = "admin",
        readonly: bool = False, ready: Readiness | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"method {name!r}: unknown role {role!r}")
        if name in self._methods and self._methods[name].owner != owner:
            raise ValueError(f"method {name!r} is already registered by "
                             f"{self._methods[name].owner}")
        self._methods[name] = Method(name, handler, params, owner, description, role, readonly,
                                     ready)

    def register_table(self, rows: Iterable[tuple[str, Any, type[BaseModel], Role, str]]
                       ) -> None:
        """Register each ``(name, handler, params, role, description)`` of the core; a
        viewer's method is read-only."""
        for name, handler, params, role, doc in rows:
            self.register(name, handler, params, description=doc, role=role,
                          readonly=role == "viewer")

    def register_declared(self, obj: object, owner: str = "bridge",
                          ready: Readiness | None = None) -> None:
        """Register every ``@method`` handler of ``obj`` (calls wait for ``ready``)."""
        for spec, handler in declared_methods(obj):
            self.register(spec.name, handler, spec.params, owner=owner,
                          description=spec.description, role=spec.role,
                          readonly=spec.readonly, ready=ready)

    def unregister_owner(self, owner: str) -> None:
        for name in [n for n, m in self._methods.items() if m.owner == owner]:
            del self._methods[name]

    def get(self, name: str) -> Method:
        try:
            return self._methods[name]
        except KeyError:
            raise UnknownMethod(f"unknown method {name!r}") from None

    def list(self) -> list[Method]:
        return sorted(self._methods.values(), key=lambda m: m.name)

    async def call(self, name: str, params: Any, caller: Caller | None = None) -> Any:
        """Validate ``params`` and run the method for ``caller`` (``None``: the bridge
        itself). A caller whose role is too low gets ``access-denied`` naming the role."""
        method = self.get(name)
        if caller is None or method.readonly or self.audit is None:
            return await self._run(method, params, caller)
        start = time.monotonic()
        try:
            result = await self._run(method, params, caller)
        except BaseException as exc:
            self.audit(method, caller, params, exc, None, time.monotonic() - start)
            raise
        self.audit(method, caller, params, None, result, time.monotonic() - start)
        return result

    async def _run(self, method: Method, params: Any, caller: Caller | None) -> Any:
        if caller is not None and not allows(caller.role, method.role):
            raise AccessDenied(f"{method.name} needs the role {method.role!r}; "
                               f"{caller.name!r} has {caller.role!r}")
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParams("params: must be an object")
        try:
            model = method.params.model_validate(params)
        except ValidationError as exc:
            raise InvalidParams(format_validation_error(exc)) from None
        if method.ready is not None:
            await method.ready.wait()
        token = current_caller.set(caller)
        try:
            return await method.handler(model)
        finally:
            current_caller.reset(token)
