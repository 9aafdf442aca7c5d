"""The one Event shape of podbridge, close to CloudEvents on purpose.

Every event on the bus has a bus-assigned, strictly increasing ``seq``; ``type`` is a dotted
topic (``container.died``, ``unit.state``, ``autoupdate.updated``); ``subject`` names the
object (a container name, a unit name). An event is serialised once, when it is published,
and the same bytes go to every subscriber.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

# Sources
SOURCE_PODMAN = "podman"
SOURCE_SYSTEMD = "systemd"
SOURCE_BRIDGE = "bridge"


def plugin_source(name: str) -> str:
    return f"plugin/{name}"


# Topics published by the core. Plugins publish their own under their own prefix.
JOB_DONE = "job.done"
UNIT_NEW = "unit.new"
UNIT_REMOVED = "unit.removed"
UNIT_STATE = "unit.state"
SYSTEMD_RELOADING = "systemd.reloading"
BRIDGE_STARTED = "bridge.started"
BRIDGE_PLUGIN_FAILED = "bridge.plugin_failed"
BRIDGE_PLUGIN_STARTED = "bridge.plugin_started"
BRIDGE_SOURCE = "bridge.source"  # a source connected / lost its peer

PODMAN_OBJECT_TYPES = ("container", "image", "pod", "volume", "network", "system", "secret")


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def iso_from_ns(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    time: str = field(default_factory=now_iso)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "time": self.time,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "data": self.data,
        }


def encode_event(event: Event) -> bytes:
    """The one serialisation of an event, shared by every subscriber."""
    return json.dumps(event.to_json(), separators=(",", ":"), default=str).encode()


@lru_cache(maxsize=1024)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """A topic glob: ``*`` matches within one dotted segment, ``**`` (or a bare ``*``) anything.

    ``container.*`` matches ``container.died``; ``*`` and ``**`` match every topic;
    ``autoupdate.**`` matches any depth below ``autoupdate``.
    """
    if pattern in ("*", "**"):
        return re.compile(r".*")
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append(r"[^.]*")
        elif c == "?":
            out.append(r"[^.]")
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def topic_matches(patterns: tuple[str, ...] | list[str], topic: str) -> bool:
    return any(compile_pattern(p).match(topic) for p in patterns)
