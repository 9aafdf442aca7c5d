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
from bridge.image_search import register_image_search_methods
from bridge.listen import Endpoint, Listener, ListenError
from bridge.methods import MethodRegistry
from bridge.methods_container_ops import register_container_ops
from bridge.methods_containers import register_container_methods
from bridge.methods_images import register_image_methods
from bridge.methods_pods import register_pod_methods
from bridge.methods_system import register_system_methods
from bridge.methods_volumes import register_volume_methods
from bridge.owners import OwnerBus, Owners
from bridge.paths import is_root
from bridge.plugin import PluginHost
from bridge.podman import PodmanClient, wait_for_socket
from bridge.server import Server
from bridge.sources import PodmanSource, SystemdSource, start_sources
from bridge.state import State
from bridge.store import Store
from bridge.systemd import SystemdClient
from bridge.tasks import TaskOwner, within

logger = logging.getLogger(__name__)

FLEET_SYNC_WAIT = 30.0  # seconds a fleet host waits for Podman's state before answering
# The core's methods, module by module (plugins add theirs through their context).
CORE_METHODS = (register_core_methods, register_container_methods, register_container_ops,
                register_image_methods, register_pod_methods, register_system_methods,
                register_volume_methods, register_image_search_methods)


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
    return next((c for c in (REPO_PANEL, packaged) if (c / "index.html").is_file()), None)


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
        self.tasks = TaskOwner("bridge")
        self._stack: contextlib.AsyncExitStack | None = None
        self._closed = False
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

    async def _ensure_podman(self, stack: contextlib.AsyncExitStack) -> None:
        """Use the socket we were pointed at; when none answers and podman is installed,
        run `podman system service` on a private socket and own it (``stack`` ends it)."""
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
        stack.push_async_callback(self._stop_service)
        await self.podman.close()
        self.podman = PodmanClient(url)
        if not await wait_for_socket(self.podman, 20):
            logger.error("podman system service did not come up at %s", url)

    async def _stop_service(self) -> None:
        service, self._service = self._service, None
        if service is None or service.returncode is not None:
            return
        service.terminate()
        try:
            await within(service.wait(), 10)
        except TimeoutError:
            service.kill()
            await service.wait()

    async def _close_clients(self) -> None:
        self._closed = True
        await self.state.aclose()
        self.systemd.close()
        await self.podman.close()

    async def start(self) -> None:
        """Start everything, each part registered on an exit stack as it starts: when a
        later part fails (the port is taken, the store cannot be opened), what was already
        started is stopped again, in reverse order, before the error reaches the caller."""
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(self._close_clients)
            await self._start(stack)
            self._stack = stack.pop_all()

    async def _start(self, stack: contextlib.AsyncExitStack) -> None:
        s = self.settings
        self.listener = Listener(Endpoint.parse(s.listen), socket_group=s.socket_group,
                                 systemd_address=self.systemd.address)
        await self.listener.check()
        private_dir(s.state_dir)
        private_file(s.state_dir / "podbridge.db")
        self.store = store = Store(s.state_dir / "podbridge.db")
        stack.callback(store.close)
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
        await self._ensure_podman(stack)
        for register in CORE_METHODS:
            register(self.methods, self)
        if s.fleet.joined:
            from bridge.fleet.link import FleetLink

            if s.fleet.watch:
                self.fleet_bus = Bus(ring_size=s.fleet.watch_ring, queue_size=s.client_queue)
            self.fleet_link = FleetLink(s.fleet, bus=self.bus, methods=self.methods,
                                        state=self.state, fleet_bus=self.fleet_bus,
                                        outbox_path=s.state_dir / "fleet-outbox.db",
                                        answer_calls=False)
            self.fleet = Fleet(s.fleet.name, s.fleet.host, self.fleet_link)
            stack.push_async_callback(self.fleet_link.close)
            await self.fleet_link.start()
        register_fleet_methods(self.methods, self.fleet_link)

        stack.push_async_callback(self.tasks.close)
        self.podman_source, self.systemd_source = start_sources(
            self.tasks, self.bus, self.podman, self.systemd, self.state)
        stack.push_async_callback(self.podman_source.close)
        stack.push_async_callback(self.systemd_source.close)
        if s.rootless and is_root() and s.systemd == "system":
            self.owners = owners = Owners(self.bus, s.user_runtime_root)
            stack.push_async_callback(owners.stop)
            await owners.start()
        self.plugins = PluginHost(
            bus=self.system_bus, podman=self.podman, systemd=self.systemd, store=self.store,
            state=self.state, methods=self.methods, config=s.plugins,
            plugins=self._plugin_classes, settings=s, owners=self.owners,
            user_fs_root=s.user_fs_root, fleet=self.fleet)
        stack.push_async_callback(self.plugins.stop)
        await self.plugins.start()

        server = Server(bus=self.bus, methods=self.methods, auth=self.auth,
                        panel_dir=find_panel_dir(s), allowed_origins=s.allowed_origins,
                        queue_size=s.client_queue, tls=ssl_context is not None,
                        fleet_bus=self.fleet_bus)
        self.server = server
        runner = web.AppRunner(server.app, access_log=None, handle_signals=False)
        # The websockets close (runner.cleanup) before the plugins stop, then the socket
        # file goes.
        stack.push_async_callback(self.listener.close)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await self.listener.start(runner, ssl_context)
        self.url = self.listener.url(self.token)
        if self.fleet_link is not None:
            # The fleet's calls are answered once Podman's state is read (a panel showing
            # this host through the fleet must not load an empty snapshot), or after
            # SYNC_WAIT when Podman does not answer (the host is then reachable anyway).
            self.tasks.create(self._answer_fleet_calls(), "fleet/answer")
        self.bus.publish(BRIDGE_STARTED, SOURCE_BRIDGE, "bridge",
                         {"version": __version__, "podman": self.podman.url,
                          "systemd": self.systemd.address})

    async def _answer_fleet_calls(self) -> None:
        with contextlib.suppress(TimeoutError):
            await within(self.state.podman_synced.wait(), FLEET_SYNC_WAIT)
        self.fleet_link.answer_calls()

    async def stop(self) -> None:
        """Stop what ``start`` started, in reverse order (a bridge never started only
        closes its clients). Safe to call twice."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        elif not self._closed:
            await self._close_clients()
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
        # start() has already undone what it started.
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
