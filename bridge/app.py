"""The bridge process: settings in, sources, bus, state, plugins and server wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge import __version__
from bridge.auth import Auth, load_or_create_token
from bridge.bus import Bus
from bridge.config import Settings
from bridge.core_methods import register_core_methods
from bridge.events import BRIDGE_STARTED, SOURCE_BRIDGE
from bridge.methods import MethodRegistry
from bridge.plugin import PluginHost
from bridge.podman import PodmanClient, wait_for_socket
from bridge.server import Server
from bridge.sources import PodmanSource, SystemdSource
from bridge.state import State
from bridge.store import Store
from bridge.systemd import SystemdClient

logger = logging.getLogger(__name__)

REPO_PANEL = Path(__file__).resolve().parent.parent / "frontend" / "dist"


def find_panel_dir(settings: Settings) -> Path | None:
    if settings.panel_dir is not None:
        return settings.panel_dir
    packaged = Path(__file__).resolve().parent / "static" / "panel"
    for candidate in (REPO_PANEL, packaged):
        if (candidate / "index.html").is_file():
            return candidate
    return None


class Bridge:
    def __init__(self, settings: Settings, plugins: dict[str, Any] | None = None) -> None:
        self.settings = settings
        # Seqs start at the microseconds since the epoch: above any an earlier run gave out
        # (unless that run published more than one event a microsecond), and below 2**53,
        # so JavaScript clients read them exactly.
        self.bus = Bus(ring_size=settings.ring_size, queue_size=settings.client_queue,
                       first_seq=time.time_ns() // 1000)
        self.state = State(self.bus)
        self.methods = MethodRegistry()
        self.podman = PodmanClient(settings.podman_url or "unix:///run/podman/podman.sock")
        self.systemd = SystemdClient(settings.systemd)
        self.store: Store | None = None
        self.plugins: PluginHost | None = None
        self._plugin_classes = plugins
        self.podman_source: PodmanSource | None = None
        self.systemd_source: SystemdSource | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        self._service: asyncio.subprocess.Process | None = None
        self.url = ""
        self.token = ""

    async def _ensure_podman(self) -> None:
        """Use the socket we were pointed at; when none answers and podman is installed,
        run `podman system service` on a private socket and own it."""
        if await self.podman.ping(timeout=3):
            return
        podman = shutil.which("podman")
        explicit = self.settings.url is not None
        if explicit or not self.settings.start_podman_service or podman is None:
            logger.warning("no Podman answers at %s; the bridge will keep trying",
                           self.podman.url)
            return
        path = self.settings.state_dir / "podman.sock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        url = f"unix://{path}"
        logger.info("no Podman socket answers; starting `podman system service` at %s", url)
        self._service = await asyncio.create_subprocess_exec(
            podman, "system", "service", "--time=0", url,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL)
        await self.podman.close()
        self.podman = PodmanClient(url)
        if not await wait_for_socket(self.podman, 20):
            logger.error("podman system service did not come up at %s", url)

    async def start(self) -> None:
        s = self.settings
        s.state_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(s.state_dir / "podbridge.db")
        self.token = load_or_create_token(s.token_path)
        await self._ensure_podman()
        register_core_methods(self.methods, self)

        self.podman_source = PodmanSource(self.bus, self.podman, self.state)
        self.systemd_source = SystemdSource(self.bus, self.systemd, self.state)
        self._tasks = [
            asyncio.create_task(self.podman_source.run(), name="source/podman"),
            asyncio.create_task(self.systemd_source.run(), name="source/systemd"),
        ]
        self.plugins = PluginHost(
            bus=self.bus, podman=self.podman, systemd=self.systemd, store=self.store,
            state=self.state, methods=self.methods, config=s.plugins,
            plugins=self._plugin_classes, unit_dir=s.unit_path)
        await self.plugins.start()

        server = Server(bus=self.bus, methods=self.methods, auth=Auth(self.token),
                        panel_dir=find_panel_dir(s), allowed_origins=s.allowed_origins,
                        queue_size=s.client_queue)
        self._runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        host, port = s.listen_address
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        if port == 0:
            port = self._runner.addresses[0][1]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}/?token={self.token}"
        self.bus.publish(BRIDGE_STARTED, SOURCE_BRIDGE, "bridge",
                         {"version": __version__, "podman": self.podman.url,
                          "systemd": self.systemd.address})

    async def stop(self) -> None:
        if self.plugins is not None:
            await self.plugins.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.systemd_source is not None:
            self.systemd_source.stop()
        if self.podman_source is not None:
            self.podman_source.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.state.close()
        self.systemd.close()
        await self.podman.close()
        if self._service is not None and self._service.returncode is None:
            self._service.terminate()
            try:
                await asyncio.wait_for(self._service.wait(), 10)
            except TimeoutError:
                self._service.kill()
                await self._service.wait()
        if self.store is not None:
            self.store.close()
            self.store = None


async def serve(settings: Settings) -> int:
    bridge = Bridge(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await bridge.start()
    print(f"podbridge {__version__} is serving at {bridge.url}", flush=True)
    print(f"  Podman: {bridge.podman.url}   systemd ({settings.systemd}): "
          f"{bridge.systemd.address}", flush=True)
    try:
        await stop.wait()
    finally:
        await bridge.stop()
    return 0
