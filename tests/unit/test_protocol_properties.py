"""Property tests (Hypothesis) of the websocket protocol's edge and of method params: any
input, however malformed or deep, is a message or a ProtocolError (never another
exception), and any params are a result, invalid-params or access-denied."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from bridge.errors import BridgeError
from bridge.methods import AccessDenied, MethodRegistry
from bridge.protocol import CallMsg, ProtocolError, SubscribeMsg, parse, parse_auth
from bridge.roles import ROLES, Caller, allows

# JSON has no NaN or Infinity, and orjson reads integers of 64 bits at most (a larger one
# is a protocol-error; JavaScript clients cannot even write one exactly).
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                 max_size=5),
    max_leaves=30)
KEYS = st.sampled_from(["id", "type", "method", "params", "topics", "since", "sub",
                        "token", "x"])
messages = st.dictionaries(KEYS, json_values | st.sampled_from(
    ["call", "subscribe", "unsubscribe", "ping", "auth"]), max_size=6)
FAST = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def parses_or_protocol_error(text: str | bytes) -> None:
    try:
        msg = parse(text)
    except ProtocolError as exc:
        assert exc.code == "protocol-error" and exc.message
    else:
        assert isinstance(msg.id, int)


@pytest.mark.parametrize("inputs", [pytest.param(st.text(max_size=300), id="text"),
                                    pytest.param(st.binary(max_size=300), id="bytes"),
                                    pytest.param(messages.map(json.dumps), id="json_object")])
@FAST
@given(data=st.data())
def test_any_input_is_a_message_or_a_protocol_error(inputs: st.SearchStrategy[str | bytes],
                                                    data: st.DataObject) -> None:
    parses_or_protocol_error(data.draw(inputs))


@FAST
@given(st.integers(min_value=2**64), st.sampled_from(["id", "since", "sub"]))
def test_integers_past_64_bits_are_a_protocol_error(big: int, key: str) -> None:
    with pytest.raises(ProtocolError):
        parse(json.dumps({"id": 1, "type": "subscribe", "topics": ["*"], key: big}))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from("[{"))
def test_nesting_of_any_depth_is_an_answer(depth: int, opener: str) -> None:
    if opener == "[":
        text = "[" * depth + "]" * depth
    else:
        text = '{"id":1,"type":"call","method":"m","params":' + '{"a":' * depth + "1" \
            + "}" * depth + "}"
    parses_or_protocol_error(text)
    try:
        parse_auth(text)
    except ProtocolError as exc:
        assert exc.message


@FAST
@given(INT64, st.text(min_size=1, max_size=200), st.dictionaries(
    st.text(max_size=10), json_values, max_size=5))
def test_a_well_formed_call_round_trips(msg_id: int, method: str,
                                        params: dict[str, Any]) -> None:
    text = json.dumps({"id": msg_id, "type": "call", "method": method, "params": params})
    msg = parse(text)
    assert isinstance(msg, CallMsg) and msg.id == msg_id and msg.method == method
    assert msg.params == params


@FAST
@given(st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=64),
       st.none() | st.integers(min_value=0, max_value=2**63 - 1))
def test_a_well_formed_subscribe_round_trips(topics: list[str], since: int | None) -> None:
    msg = parse(json.dumps({"id": 1, "type": "subscribe", "topics": topics, "since": since}))
    assert isinstance(msg, SubscribeMsg) and msg.topics == topics and msg.since == since


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    timeout: int = Field(default=10, ge=0, le=3600)
    tags: list[str] = Field(default_factory=list, max_length=10)


@pytest.fixture(scope="module")
def registry() -> tuple[MethodRegistry, list[Any]]:
    methods = MethodRegistry()
    ran: list[Any] = []

    async def handler(p: Params) -> str:
        ran.append(p)
        return p.name

    methods.register("t.read", handler, Params, role="viewer", readonly=True)
    methods.register("t.stop", handler, Params, role="operator")
    methods.register("t.install", handler, Params, role="admin")
    return methods, ran


@FAST
@given(params=json_values | st.dictionaries(
    st.sampled_from(["name", "timeout", "tags", "extra"]), json_values, max_size=4),
    method=st.sampled_from(["t.read", "t.stop", "t.install"]),
    role=st.sampled_from(ROLES))
def test_any_params_for_any_role_get_a_clear_answer(
        registry: tuple[MethodRegistry, list[Any]], params: Any, method: str,
        role: str) -> None:
    methods, ran = registry
    before = len(ran)
    need = methods.get(method).role
    try:
        result = asyncio.run(methods.call(method, params, Caller("fuzz", role)))
    except AccessDenied as exc:
        assert not allows(role, need) and repr(need) in exc.message
        assert len(ran) == before, "a refused call runs nothing"
    except BridgeError as exc:
        assert exc.code == "invalid-params" or (exc.code == "protocol-error"), exc
        assert exc.message and len(ran) == before
    else:
        assert allows(role, need) and result == params["name"]
        assert len(ran) == before + 1
