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
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, Required

import orjson
from pydantic import BeforeValidator
from typing_extensions import TypedDict

from bridge.contracts import Topic

# Sources
SOURCE_PODMAN = "podman"
SOURCE_SYSTEMD = "systemd"
SOURCE_BRIDGE = "bridge"


def plugin_source(name: str) -> str:
    return f"plugin/{name}"


# Topics published by the core, each with the TypedDict of its data (bridge.contracts).
# Plugins declare their own, next to where they publish them.


class JobDoneData(TypedDict):
    unit: str
    job: str
    id: int
    result: str


class UnitRefData(TypedDict):
    unit: str


class UnitFieldsData(TypedDict):
    active_state: str | None
    sub_state: str | None
    result: str | None
    n_restarts: int | None


class UnitStateData(TypedDict):
    unit: str
    active_state: str | None
    sub_state: str | None
    result: str | None
    n_restarts: int | None
    previous: UnitFieldsData


class ReloadingData(TypedDict):
    active: bool


class BridgeStartedData(TypedDict):
    version: str
    podman: str
    systemd: str


class PluginFailedData(TypedDict):
    error: str


class EmptyData(TypedDict):
    pass


class SourceData(TypedDict):
    connected: bool
    error: str | None


class PodmanEventData(TypedDict, total=False):
    """``container.<action>``, ``image.<action>``, ``pod.<action>`` ... (Podman's event
    actions), translated by bridge/sources.py."""

    id: Required[str]
    time: Required[str | None]
    image: str
    pod_id: str
    exit_code: int | None
    health: str | None
    labels: dict[str, str]
    state: str
    oom_killed: bool
    attributes: dict[str, str]
    error: str


JOB_DONE = Topic("job.done", JobDoneData)
UNIT_NEW = Topic("unit.new", UnitRefData)
UNIT_REMOVED = Topic("unit.removed", UnitRefData)
UNIT_STATE = Topic("unit.state", UnitStateData)
SYSTEMD_RELOADING = Topic("systemd.reloading", ReloadingData)
BRIDGE_STARTED = Topic("bridge.started", BridgeStartedData)
BRIDGE_PLUGIN_FAILED = Topic("bridge.plugin_failed", PluginFailedData)
BRIDGE_PLUGIN_STARTED = Topic("bridge.plugin_started", EmptyData)
BRIDGE_SOURCE = Topic("bridge.source", SourceData)  # a source connected / lost its peer

PODMAN_OBJECT_TYPES = ("container", "image", "pod", "volume", "network", "system", "secret")
PODMAN_TOPICS = {kind: Topic(f"{kind}.*", PodmanEventData) for kind in PODMAN_OBJECT_TYPES}


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


_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?\s*"
                      r"(Z|[+-]\d\d:?\d\d)?(?:\s+\S+)?$")


def rfc3339(value: Any) -> str | None:
    """Any time Podman or the bridge has (epoch seconds, an RFC 3339 string with any
    offset, Go's ``2006-01-02 15:04:05.999 +0000 UTC``) in the one form of the wire: RFC
    3339 in UTC with a ``Z``, its fraction kept (to the nanosecond). None for no time
    (None, 0, Go's zero time) or one that cannot be read."""
    if value is None or value == "" or value == 0 or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        ns = int(value * 1_000_000_000) if value < 1e11 else int(value)
        return iso_from_ns(ns) if ns > 0 else None
    if not isinstance(value, str):
        return None
    m = _RFC3339.match(value.strip())
    if m is None:
        return None
    date, clock, fraction, offset = m.groups()
    if date.startswith("0001-"):
        return None
    fraction = (fraction or "")[:9]
    try:
        dt = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        return None
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{fraction}Z" if fraction else f"{text}Z"


# A time in a stored or listed record: read back in the one form of the wire, whatever
# form an older version stored it in (epoch seconds, another offset).
Time = Annotated[str | None, BeforeValidator(rfc3339)]


def iso_from_ns(ns: int) -> str:
    dt = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 1_000_000_000:09d}Z"


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def ns_from_iso(text: str) -> int | None:
    """Nanoseconds since the epoch of an RFC 3339 time (``iso_from_ns``'s form, or one of
    Podman's with an offset), None for anything else: times compared as numbers, since Go
    trims the fraction's trailing zeros."""
    match = _ISO.match(text)
    if match is None:
        return None
    whole = datetime.fromisoformat(match[1] + ("+00:00" if match[3] == "Z" else match[3]))
    return int(whole.timestamp()) * 1_000_000_000 + int((match[2] or "0").ljust(9, "0")[:9])


# Event ids: unique per bridge process (a random prefix) and cheap (the seq after it).
_ID_PREFIX = os.urandom(6).hex()


class Event:
    """One event. Treat as immutable: the same object goes to every subscriber."""

    __slots__ = ("data", "host", "id", "seq", "source", "subject", "time", "type")

    data: Mapping[str, Any]

    def __init__(self, seq: int, type: str, source: str, subject: str,
                 data: Mapping[str, Any], time: str | None = None, id: str | None = None,
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
    # re.escape writes ``*`` and ``?`` as ``\*`` and ``\?``; ``**`` first, as a scan
    # from the left would read it.
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^.]*")
    return re.compile(regex.replace(r"\?", "[^.]") + r"\Z")


def topic_matches(patterns: tuple[str, ...] | list[str], topic: str) -> bool:
    return any(compile_pattern(p).match(topic) for p in patterns)
