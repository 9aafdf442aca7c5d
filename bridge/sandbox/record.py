"""ROOT/world.json: what a world is made of, so another process can attach or tear it down."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar, cast

from pydantic import TypeAdapter

from bridge.sandbox.network import WorldNetwork
from bridge.sandbox.procs import ProcRef

logger = logging.getLogger(__name__)

RECORD = "world.json"
T = TypeVar("T")


@cache
def _adapter(typ: Any) -> TypeAdapter[Any]:
    return TypeAdapter(typ)


def to_json(value: Any, typ: Any = None) -> Any:
    """A record (a dataclass, or a list of them as ``typ``) as JSON: its fields in
    their order, paths as strings."""
    return _adapter(cast(Any, typ or type(value))).dump_python(value, mode="json")


def from_json(typ: type[T], data: Any) -> T:
    """The record of type ``typ`` that :func:`to_json` wrote (missing fields: defaults)."""
    return cast(T, _adapter(cast(Any, typ)).validate_python(data))


@dataclass
class WorldRecord:
    root: Path
    name: str
    state: str = "new"  # new, booting, up, down
    cgroups: list[Path] = field(default_factory=list)
    registry_port: int | None = None
    registry: ProcRef | None = None
    unshare: ProcRef | None = None
    pid1: ProcRef | None = None
    network: WorldNetwork | None = None
    boots: int = 0
    flavour: str = "debian12"

    def save(self) -> None:
        path = self.root / RECORD
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(to_json(self), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, root: Path) -> WorldRecord:
        return from_json(cls, json.loads((root / RECORD).read_text()))
