"""A reboot of the world with a lingering user: the user manager comes back, with it the
user's enabled units and the user's bridge (the unit `make install` ships), whose restart
manager brings back the user's ``--restart=always`` and not-user-stopped
``unless-stopped`` containers, and leaves a user stop alone."""

from __future__ import annotations

import asyncio
import shlex
import time
from pathlib import Path

import pytest

from bridge.client import BridgeClient
from bridge.sandbox import World
from bridge.sandbox.images import SLEEP
from tests.helpers import checked_world, fetch, free_port
from tests.integration.worldbridge import REPO, python_argv

USER = "dave"


def user_unit(world: World, port: int) -> str:
    """scripts/podbridge-user.service.in, with this checkout's podbridge."""
    argv = python_argv(world)
    argv[0] = "/usr/bin/env"
    command = " ".join(shlex.quote(a) for a in [*argv, "-m", "bridge"])
    template = (REPO / "scripts" / "podbridge-user.service.in").read_text()
    return template.replace("@PODBRIDGE@ serve",
                            f"{command} serve --listen 127.0.0.1:{port}")


@pytest.mark.timeout(600)
async def test_reboot_brings_back_the_users_containers_units_and_bridge(
        tmp_path: Path, flavour: str) -> None:
    with checked_world(tmp_path / "world", "the test's", flavour, users=[USER]) as w:
        port = free_port()
        url = f"http://127.0.0.1:{port}"

        def as_user(*argv: str) -> str:
            return w.run_as(USER, list(argv)).stdout.strip()

        w.run_as(USER, ["sh", "-c", "mkdir -p ~/.config/systemd/user && cat > "
                                    "~/.config/systemd/user/podbridge.service"],
                 input=user_unit(w, port))
        as_user("systemctl", "--user", "daemon-reload")
        as_user("systemctl", "--user", "enable", "--now", "podbridge.service")
        await asyncio.to_thread(fetch, url + "/", 60)
        token_file = w.root / "home" / USER / ".local/state/podbridge/token"
        token = token_file.read_text().strip()

        as_user("podman", "run", "-d", "--name", "always", "--restart=always", SLEEP)
        as_user("podman", "run", "-d", "--name", "unless", "--restart=unless-stopped", SLEEP)
        as_user("podman", "run", "-d", "--name", "stopped", "--restart=unless-stopped", SLEEP)
        as_user("podman", "run", "-d", "--name", "plain", SLEEP)
        as_user("podman", "create", "--name", "myapp", "--stop-timeout", "1", SLEEP)
        async with BridgeClient(url, token) as client:
            done = await client.call("units.install", {"name": "myapp", "new": True,
                                                       "start": True})
            assert done["installed"][0]["enabled"]
            # The user stops one, through the bridge as the panel would.
            await client.call("containers.stop", {"name": "stopped", "timeout": 1})
            stops: dict[str, object] = {}
            for _ in range(100):
                status = await client.call("restart.status")
                stops = {c["name"]: c["user_stopped"] for c in status["containers"]}
                if stops.get("stopped") is True:
                    break
                await asyncio.sleep(0.1)
            assert stops.get("stopped") is True, status
        assert as_user("systemctl", "--user", "is-active", "container-myapp.service") == \
            "active"

        await asyncio.to_thread(w.reboot)

        # The user manager is back (reboot() waits for it); the bridge unit and the
        # enabled container unit came with it.
        await asyncio.to_thread(fetch, url + "/", 60)
        assert as_user("systemctl", "--user", "is-active", "podbridge.service") == "active"
        assert as_user("systemctl", "--user", "is-active", "container-myapp.service") == \
            "active"
        want = {"always": "running", "unless": "running", "stopped": "exited",
                "plain": "not running"}
        states: dict[str, str] = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out = as_user("podman", "ps", "-a", "--format", "{{.Names}} {{.Status}}")
            states = {}
            for line in out.splitlines():
                name, status_text = line.split(" ", 1)
                states[name] = ("running" if status_text.startswith("Up") else
                                "exited" if status_text.startswith("Exited") and
                                name != "plain" else "not running")
            if all(states.get(k) == v for k, v in want.items()):
                break
            await asyncio.sleep(0.2)
        assert {k: states.get(k) for k in want} == want
        assert states.get("myapp") == "running"
        as_user("systemctl", "--user", "disable", "--now", "podbridge.service")
