"""The pure parts of bridge/listen.py and bridge/holders.py, and /proc read for real."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bridge.config import DEFAULT_PORT, load_settings
from bridge.holders import Holder, listen_matches, listening_inodes, processes_holding
from bridge.listen import Endpoint, port_taken_message


def test_endpoints_parse() -> None:
    assert Endpoint.parse("unix:/run/podbridge/podbridge.sock").path == \
        Path("/run/podbridge/podbridge.sock")
    assert Endpoint.parse("127.0.0.1") == Endpoint(host="127.0.0.1", port=DEFAULT_PORT)
    assert str(Endpoint.parse("[::1]:8000")) == "[::1]:8000"
    with pytest.raises(ValueError, match="must be absolute"):
        Endpoint.parse("unix:relative.sock")


def test_settings_take_a_unix_listen_and_refuse_a_relative_one() -> None:
    assert load_settings(None, listen="unix:/run/x.sock").listen == "unix:/run/x.sock"
    with pytest.raises(ValueError, match="must be absolute"):
        load_settings(None, listen="unix:x.sock")
    assert load_settings(None).listen == f"127.0.0.1:{DEFAULT_PORT}"


def test_systemd_listen_strings() -> None:
    for listen in ("9090", "0.0.0.0:9090", "[::]:9090", "127.0.0.1:9090"):
        assert listen_matches(listen, 9090)
    assert not listen_matches("[::]:19090", 9090)
    assert not listen_matches("/run/cockpit/wsinstance/http.sock", 9090)


def test_the_listening_socket_and_its_process_are_found() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        inodes = listening_inodes(port)
        assert inodes, "the socket is in /proc/net/tcp"
        assert (os.getpid(), Path(f"/proc/{os.getpid()}/comm").read_text().strip()) in \
            processes_holding(inodes)
    assert listening_inodes(port) == set()


def test_the_message_names_cockpit_and_offers_the_ways_out() -> None:
    text = port_taken_message(Endpoint.parse("127.0.0.1:9180"),
                              [Holder(unit="cockpit.socket", listen="[::]:9180")])
    assert "by Cockpit, by its socket unit cockpit.socket" in text
    assert "--listen unix:/run/podbridge/podbridge.sock" in text
    assert "--listen 127.0.0.1:" in text
    other = port_taken_message(Endpoint.parse("127.0.0.1:9180"),
                               [Holder(pid=42, name="nginx")])
    assert "by nginx (pid 42)" in other and "Cockpit" not in other
    unknown = port_taken_message(Endpoint.parse("127.0.0.1:9180"), [])
    assert "a process this user cannot see" in unknown
