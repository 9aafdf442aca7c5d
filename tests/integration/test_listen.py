"""Where the bridge listens (issue 20): a taken default port is explained (Cockpit's socket
unit by name, any other process by pid) with the way out; ``--listen unix:/PATH`` serves
the same app on a unix socket, 0600, removed on exit; a peer on that socket that is root
needs no token, the peer's uid being the kernel's word (SO_PEERCRED)."""

from __future__ import annotations

import asyncio
import grp
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from bridge.client import BridgeClient
from bridge.config import DEFAULT_PORT
from bridge.sandbox import World
from bridge.sandbox.world import RUN_ENV
from tests.cockpitworld import cockpit_socket_unit, unique_loopback

ROOT = Path(__file__).resolve().parents[2]
SERVE_TIMEOUT = 60.0


def bridge_env(world: World | None, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "empty.toml"
    config.write_text("")
    env = {**os.environ, "PODBRIDGE_CONFIG": str(config)}
    env.pop("PODBRIDGE_LISTEN", None)
    if world is not None:
        env.update(world.env())
    return env


def serve_argv(tmp_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "bridge", "serve", "--state-dir", str(tmp_path / "state"),
            *extra]


def test_the_default_port_is_not_cockpits() -> None:
    assert DEFAULT_PORT != 9090


def test_a_process_on_the_default_port_is_named_with_the_way_out(tmp_path: Path) -> None:
    """In a network namespace of its own (the machine's default port stays untouched), a
    plain process holds 127.0.0.1:DEFAULT_PORT and `podbridge serve`, with no --listen,
    names it, points to a free port and the unix socket, and exits 1 at once."""
    script = textwrap.dedent(f"""\
        set -e
        ip link set lo up
        python3 -c 'import socket, time
        s = socket.socket(); s.bind(("127.0.0.1", {DEFAULT_PORT})); s.listen()
        print("held", flush=True); time.sleep(120)' > "$1/holder.out" &
        while ! grep -q held "$1/holder.out"; do sleep 0.05; done
        set +e
        {sys.executable} -m bridge serve --state-dir "$1/state" --url "unix://$1/none.sock"
        echo "rc=$?"
        kill $!
        """)
    done = subprocess.run(["unshare", "--net", "bash", "-c", script, "sh", str(tmp_path)],
                          cwd=ROOT, env=bridge_env(None, tmp_path), capture_output=True,
                          text=True, timeout=SERVE_TIMEOUT, check=False)
    out = done.stdout + done.stderr
    assert "rc=1" in out, out
    assert f"cannot listen on 127.0.0.1:{DEFAULT_PORT}: the port is already in use by " \
           "python3 (pid " in out, out
    assert f"--listen 127.0.0.1:{DEFAULT_PORT + 1}" in out, out
    assert "--listen unix:/run/podbridge/podbridge.sock" in out, out
    assert not (tmp_path / "state").exists(), "nothing is started before the port is known"


@pytest.fixture
def cockpit_socket(world: World) -> Iterator[str]:
    """A cockpit.socket in the world's systemd on the default port of an address of its
    own (127.X.Y.Z), so no other test or bridge on the machine is in its way. Yields the
    address."""
    address = unique_loopback()
    with cockpit_socket_unit(world, address):
        yield address


def test_cockpit_socket_on_the_default_port_is_named_and_the_unix_socket_works(
        world: World, cockpit_socket: str, tmp_path: Path) -> None:
    env = bridge_env(world, tmp_path)
    done = subprocess.run(serve_argv(tmp_path, "--listen", cockpit_socket), cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=SERVE_TIMEOUT, check=False)
    assert done.returncode == 1, done
    err = done.stderr
    print(err)
    assert f"cannot listen on {cockpit_socket}:{DEFAULT_PORT}: the port is already in use " \
           "by Cockpit, by its socket unit cockpit.socket" in err, err
    assert "That is Cockpit's web console" in err, err
    assert "podbridge serve --listen unix:/run/podbridge/podbridge.sock" in err, err
    assert "Traceback" not in err, err

    # The documented way out: a unix socket, which Cockpit's page reaches.
    sock = tmp_path / "run" / "podbridge.sock"
    proc = subprocess.Popen(serve_argv(tmp_path, "--listen", f"unix:{sock}"), cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "is serving at" in line:
                assert f"is serving at unix:{sock}" in line, line
                break
        else:
            raise AssertionError(f"the bridge did not start: exit {proc.wait()}")
        mode = sock.stat().st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600, oct(mode)
        token = (tmp_path / "state" / "token").read_text().strip()
        status = asyncio.run(_over_unix(sock, token))
        assert status["podman"]["url"] == world.podman_url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert not sock.exists(), "the socket is removed on exit"


async def _over_unix(sock: Path, token: str) -> dict[str, object]:
    # The CLI's client, with the token, as `podbridge call --bridge unix:PATH` does.
    async with BridgeClient(f"unix:{sock}", token) as client:
        status = await client.call("bridge.status")
    # A root peer (this test runs as root) is trusted without a token: REST and websocket.
    async with aiohttp.ClientSession(connector=aiohttp.UnixConnector(str(sock))) as http:
        async with http.get("http://localhost/api/bridge.status") as res:
            assert res.status == 200, await res.text()
        async with http.ws_connect("http://localhost/ws") as ws:
            await ws.send_json({"type": "auth"})
            assert (await ws.receive_json())["type"] == "auth_ok"
    assert isinstance(status, dict)
    return status


def test_a_unix_socket_peer_of_another_user_needs_the_token(tmp_path: Path) -> None:
    """With socket_group set the socket is 0660; a member who is neither root nor the
    bridge's user is asked for a token (it is not trusted by uid alone)."""
    folder = Path(tempfile.mkdtemp(prefix="podbridge-listen-"))
    folder.chmod(0o755)  # nobody must reach the socket; pytest's tmp_path is 0700
    sock = folder / "b.sock"
    group = "nogroup"
    env = bridge_env(None, tmp_path)
    env["PODBRIDGE_SOCKET_GROUP"] = group
    proc = subprocess.Popen(
        serve_argv(tmp_path, "--listen", f"unix:{sock}", "--url", f"unix://{tmp_path}/n.sock"),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "is serving at" in line:
                break
        else:
            raise AssertionError(f"the bridge did not start: exit {proc.wait()}")
        st = sock.stat()
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == grp.getgrnam(group).gr_gid
        probe = textwrap.dedent(f"""\
            import json, socket
            s = socket.socket(socket.AF_UNIX); s.connect({str(sock)!r})
            s.sendall(b"GET /api/bridge.status HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n")
            print(s.recv(200).split(b"\\r\\n", 1)[0].decode())
            """)
        # nobody, in group nogroup: may open the socket, is no trusted uid.
        done = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                               "--clear-groups", sys.executable, "-c", probe],
                              capture_output=True, text=True, timeout=30, check=False,
                              env=RUN_ENV)
        assert done.returncode == 0, done.stderr
        assert " 401 " in done.stdout, done.stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert not sock.exists()
    folder.rmdir()


def test_a_live_unix_socket_is_not_taken_over(tmp_path: Path) -> None:
    sock = tmp_path / "live.sock"
    with socket.socket(socket.AF_UNIX) as holder:
        holder.bind(str(sock))
        holder.listen()
        done = subprocess.run(serve_argv(tmp_path, "--listen", f"unix:{sock}"), cwd=ROOT,
                              env=bridge_env(None, tmp_path), capture_output=True, text=True,
                              timeout=SERVE_TIMEOUT, check=False)
    assert done.returncode == 1
    assert "another process serves it" in done.stderr, done.stderr
    assert not (tmp_path / "state").exists(), "nothing is started before the socket is known"
