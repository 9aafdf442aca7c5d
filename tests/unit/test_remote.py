"""The quick client of a running bridge (bridge.remote) and the choice of
``podbridge auto-update`` between handing its run to a bridge and running by itself."""

from __future__ import annotations

import asyncio
import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bridge import remote
from bridge.cli import COMMAND_GROUP, entry_point
from bridge.config import load_settings
from bridge.errors import BridgeError
from plugins.auto_update.command import forwardable, print_report
from tests.helpers import free_port, serving


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for k in ("PODBRIDGE_LISTEN", "PODBRIDGE_STATE_DIR", "PODBRIDGE_TOKEN_FILE",
              "PODBRIDGE_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PODBRIDGE_CONFIG", str(tmp_path / "absent.toml"))
    return tmp_path


def test_found_where_the_settings_put_it(clean_env: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    conf = clean_env / "podbridge.toml"
    state = clean_env / "state"
    state.mkdir()
    (state / "token").write_text("secret\n")
    conf.write_text(f'listen = "127.0.0.1:7001"\nstate_dir = "{state}"\n')
    monkeypatch.setenv("PODBRIDGE_CONFIG", str(conf))
    settings = load_settings(None)
    assert remote.find_bridge() == remote.Target(*settings.listen_address, "secret")
    # The environment wins over the file, as in Settings.
    monkeypatch.setenv("PODBRIDGE_LISTEN", "127.0.0.1:7002")
    other = clean_env / "other-token"
    other.write_text("t2")
    monkeypatch.setenv("PODBRIDGE_TOKEN_FILE", str(other))
    settings = load_settings(None)
    assert remote.find_bridge() == remote.Target("127.0.0.1", 7002, "t2")
    assert settings.token_path == other and settings.listen_address == ("127.0.0.1", 7002)


def test_no_token_no_bridge(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODBRIDGE_STATE_DIR", str(clean_env / "empty"))
    assert remote.find_bridge() is None


async def test_call_answers_data_errors_and_unreachable() -> None:
    async def api(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer tok":
            return web.json_response({"ok": False, "error": {
                "code": "access-denied", "message": "missing or invalid token"}}, status=401)
        params = await request.json()
        if request.match_info["method"] == "echo":
            return web.json_response({"ok": True, "data": params})
        return web.json_response({"ok": False, "error": {
            "code": "unknown-method", "message": "no such method"}}, status=404)

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    async with serving(app) as port:
        target = remote.Target("127.0.0.1", port, "tok")
        got = await asyncio.to_thread(remote.call, target, "echo", {"a": [1, "é"]}, 10)
        assert got == {"a": [1, "é"]}
        with pytest.raises(BridgeError) as info:
            await asyncio.to_thread(remote.call, target, "nope", None, 10)
        assert info.value.code == "unknown-method"
        bad = remote.Target("127.0.0.1", port, "wrong")
        with pytest.raises(BridgeError) as info:
            await asyncio.to_thread(remote.call, bad, "echo", None, 10)
        assert info.value.code == "access-denied"
    with pytest.raises(remote.BridgeUnreachable):
        remote.call(remote.Target("127.0.0.1", free_port(), "tok"), "echo", None, 10)


@pytest.mark.parametrize(("argv", "want"), [
    ([], (False, None, "table")),
    (["--dry-run"], (True, None, "table")),
    (["--format", "json", "--dry-run"], (True, None, "json")),
    (["--format=json"], (False, None, "json")),
    (["--rollback"], (False, True, "table")),
    (["--rollback", "false"], (False, False, "table")),
    (["--rollback=false", "--dry-run"], (True, False, "table")),
    # What the bridge's method does not take runs by itself.
    (["--authfile", "x"], None),
    (["--no-history"], None),
    (["--url", "unix:///x.sock"], None),
    (["--format", "{{.Unit}}"], None),
    (["--help"], None),
    (["--rollback=maybe"], None),
])
def test_what_a_bridge_is_given(argv: list[str], want: Any) -> None:
    assert forwardable(argv) == want


def test_report_printed_as_podman(capsys: pytest.CaptureFixture[str]) -> None:
    row = {"Unit": "a.service", "Container": "0123456789ab (a)", "ContainerName": "a",
           "ContainerID": "0123456789abcdef", "Image": "r/a:latest", "Policy": "registry",
           "Updated": "failed", "Reason": "pull failed"}
    status = print_report({"rows": [row], "errors": []}, "json")
    out, err = capsys.readouterr()
    assert status == 125
    assert json.loads(out) == [{k: row[k] for k in ("Unit", "Container", "ContainerName",
                                                     "ContainerID", "Image", "Policy",
                                                     "Updated")}]
    assert err == "Error: 0123456789ab (a): pull failed\n"
    assert print_report({"rows": [], "errors": []}, "table") == 0
    assert capsys.readouterr() == ("", "")


def test_quick_entry_points_agree_with_importlib_metadata() -> None:
    eps = entry_points(group=COMMAND_GROUP)
    assert eps.names  # podbridge itself brings auto-update
    for ep in eps:
        assert entry_point(COMMAND_GROUP, ep.name) == ep.value
    assert entry_point(COMMAND_GROUP, "no-such-command") is None
