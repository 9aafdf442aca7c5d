"""containers.rename to a name another container has is a `conflict` that says so, in
Podman 4 (which answers 409 "already in use") and Podman 5 (whose SQLite state answers
500 "UNIQUE constraint failed"); nothing is renamed."""

from __future__ import annotations

import pytest

from bridge.client import BridgeClient
from bridge.errors import BridgeError
from tests.helpers import unique

IMAGE = "localhost/podbridge/httpd:v1"


async def test_rename_to_a_taken_name_is_a_conflict(client: BridgeClient) -> None:
    a, b = unique("rn-a"), unique("rn-b")
    try:
        for name in (a, b):
            await client.call("containers.create", {"image": IMAGE, "name": name,
                                                    "start": False})
        with pytest.raises(BridgeError) as exc:
            await client.call("containers.rename", {"name": a, "new_name": b})
        assert exc.value.code == "conflict", exc.value
        assert "already in use" in exc.value.message, exc.value.message
        info = await client.call("containers.inspect", {"name": a})
        assert info["Name"] == a
    finally:
        for name in (a, b):
            try:
                await client.call("containers.remove", {"name": name, "force": True})
            except BridgeError:
                pass
