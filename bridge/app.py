"""The bridge process: settings in, sources, bus, state, plugins and server wired together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bridge import __version__, tls
from bridge.audit import AuditLog
from bridge.auth import Auth, load_or_create_token
from bridge.bus import Bus
from bridge.config import Settings
from bridge.core_methods import register_core_methods
from bridge.events import BRIDGE_STARTED, SOURCE_BRIDGE
from bridge.fleet.api import Fleet
from bridge.fleet.methods import register_fleet_methods
from bridge.listen import Endpoint, Listener, ListenError
from bridge.methods import MethodRegistry
from bridge.owners import OwnerBus, Owners
from bridge.paths import is_root
from bridge.plugin import PluginHost
from bridge.podman import PodmanClient, wait_for_socket
from bridge.server import Server
from bridge.sources import PodmanSource, SystemdSource
from bridge.state import State
from bridge.store import Store
from bridge.systemd import SystemdClient

logger = logging.getLogger(__name__)


def private_dir(path: Path) -> None:
    """Make the state folder 0700 when the bridge creates it (a folder that exists is
    someone's choice and left as it is)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.mkdir(mode=0o700, exist_ok=True)


def private_file(path: Path) -> None:
    """Create ``path`` 0600 before SQLite opens it (its -wal and -shm take the same mode)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))

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
        # The system's view of the bus: its state and the plugins hear the system's
        # events, not those of the users a root bridge also serves (bridge.owners).
        self.system_bus = OwnerBus(self.bus, None)
        self.state = State(self.system_bus)
        self.owners: Owners | None = None
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
        self.listener: Listener | None = None
        self._service: asyncio.subprocess.Process | None = None
        self.url = ""
        self.token = ""
        self.auth: Auth | None = None
        self.audit: AuditLog | None = None
        self.server: Server | None = None
        # The fleet (docs/fleet.md): the link when [fleet] names servers, and the bus of
        # every host's events that websocket `fleet` subscriptions read.
        self.fleet_link: Any = None
        self.fleet_bus: Bus | None = None
        self.fleet = Fleet(settings.fleet.name, settings.fleet.host, None)
        if settings.fleet.joined:
            self.bus.host = settings.fleet.host

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
        self.listener = Listener(Endpoint.parse(s.listen), socket_group=s.socket_group,
                                 systemd_address=self.systemd.address)
        await self.listener.check()
        private_dir(s.state_dir)
        private_file(s.state_dir / "podbridge.db")
        self.store = Store(s.state_dir / "podbridge.db")
        self.token = load_or_create_token(s.token_path)
        # A unix socket is local by nature (its file mode and the peer's uid guard it): no TLS.
        ssl_context = None if self.listener.endpoint.path is not None else tls.choose(
            self.listener.endpoint.host, cert=s.cert, key=s.key, self_signed_tls=s.tls,
            insecure_plain_http=s.insecure_plain_http, state_dir=s.state_dir)
        self.auth = Auth(self.token, tokens_file=s.tokens_path, store=self.store,
                         idle_timeout=s.session_idle_timeout,
                         absolute_timeout=s.session_max_age,
                         login_attempts=s.login_attempts, login_window=s.login_window)
        self.audit = AuditLog(self.store, self.bus, s.audit_max_entries, s.audit_max_age_days)
        self.methods.audit = self.audit.record
        await self._ensure_podman()
        register_core_methods(self.methods, self)
        if s.fleet.joined:
            from bridge.fleet.link import FleetLink

            if s.fleet.watch:
                self.fleet_bus = Bus(ring_size=s.fleet.watch_ring, queue_size=s.client_queue)
            self.fleet_link = FleetLink(s.fleet, bus=self.bus, methods=self.methods,
                                        state=self.state, fleet_bus=self.fleet_bus)
            self.fleet = Fleet(s.fleet.name, s.fleet.host, self.fleet_link)
            await self.fleet_link.start()
        register_fleet_methods(self.methods, self.fleet_link)

        self.podman_source = PodmanSource(self.bus, self.podman, self.state)
        self.systemd_source = SystemdSource(self.bus, self.systemd, self.state)
        self._tasks = [
            asyncio.create_task(self.podman_source.run(), name="source/podman"),
            asyncio.create_task(self.systemd_source.run(), name="source/systemd"),
        ]
        if s.rootless and is_root() and s.systemd == "system":
            self.owners = Owners(self.bus, s.user_runtime_root)
            await self.owners.start()
        self.plugins = PluginHost(
            bus=self.system_bus, podman=self.podman, systemd=self.systemd, store=self.store,
            state=self.state, methods=self.methods, config=s.plugins,
            plugins=self._plugin_classes, unit_dir=s.unit_path, fleet=self.fleet)
        await self.plugins.start()

        server = Server(bus=self.bus, methods=self.methods, auth=self.auth,
                        panel_dir=find_panel_dir(s), allowed_origins=s.allowed_origins,
                        queue_size=s.client_queue, tls=ssl_context is not None,
                        fleet_bus=self.fleet_bus)
        self.server = server
        self._runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await self.listener.start(self._runner, ssl_context)
        self.url = self.listener.url(self.token)
        self.bus.publish(BRIDGE_STARTED, SOURCE_BRIDGE, "bridge",
                         {"version": __version__, "podman": self.podman.url,
                          "systemd": self.systemd.address})

    async def stop(self) -> None:
        if self.plugins is not None:
            await self.plugins.stop()
        if self.fleet_link is not None:
            await self.fleet_link.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.listener is not None:
            await self.listener.close()
        if self.owners is not None:
            await self.owners.stop()
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
    from bridge.rootless import preflight

    problems = preflight(settings)
    for problem in problems:
        print(f"podbridge: {'error' if problem.fatal else 'warning'}: {problem.message}",
              file=sys.stderr, flush=True)
    if any(p.fatal for p in problems):
        return 2
    bridge = Bridge(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await bridge.start()
    except ListenError as exc:
        await bridge.stop()
        print(exc, file=sys.stderr, flush=True)
        return 1
    print(f"podbridge {__version__} is serving at {bridge.url}", flush=True)
    print(f"  Podman: {bridge.podman.url}   systemd ({settings.systemd}): "
          f"{bridge.systemd.address}", flush=True)
    try:
        await stop.wait()
    finally:
        await bridge.stop()
    return 0
