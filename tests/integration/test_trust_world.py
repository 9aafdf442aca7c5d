"""Roles, read-only methods and the audit trail on a real bridge against the test world
(issue 18): tokens made with `podbridge token add`, real containers stopped and started
(or not), every change in the audit trail, a revoked token cut off."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import aiohttp
import pytest

from bridge.app import Bridge
from bridge.client import BridgeClient
from bridge.errors import BridgeError
from bridge.sandbox.images import SLEEP
from bridge.tasks import within
from tests.helpers import unique
from tests.integration.bridgefix import base_url, refused, wait_for

pytestmark = pytest.mark.world


async def token_cli(bridge: Bridge, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bridge", "token", "--state-dir",
        str(bridge.settings.state_dir), *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await within(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode().strip(), err.decode()


async def state_of(world: Any, name: str) -> str:
    done = await asyncio.to_thread(world.podman, "inspect", "--format", "{{.State.Status}}",
                                   name)
    return str(done.stdout.strip())


async def rest(session: aiohttp.ClientSession, bridge: Bridge, token: str, method: str,
               params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with session.post(f"{base_url(bridge)}/api/{method}", json=params,
                            headers={"Authorization": f"Bearer {token}"}) as r:
        return r.status, await r.json()


async def test_roles_on_real_containers_and_the_audit_trail(world: Any, bridge: Bridge
                                                            ) -> None:
    name = unique("trust")
    await asyncio.to_thread(world.podman, "run", "-d", "--name", name, SLEEP)
    try:
        code, viewer, _ = await token_cli(bridge, "add", "vera", "--role", "viewer")
        assert code == 0 and viewer
        code, operator, _ = await token_cli(bridge, "add", "otto", "--role", "operator")
        assert code == 0
        code, out, _ = await token_cli(bridge, "list")
        assert out.splitlines() == ["admin\tadmin\ttoken file", "vera\tviewer\ttokens.json",
                                    "otto\toperator\ttokens.json"]
        code, _, err = await token_cli(bridge, "add", "otto", "--role", "admin")
        assert code == 2 and "exists already" in err

        # Every method says which role it needs and whether it only reads.
        async with BridgeClient(base_url(bridge), viewer) as v:
            listed = {m["name"]: m for m in await v.call("methods.list")}
            assert listed["containers.stop"]["role"] == "operator"
            assert listed["containers.stop"]["readonly"] is False
            assert listed["containers.list"] == {**listed["containers.list"],
                                                 "role": "viewer", "readonly": True}
            assert listed["audit.list"]["role"] == "admin"
            assert all(m["role"] in ("viewer", "operator", "admin") for m in listed.values())
            # A viewer reads, and may not stop.
            assert any(c["name"] == name for c in await v.call("containers.list"))
            info = await refused(v, "containers.stop", {"name": name, "timeout": 0})
            assert info.code == "access-denied" and "'operator'" in info.message
        async with aiohttp.ClientSession() as s:
            status, body = await rest(s, bridge, viewer, "containers.stop",
                                      {"name": name, "timeout": 0})
            assert status == 403 and "'operator'" in body["error"]["message"]
            assert await state_of(world, name) == "running"

            # An operator stops it over the websocket and starts it over REST...
            async with BridgeClient(base_url(bridge), operator) as o:
                await o.call("containers.stop", {"name": name, "timeout": 0})
                assert await state_of(world, name) in ("exited", "stopped")
                with pytest.raises(BridgeError, match="'admin'"):
                    await o.call("audit.list")
            status, body = await rest(s, bridge, operator, "containers.start", {"name": name})
            assert status == 200, body
            assert await state_of(world, name) == "running"
            # ... but may not install units (admin) even if the method is there.
            status, body = await rest(s, bridge, operator, "units.install",
                                      {"name": name})
            assert status in (403, 404)

        # The admin reads the trail: every change of this test, in order, with who.
        async with BridgeClient(base_url(bridge), bridge.token) as a:
            trail = await a.call("audit.list", {"limit": 50})
        mine = [(r["method"], r["who"], r["role"], r["ok"]) for r in reversed(trail)
                if r["params"].get("name") == name]
        assert mine == [
            ("containers.stop", "vera", "viewer", False),
            ("containers.stop", "vera", "viewer", False),
            ("containers.stop", "otto", "operator", True),
            ("containers.start", "otto", "operator", True),
        ] + ([("units.install", "otto", "operator", False)] if status == 403 else [])

        # Revoking otto cuts off his open connection and refuses his token.
        async with BridgeClient(base_url(bridge), operator) as o:
            assert bridge.server is not None
            await wait_for(lambda: any(c.caller and c.caller.name == "otto"
                                       for c in bridge.server.connections),
                           what="otto's connection")
            code, _, _ = await token_cli(bridge, "revoke", "otto")
            assert code == 0
            await wait_for(lambda: not any(c.caller and c.caller.name == "otto"
                                           for c in bridge.server.connections),
                           what="otto's connection to be closed")
        with pytest.raises(BridgeError):
            async with BridgeClient(base_url(bridge), operator):
                pass
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", "--ignore", "-t", "0", name,
                                check=False)


async def test_a_cross_site_get_with_a_cookie_stops_nothing(world: Any, bridge: Bridge
                                                            ) -> None:
    name = unique("csrf")
    await asyncio.to_thread(world.podman, "run", "-d", "--name", name, SLEEP)
    try:
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as s:
            async with s.get(f"{base_url(bridge)}/?token={bridge.token}",
                             allow_redirects=False) as r:
                assert r.status == 302
            # What <img src="http://host:9090/api/containers.stop?name=..."> sends.
            async with s.get(f"{base_url(bridge)}/api/containers.stop?name={name}") as r:
                assert r.status == 405
            # What <form method=post action=...> sends.
            async with s.post(f"{base_url(bridge)}/api/containers.stop",
                              data={"name": name}) as r:
                assert r.status == 403
            assert await state_of(world, name) == "running"
            async with s.get(f"{base_url(bridge)}/api/containers.list") as r:
                assert r.status == 200, "reads stay GET-able"
    finally:
        await asyncio.to_thread(world.podman, "rm", "-f", "--ignore", "-t", "0", name,
                                check=False)


async def test_a_tls_bridge_off_loopback_and_the_cli_against_it(
        world: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--tls` on 0.0.0.0: a self-signed certificate is made in the state folder, the URL is
    https, and `podbridge call` trusts that certificate from the same state folder."""
    from bridge.config import Settings

    state = tmp_path / "state"
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", world.dbus_address)
    b = Bridge(Settings(url=world.podman_url, systemd="system", state_dir=state,
                        listen="0.0.0.0:0", unit_dir=world.unit_dir, tls=True), plugins={})
    await b.start()
    try:
        assert b.url.startswith("https://0.0.0.0:")
        assert (state / "tls" / "self-signed.crt").is_file()
        port = b.url.split(":")[2].split("/")[0]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bridge", "call", "--state-dir", str(state),
            "--bridge", f"https://127.0.0.1:{port}", "bridge.status",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await within(proc.communicate(), 60)
        assert proc.returncode == 0, err
        assert b'"connected": true' in out
        async with aiohttp.ClientSession() as s:
            with pytest.raises(aiohttp.ClientError):
                async with s.get(f"http://127.0.0.1:{port}/api/bridge.status"):
                    pass
    finally:
        await b.stop()
