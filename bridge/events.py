"""The one Event shape of podbridge, close to CloudEvents on purpose.

Every event on the bus has a bus-assigned, strictly increasing ``seq``; ``type`` is a dotted
topic (``container.died``, ``unit.state``, ``autoupdate.updated``); ``subject`` names the
object (a container name, a unit name). An event is serialised once, when it is published,
and the same bytes go to every subscriber.
"""

from __future__ import annotations

import os
import re
import time as _time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson

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


_second_cache: list[Any] = [-1, ""]


def now_iso() -> str:
    """The current UTC time in RFC 3339 with microseconds (cheap: the date part of the
    string is made once a second)."""
    t = _time.time()
    sec = int(t)
    if sec != _second_cache[0]:
        _second_cache[0] = sec
        _second_cache[1] = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(sec))
    return f"{_second_cache[1]}.{int((t - sec) * 1_000_000):06d}Z"


def iso_from_ns(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


# Event ids: unique per bridge process (a random prefix) and cheap (the seq after it).
_ID_PREFIX = os.urandom(6).hex()


class Event:
    """One event. Treat as immutable: the same object goes to every subscriber."""

    __slots__ = ("data", "host", "id", "seq", "source", "subject", "time", "type")

    def __init__(self, seq: int, type: str, source: str, subject: str,
                 data: dict[str, Any], time: str | None = None, id: str | None = None,
                 host: str | None = None) -> None:
        self.seq = seq
        # The fleet host the event happened on (docs/fleet.md); None outside a fleet.
        self.host = host
        self.type = type
        self.source = source
        self.subject = subject
        self.data = data
        self.time = time or now_iso()
        self.id = id or f"{_ID_PREFIX}-{seq:x}"

    def __repr__(self) -> str:
        return f"Event(seq={self.seq}, type={self.type!r}, subject={self.subject!r})"

    def to_json(self) -> dict[str, Any]:
        out = {
            "seq": self.seq,
            "id": self.id,
            "time": self.time,
            "source": self.source,
            "type": self.type,
            "subject": self.subject,
            "data": self.data,
        }
        if self.host is not None:
            out["host"] = self.host
        return out


def encode_event(event: Event) -> bytes:
    """The one serialisation of an event, shared by every subscriber."""
    return orjson.dumps(event.to_json(), default=str, option=orjson.OPT_NON_STR_KEYS)


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
