"""The test world is real: Podman's API and events, systemd over D-Bus, a registry, reboots.

Each test cleans what it creates in the session's ``world``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from dbus_fast import BusType
from dbus_fast.aio import MessageBus, ProxyInterface

from bridge.sandbox import World
from bridge.sandbox.cgroups import list_unmounted, unmounted_hierarchies
from bridge.sandbox.cli import main as sandbox_cli
from bridge.sandbox.demo import install_unit, notify_unit
from bridge.sandbox.images import HTTPD_BROKEN, HTTPD_V1, HTTPD_V2, SLEEP
from bridge.sandbox.leftovers import HostSnapshot, leftovers
from bridge.sandbox.registry import free_port
from tests.helpers import checked_world, fetch, unique

pytestmark = pytest.mark.world  # boots worlds of its own

logger = logging.getLogger(__name__)

SYSTEMD = "org.freedesktop.systemd1"


@asynccontextmanager
async def systemd_manager(world: World) -> AsyncIterator[ProxyInterface]:
    bus = await MessageBus(bus_address=world.dbus_address, bus_type=BusType.SYSTEM).connect()
    try:
        path = "/org/freedesktop/systemd1"
        node = await bus.introspect(SYSTEMD, path)
        manager = bus.get_proxy_object(SYSTEMD, path, node).get_interface(
            "org.freedesktop.systemd1.Manager")
        await manager.call_subscribe()  # type: ignore[attr-defined]
        yield manager
    finally:
        bus.disconnect()
        await bus.wait_for_disconnect()


async def run_job(manager: ProxyInterface, method: str, unit: str,
                  timeout: float = 30.0) -> str:
    """Call StartUnit/StopUnit and return the result its JobRemoved signal carries."""
    removed: dict[str, str] = {}
    arrived = asyncio.Event()

    def on_job_removed(_id: int, job: str, _unit: str, result: str) -> None:
        removed[job] = result
        arrived.set()

    # Listen before calling: the signal may overtake the method's reply.
    manager.on_job_removed(on_job_removed)  # type: ignore[attr-defined]
    try:
        job = await getattr(manager, f"call_{method}")(unit, "replace")
        async with asyncio.timeout(timeout):
            while job not in removed:
                arrived.clear()
                await arrived.wait()
        return removed[job]
    finally:
        manager.off_job_removed(on_job_removed)  # type: ignore[attr-defined]


async def test_events_stream_through_the_api(world: World) -> None:
    name = unique("events")
    connector = aiohttp.UnixConnector(path=str(world.podman_socket))
    params = {"stream": "true", "filters": json.dumps({"type": ["container"]})}
    seen: list[dict[str, Any]] = []
    async with aiohttp.ClientSession(connector=connector) as session, session.get(
            "http://podman/v4.0.0/libpod/events", params=params,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=30)) as resp:
        assert resp.status == 200
        run = asyncio.create_task(world.arun(
            ["podman", "run", "--rm", "--name", name, HTTPD_BROKEN], check=False))
        try:
            async with asyncio.timeout(30):
                async for line in resp.content:
                    event = json.loads(line)
                    if event["Actor"]["Attributes"].get("name") == name:
                        seen.append(event)
                        if event["Action"] == "remove":
                            break
        finally:
            done = await run
    assert done.returncode == 1, done.stderr
    actions = [e["Action"] for e in seen]
    for action in ("create", "start", "died", "remove"):
        assert action in actions, f"no {action} event for {name}: {actions}"
    died = next(e for e in seen if e["Action"] == "died")
    assert died["Actor"]["Attributes"]["containerExitCode"] == "1"
    assert died["Actor"]["Attributes"]["image"] == HTTPD_BROKEN


async def test_notify_unit_becomes_active_through_dbus(world: World) -> None:
    name = unique("notify")
    unit = f"{name}.service"
    port = free_port()
    install_unit(world, unit, notify_unit(name, HTTPD_V1, f"-p 127.0.0.1:{port}:80"),
                 enable=False)
    try:
        async with systemd_manager(world) as manager:
            assert await run_job(manager, "start_unit", unit) == "done"
            path = await manager.call_get_unit(unit)  # type: ignore[attr-defined]
            assert path.startswith("/org/freedesktop/systemd1/unit/")
            state = await world.arun(["systemctl", "show", "-P", "ActiveState", unit])
            assert state.stdout.strip() == "active"
            assert "podbridge httpd v1" in await asyncio.to_thread(
                fetch, f"http://127.0.0.1:{port}/")
            ps = await world.arun(["podman", "ps", "--format", "{{.Names}}"])
            assert name in ps.stdout.split()

            assert await run_job(manager, "stop_unit", unit) == "done"
        ps = await world.arun(["podman", "ps", "-a", "--format", "{{.Names}}"])
        assert name not in ps.stdout.split(), "ExecStopPost removes the container"
    finally:
        world.systemctl("stop", unit, check=False)
        (world.unit_dir / unit).unlink()
        world.systemctl("daemon-reload")


def test_image_pushed_to_the_registry_and_pulled_back(world: World) -> None:
    ref = f"{world.registry}/podbridge/{unique('pushed')}:v2"
    local_id = world.podman("image", "inspect", "--format", "{{.Id}}", HTTPD_V2).stdout.strip()
    world.podman("push", "--quiet", HTTPD_V2, ref)
    try:
        with urllib.request.urlopen(f"http://{world.registry}/v2/_catalog", timeout=5) as r:
            catalog = json.load(r)["repositories"]
        assert ref.split("/", 1)[1].split(":")[0] in catalog
        # Seen from outside the world too, by a client of the machine.
        out = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{ref}"],
                             capture_output=True, text=True, check=True).stdout
        assert json.loads(out)["Labels"]["org.opencontainers.image.version"] == "v2"

        assert ref not in world.podman("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        world.podman("pull", "--quiet", ref)
        pulled = world.podman("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
        assert pulled == local_id
    finally:
        world.podman("rmi", "--ignore", ref)


def test_images_behave(world: World) -> None:
    name = unique("img")
    for image, page in ((HTTPD_V1, "v1"), (HTTPD_V2, "v2")):
        out = world.podman("run", "--rm", "--entrypoint", "cat", image, "/var/www/index.html")
        assert out.stdout == f"<h1>podbridge httpd {page}</h1>\n"
    broken = world.podman("run", "--rm", HTTPD_BROKEN, check=False)
    assert broken.returncode == 1 and "failing at start" in broken.stderr
    world.podman("run", "-d", "--name", name, "--health-cmd", "/bin/healthcheck", HTTPD_V1)
    try:
        started = time.monotonic()
        deadline = time.monotonic() + 10
        while (health := world.podman("healthcheck", "run", name, check=False)).returncode:
            assert time.monotonic() < deadline, f"never healthy: {health.stdout}"
            time.sleep(0.1)
        world.podman("stop", name)
        assert time.monotonic() - started < 8, "the httpd image stops at once on SIGTERM"
    finally:
        world.podman("rm", "-f", "--ignore", name)
    world.podman("run", "-d", "--name", name, SLEEP)
    try:
        stopped = world.podman("stop", "-t", "10", name)
        assert stopped.returncode == 0
        code = world.podman("inspect", "--format", "{{.State.ExitCode}}", name).stdout
        assert code.strip() == "0"
    finally:
        world.podman("rm", "-f", "--ignore", name)


def test_attach_and_cli_env(world: World, capsys: Any) -> None:
    other = World.attach(world.root)
    assert (other.pid1, other.registry, other.unit_dir) == (
        world.pid1, world.registry, world.unit_dir)
    assert other.systemctl("is-system-running", check=False).stdout.strip() in (
        "running", "degraded")
    assert sandbox_cli(["sandbox", "env", str(world.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"export CONTAINER_HOST={world.podman_url}" in lines
    assert f"export DBUS_SYSTEM_BUS_ADDRESS={world.dbus_address}" in lines
    assert Path(world.root / "unit-dir").read_text().strip() == str(world.unit_dir)


def test_reboot_leaves_containers_stopped(fresh_world: World) -> None:
    w = fresh_world
    port = free_port()
    w.podman("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", HTTPD_V2)
    assert "v2" in fetch(f"http://127.0.0.1:{port}/")
    old_pid1 = w.pid1
    started = time.monotonic()
    w.reboot()
    logger.info("reboot took %.2fs", time.monotonic() - started)
    assert w.pid1 != old_pid1
    state = json.loads(w.podman("inspect", "web").stdout)[0]["State"]
    assert state["Running"] is False
    assert state["Status"] in ("created", "exited", "stopped", "configured")
    # The API (a new podman service after the reboot) knows it too.
    listed = json.loads(subprocess.run(
        ["curl", "-sf", "--unix-socket", str(w.podman_socket),
         "http://podman/v4.0.0/libpod/containers/json?all=true"],
        capture_output=True, text=True, check=True).stdout)
    assert [c["State"] for c in listed if "web" in c["Names"]] != ["running"]
    # Same storage: the container and its images are still there and start again.
    w.podman("start", "web")
    assert "v2" in fetch(f"http://127.0.0.1:{port}/")


def test_worlds_side_by_side(world: World, fresh_world: World) -> None:
    assert world.registry != fresh_world.registry
    assert world.network.subnet != fresh_world.network.subnet
    assert not set(world.cgroups) & set(fresh_world.cgroups)
    ports = free_port(), free_port()
    names = unique("side"), unique("side")
    for w, image, port, name in zip((world, fresh_world), (HTTPD_V1, HTTPD_V2), ports, names,
                                    strict=True):
        w.podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", image)
    try:
        assert "v1" in fetch(f"http://127.0.0.1:{ports[0]}/")
        assert "v2" in fetch(f"http://127.0.0.1:{ports[1]}/")
    finally:
        world.podman("rm", "-f", "--ignore", names[0])


def test_pod_with_two_containers_and_a_clean_teardown(tmp_path: Path, flavour: str) -> None:
    """Pods need a cgroup in every controller, also those the machine mounts nowhere
    (net_cls, perf_event, ...): the world's own subtree of them, gone after teardown."""
    with checked_world(tmp_path / "world", "the pod test's", flavour) as w:
        port = free_port()
        w.podman("pod", "create", "--name", "duo", "-p", f"127.0.0.1:{port}:80")
        for name, image in (("duo-web", HTTPD_V1), ("duo-sleep", SLEEP)):
            w.podman("create", "--pod", "duo", "--name", name, image)
        started = w.podman("pod", "start", "duo")
        assert "cgroup" not in started.stderr, started.stderr
        pod = json.loads(w.podman("pod", "inspect", "duo").stdout)
        if isinstance(pod, list):  # Podman 5 prints a list, as for containers
            [pod] = pod
        assert pod["State"] == "Running"
        states = {c["Name"]: c["State"] for c in pod["Containers"]}
        assert len(states) == 3 and set(states.values()) == {"running"}, states
        assert {"duo-web", "duo-sleep"} <= set(states)
        assert "v1" in fetch(f"http://127.0.0.1:{port}/")
        # The pod has its cgroup in every controller the kernel has, as Podman wants, and
        # those the machine does not mount hold it in the world's own subtree.
        parent = pod["CgroupParent"]
        controllers = [line.split()[0] for line in w.run(["cat", "/proc/cgroups"]).stdout
                       .splitlines()[1:] if line.split()[3] == "1"]
        for controller in controllers:
            w.run(["test", "-d", f"/sys/fs/cgroup/{controller}{parent}"])
        if unmounted_hierarchies():
            assert list_unmounted(w.name, w.root / "cgroupfs")
        w.podman("pod", "stop", "duo")
        w.podman("pod", "rm", "duo")
        assert w.podman("pod", "ps", "-q").stdout.strip() == ""
        assert w.podman("ps", "-aq").stdout.strip() == ""


def test_boots_and_tears_down_five_times_clean(tmp_path: Path, flavour: str) -> None:
    times = []
    for i in range(5):
        before = HostSnapshot.take()
        started = time.monotonic()
        w = World(tmp_path / f"world{i}", flavour=flavour).up()
        times.append(time.monotonic() - started)
        try:
            assert w.ping_podman()
            port = free_port()
            w.podman("run", "-d", "--name", "web", "-p", f"127.0.0.1:{port}:80", HTTPD_V1)
            assert "v1" in fetch(f"http://127.0.0.1:{port}/")
        finally:
            w.down()
        assert leftovers(w, before) == []
        w.down()  # idempotent
    logger.info("boot times: %s", ", ".join(f"{t:.2f}s" for t in times))


def test_down_after_an_up_killed_halfway(tmp_path: Path, flavour: str) -> None:
    """`sandbox up` SIGKILLed while booting: `down` from another process still cleans up."""
    before = HostSnapshot.take()
    root = tmp_path / "killed"
    up = subprocess.Popen([sys.executable, "-m", "bridge.sandbox", "sandbox", "up", str(root),
                           "--flavour", flavour],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            record = root / "world.json"
            if record.exists() and json.loads(record.read_text()).get("pid1"):
                break
            time.sleep(0.01)
        else:
            raise AssertionError("sandbox up never got as far as booting systemd")
    finally:
        up.kill()
        up.wait()
    assert sandbox_cli(["sandbox", "down", str(root)]) == 0
    w = World.attach(root)
    assert w.record.state == "down"
    assert leftovers(w, before) == []
