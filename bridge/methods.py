"""The method registry: one table behind the websocket ``call``, REST ``/api/<method>`` and
the CLI's ``podbridge call``. Params are validated once, here, by a pydantic model."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from bridge.errors import BridgeError, InvalidParams

logger = logging.getLogger(__name__)


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


Handler = Callable[[Any], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    handler: Handler
    params: type[BaseModel]
    owner: str  # "bridge" or the plugin's name
    description: str = ""


def format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "params"
        parts.append(f"{loc}: {err['msg']}")
    return "; ".join(parts)


class MethodRegistry:
    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def register(
        self, name: str, handler: Handler, params: type[BaseModel] = NoParams,
        *, owner: str = "bridge", description: str = "",
    ) -> None:
        if name in self._methods and self._methods[name].owner != owner:
            raise ValueError(f"method {name!r} is already registered by "
                             f"{self._methods[name].owner}")
        self._methods[name] = Method(name, handler, params, owner, description)

    def unregister_owner(self, owner: str) -> None:
        for name in [n for n, m in self._methods.items() if m.owner == owner]:
            del self._methods[name]

    def get(self, name: str) -> Method:
        try:
            return self._methods[name]
        except KeyError:
            raise BridgeError(f"unknown method {name!r}", "unknown-method") from None

    def list(self) -> list[Method]:
        return sorted(self._methods.values(), key=lambda m: m.name)

    async def call(self, name: str, params: Any) -> Any:
        method = self.get(name)
        if params is None:
            params = {}
        if not isinstance(params, dict):
            raise InvalidParams("params: must be an object")
        try:
            model = method.params.model_validate(params)
        except ValidationError as exc:
            raise InvalidParams(format_validation_error(exc)) from None
        return await method.handler(model)
