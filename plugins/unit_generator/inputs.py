"""The parts of libpod's inspect JSON the generator reads, as small typed records.

Built from ``GET /libpod/containers/{id}/json`` and ``GET /libpod/pods/{id}/json`` (the
same JSON ``podman inspect`` / ``podman pod inspect`` print). Missing keys get the defaults
libpod would report, so hand-written test dicts can stay short.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import GenerateError

logger = logging.getLogger(__name__)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _strs(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class ContainerInfo:
    """One container, as far as unit generation is concerned."""

    id: str
    name: str
    create_command: list[str] | None       # None: created over REST without one
    env: list[str] = field(default_factory=list)            # Config.Env, KEY=VALUE
    stop_timeout: int = 10                                  # Config.StopTimeout
    conmon_pid_file: str = ""
    pod: str = ""                                           # pod ID, "" if none
    dependencies: list[str] = field(default_factory=list)   # container IDs
    restart_policy: str = ""                                # HostConfig.RestartPolicy.Name
    restart_retries: int = 0
    is_infra: bool = False
    driver: str = "overlay"
    image: str = ""                                         # Config.Image (as given)
    labels: dict[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ContainerInfo:
        """Build from one libpod container inspect object."""
        if not isinstance(data, Mapping) or not data.get("Id"):
            raise GenerateError("container inspect data without an Id")
        config = _dict(data.get("Config"))
        host = _dict(data.get("HostConfig"))
        restart = _dict(host.get("RestartPolicy"))
        command = config.get("CreateCommand")
        timeout = config.get("StopTimeout", 10)
        return cls(
            id=str(data["Id"]),
            name=str(data.get("Name", "")),
            create_command=_strs(command) if isinstance(command, list) and command else None,
            env=_strs(config.get("Env")),
            stop_timeout=int(timeout) if isinstance(timeout, int) else 10,
            conmon_pid_file=str(data.get("ConmonPidFile") or ""),
            pod=str(data.get("Pod") or ""),
            dependencies=_strs(data.get("Dependencies")),
            restart_policy=str(restart.get("Name") or ""),
            restart_retries=int(restart.get("MaximumRetryCount") or 0),
            is_infra=bool(data.get("IsInfra")),
            driver=str(_dict(data.get("GraphDriver")).get("Name") or data.get("Driver")
                       or "overlay"),
            image=str(config.get("Image") or data.get("ImageName") or ""),
            labels={str(k): str(v) for k, v in _dict(config.get("Labels")).items()},
            raw=data,
        )

    def run_root(self) -> str:
        """The storage run root, derived from the default conmon PID file location
        (``<runroot>/<driver>-containers/<id>/userdata/conmon.pid``); "" if it is custom."""
        marker = f"/{self.driver}-containers/{self.id}/"
        head, found, _ = self.conmon_pid_file.partition(marker)
        return head if found else ""


@dataclass(frozen=True)
class PodInfo:
    """One pod: its create command, its infra container and its members."""

    id: str
    name: str
    create_command: list[str]
    infra_id: str
    container_ids: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> PodInfo:
        """Build from one libpod pod inspect object."""
        if not isinstance(data, Mapping) or not data.get("Id"):
            raise GenerateError("pod inspect data without an Id")
        members = [c for c in data.get("Containers") or [] if isinstance(c, Mapping)]
        return cls(
            id=str(data["Id"]),
            name=str(data.get("Name", "")),
            create_command=_strs(data.get("CreateCommand")),
            infra_id=str(data.get("InfraContainerID") or ""),
            container_ids=[str(c.get("Id")) for c in members if c.get("Id")],
            labels={str(k): str(v) for k, v in _dict(data.get("Labels")).items()},
            raw=data,
        )
