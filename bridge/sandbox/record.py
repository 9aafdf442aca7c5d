"""ROOT/world.json: what a world is made of, so another process can attach or tear it down."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.sandbox.network import WorldNetwork
from bridge.sandbox.procs import ProcRef

logger = logging.getLogger(__name__)

RECORD = "world.json"


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

    def to_json(self) -> dict[str, Any]:
        return {
            "root": str(self.root), "name": self.name, "state": self.state,
            "cgroups": [str(p) for p in self.cgroups], "registry_port": self.registry_port,
            "registry": self.registry.to_json() if self.registry else None,
            "unshare": self.unshare.to_json() if self.unshare else None,
            "pid1": self.pid1.to_json() if self.pid1 else None,
            "network": self.network.to_json() if self.network else None,
            "boots": self.boots,
            "flavour": self.flavour,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorldRecord:
        def proc(key: str) -> ProcRef | None:
            return ProcRef.from_json(data[key]) if data.get(key) else None

        return cls(
            root=Path(data["root"]), name=str(data["name"]), state=str(data["state"]),
            cgroups=[Path(p) for p in data.get("cgroups", [])],
            registry_port=data.get("registry_port"), registry=proc("registry"),
            unshare=proc("unshare"), pid1=proc("pid1"),
            network=WorldNetwork.from_json(data["network"]) if data.get("network") else None,
            boots=int(data.get("boots", 0)), flavour=str(data.get("flavour", "debian12")))

    def save(self) -> None:
        path = self.root / RECORD
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, root: Path) -> WorldRecord:
        return cls.from_json(json.loads((root / RECORD).read_text()))
