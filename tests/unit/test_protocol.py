from __future__ import annotations

import pytest

from bridge.protocol import CallMsg, ProtocolError, SubscribeMsg, parse, parse_auth


@pytest.mark.parametrize(("text", "msg_id", "fragment"), [
    ("not json", None, "not JSON"),
    ("[1,2]", None, "JSON object"),
    ('{"id": 3}', 3, "string 'type'"),
    ('{"id": 4, "type": "frobnicate"}', 4, "unknown message type"),
    ('{"type": "call", "method": "x"}', None, "integer 'id'"),
    ('{"id": true, "type": "call", "method": "x"}', None, "integer 'id'"),
    ('{"id": 5, "type": "subscribe", "topics": []}', 5, "topics"),
    ('{"id": 6, "type": "subscribe", "topics": ["*"], "since": -1}', 6, "since"),
    ('{"id": 7, "type": "call", "method": "x", "params": [1]}', 7, "params"),
    ('{"id": 8, "type": "call"}', 8, "method"),
    ('{"id": 9, "type": "unsubscribe"}', 9, "sub"),
    ('{"id": 10, "type": "call", "method": "x", "extra": 1}', 10, "extra"),
])
def test_malformed_messages_name_the_problem(text: str, msg_id: int | None,
                                             fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse(text)
    assert info.value.msg_id == msg_id
    assert fragment in info.value.message
    assert info.value.code == "protocol-error"


def test_good_messages() -> None:
    sub = parse('{"id": 1, "type": "subscribe", "topics": ["container.*"], "since": 5}')
    assert isinstance(sub, SubscribeMsg) and sub.since == 5
    call = parse('{"id": 2, "type": "call", "method": "state.get"}')
    assert isinstance(call, CallMsg) and call.params is None


def test_auth_message() -> None:
    assert parse_auth('{"type": "auth", "token": "t"}').token == "t"
    with pytest.raises(ProtocolError):
        parse_auth('{"type": "call"}')
