"""The websocket protocol's inbound messages, validated once, at the edge.

See docs/protocol.md for the whole protocol with examples.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bridge.errors import ProtocolError as ProtocolError  # re-exported: its old home
from bridge.methods import format_validation_error

MAX_TOPICS = 64


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _IdMsg(_Msg):
    id: int


class AuthMsg(_Msg):
    type: Literal["auth"]
    token: str | None = None


class SubscribeMsg(_IdMsg):
    type: Literal["subscribe"]
    topics: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_TOPICS)
    since: int | None = Field(default=None, ge=0)
    # Every host's events, through the fleet (docs/fleet.md); seqs are the stream's.
    fleet: bool = False
    # With fleet: only the events of these hosts (a panel showing one host's pages).
    hosts: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=MAX_TOPICS)


class UnsubscribeMsg(_IdMsg):
    type: Literal["unsubscribe"]
    sub: int


class CallMsg(_IdMsg):
    type: Literal["call"]
    method: str = Field(min_length=1, max_length=200)
    params: dict[str, Any] | None = None


class PingMsg(_IdMsg):
    type: Literal["ping"]


class StreamCloseMsg(_IdMsg):
    type: Literal["stream_close"]
    stream: int


MAX_INPUT = 64 * 1024


class StreamInputMsg(_IdMsg):
    type: Literal["stream_input"]
    stream: int
    data: str = Field(max_length=MAX_INPUT)


class StreamResizeMsg(_IdMsg):
    type: Literal["stream_resize"]
    stream: int
    rows: int = Field(ge=1, le=1000)
    cols: int = Field(ge=1, le=1000)


StreamMsg = StreamCloseMsg | StreamInputMsg | StreamResizeMsg
InboundMsg = (SubscribeMsg | UnsubscribeMsg | CallMsg | PingMsg | StreamCloseMsg
              | StreamInputMsg | StreamResizeMsg)
Inbound = Annotated[InboundMsg, Field(discriminator="type")]
_inbound: TypeAdapter[InboundMsg] = TypeAdapter(Inbound)  # type: ignore[arg-type, unused-ignore]
KNOWN_TYPES = ("subscribe", "unsubscribe", "call", "ping", "stream_close", "stream_input",
               "stream_resize")


def parse(text: str | bytes) -> InboundMsg:
    try:
        # orjson: bounded nesting (1024), where json.loads would raise RecursionError.
        obj = orjson.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"message is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ProtocolError("message must be a JSON object")
    raw_id = obj.get("id")
    msg_id = raw_id if isinstance(raw_id, int) and not isinstance(raw_id, bool) else None
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("message needs a string 'type'", msg_id)
    if kind not in KNOWN_TYPES:
        raise ProtocolError(f"unknown message type {kind!r}", msg_id)
    if msg_id is None:
        raise ProtocolError(f"{kind!r} message needs an integer 'id'")
    try:
        return _inbound.validate_python(obj)
    except ValidationError as exc:
        raise ProtocolError(f"bad {kind!r} message: {format_validation_error(exc)}",
                            msg_id) from None


def parse_auth(text: str | bytes) -> AuthMsg:
    try:
        return AuthMsg.model_validate_json(text)
    except ValidationError as exc:
        raise ProtocolError("the first message must be "
                            f"{{\"type\":\"auth\",\"token\":...}}: "
                            f"{format_validation_error(exc)}") from None
