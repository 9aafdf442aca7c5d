"""A bridge whose start fails undoes what it had started: its sources, its plugins, and
the `podman system service` it spawned. Run in this process, against a real Podman
(with storage of its own under the test's folder) and a port another socket holds."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bridge.app import Bridge
from bridge.config import Settings
from bridge.listen import Listener, ListenError
from bridge.plugin import PluginConfig, PluginContext
from bridge.podman import PodmanClient
from bridge.tasks import within
from tests.conftest import _children, _open_fds

STORAGE = """[storage]
driver = "vfs"
graphroot = "{root}/graph"
runroot = "{root}/run"
"""
CONTAINERS = """[engine]
events_logger = "file"
tmp_dir = "{root}/tmp"
"""


class Sleeper:
    """A plugin that starts a task of its own and never ends it."""

    name: ClassVar[str] = "sleeper"
    Config: ClassVar[type[PluginConfig]] = PluginConfig
    started: ClassVar[asyncio.Event]
    task: ClassVar[asyncio.Task[Any] | None] = None

    async def start(self, ctx: PluginContext) -> None:
        Sleeper.task = ctx.create_task(asyncio.sleep(3600), "sleep")
        Sleeper.started.set()

    async def stop(self) -> None:
        pass


@pytest.fixture
def private_podman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`podman` that the bridge may spawn keeps to a folder of its own."""
    if shutil.which("podman") is None:
        pytest.skip("no podman on this machine")
    root = tmp_path / "podman"
    (root / "tmp").mkdir(parents=True)
    (root / "storage.conf").write_text(STORAGE.format(root=root))
    (root / "containers.conf").write_text(CONTAINERS.format(root=root))
    monkeypatch.setenv("CONTAINERS_STORAGE_CONF", str(root / "storage.conf"))
    monkeypatch.setenv("CONTAINERS_CONF", str(root / "containers.conf"))
    monkeypatch.delenv("CONTAINER_HOST", raising=False)
    # No system bus: the systemd source keeps retrying, as it does on a host without one.
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")


async def test_a_taken_port_undoes_everything_start_did(
        tmp_path: Path, private_podman: None, monkeypatch: pytest.MonkeyPatch) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    Sleeper.started = asyncio.Event()

    # The port is taken between the early check and the bind (another process was
    # quicker): the check passes, the bind fails after everything else has started.
    async def check(_self: Listener) -> None:
        return None

    bind = Listener.start

    async def start_when_plugin_runs(self: Listener, *args: Any) -> None:
        await within(Sleeper.started.wait(), 60)
        await bind(self, *args)

    monkeypatch.setattr(Listener, "check", check)
    monkeypatch.setattr(Listener, "start", start_when_plugin_runs)

    fds_before, children_before = _open_fds(), _children()
    tasks_before = asyncio.all_tasks()
    settings = Settings(listen=f"127.0.0.1:{port}", state_dir=tmp_path / "state",
                        systemd="system", rootless=False, unit_dir=tmp_path / "units")
    bridge = Bridge(settings, plugins={"sleeper": Sleeper})
    # Nothing answers where it looks for Podman: it starts `podman system service`.
    await bridge.podman.close()
    bridge.podman = PodmanClient(f"unix://{tmp_path}/absent.sock")
    try:
        with pytest.raises(ListenError, match=str(port)):
            await bridge.start()
    finally:
        taken.close()
    spawned = _children() - children_before
    assert not spawned, f"the podman service it started is still running: {spawned}"
    assert bridge.podman.url == f"unix://{settings.state_dir}/podman.sock", \
        "the bridge did not start a podman service (the test proves less than it says)"
    assert Sleeper.task is not None and Sleeper.task.cancelled()
    assert bridge.podman_source is not None and bridge.systemd_source is not None
    left = [t.get_name() for t in asyncio.all_tasks() - tasks_before]
    assert not left, f"tasks left behind: {left}"
    assert not (_open_fds() - fds_before), "descriptors left open"
    assert bridge.store is not None and not _store_open(bridge)
    await bridge.stop()  # a second stop after a failed start is harmless


def _store_open(bridge: Bridge) -> bool:
    assert bridge.store is not None
    try:
        bridge.store.db.execute("SELECT 1")
    except Exception:
        return False
    return True
