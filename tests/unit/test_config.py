from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bridge.auth import Auth
from bridge.config import load_settings, parse_listen
from bridge.store import Store


def test_listen_parsing() -> None:
    assert parse_listen("127.0.0.1:9090") == ("127.0.0.1", 9090)
    assert parse_listen("[::1]:8080") == ("::1", 8080)
    with pytest.raises(ValueError, match="not a number"):
        parse_listen("host:http")
    with pytest.raises(ValueError, match="out of range"):
        parse_listen("host:70000")


def test_precedence_flags_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = tmp_path / "podbridge.toml"
    conf.write_text('listen = "127.0.0.1:7000"\nring_size = 50\n'
                    '[plugins.auto_update]\nschedule = "weekly"\n')
    s = load_settings(str(conf))
    assert s.listen == "127.0.0.1:7000" and s.ring_size == 50
    assert s.plugin_config("auto_update") == {"schedule": "weekly"}
    monkeypatch.setenv("PODBRIDGE_RING_SIZE", "60")
    assert load_settings(str(conf)).ring_size == 60
    assert load_settings(str(conf), ring_size=70).ring_size == 70


def test_container_host_is_podman_remote_convention(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINER_HOST", "unix:///tmp/x.sock")
    assert load_settings(None).podman_url == "unix:///tmp/x.sock"
    assert load_settings(None, url="unix:///y.sock").podman_url == "unix:///y.sock"


def test_bad_settings_are_refused_with_the_field(tmp_path: Path) -> None:
    conf = tmp_path / "bad.toml"
    conf.write_text('listen = "nowhere:port"\n')
    with pytest.raises(ValidationError, match="listen"):
        load_settings(str(conf))
    conf.write_text('no_such_setting = 1\n')
    with pytest.raises(ValidationError, match="no_such_setting"):
        load_settings(str(conf))


def test_sessions_outlive_a_restart_but_not_a_new_token(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    first = Auth("token-a", store=store)
    session = first.new_session()
    assert first.check_session(session)
    assert Auth("token-a", store=store).check_session(session), "restarted, same token"
    assert not Auth("token-b", store=store).check_session(session), \
        "a new token ends every session of the old one"
    again = Auth("token-a", store=store)
    assert not again.check_session(session), "and it stays ended"
    assert not again.check_session(session[:-2] + "00")
    assert not again.check_session("garbage") and not again.check_session(None)
    other = again.new_session()
    again.end_session(other)
    assert not again.check_session(other)
    store.close()
