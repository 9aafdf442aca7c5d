"""The test fleet: a 3-node NATS cluster, one registry and N test worlds, each with its own
bridge joined to the fleet (`podbridge sandbox fleet up|down DIR`; docs/fleet.md).

Layout of ``DIR``::

    fleet.json      the record (registry, hosts, bridges)
    nats/           the cluster (bridge.sandbox.nats): nK/nats.conf, store/, nats.log
    registry/       the shared registry's config, data and log
    hosts/hN/       host hN's world (bridge.sandbox.world), and beside the world's own
                    files: podbridge.toml, podbridge.sock, bridge-state/, bridge.log
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from argparse import Namespace
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.fleet.api import read_hosts
from bridge.sandbox import boot
from bridge.sandbox.demo import install_unit, notify_unit
from bridge.sandbox.images import HTTPD_V1
from bridge.sandbox.nats import NatsCluster
from bridge.sandbox.procs import ProcRef
from bridge.sandbox.record import from_json, to_json
from bridge.sandbox.registry import start_registry
from bridge.sandbox.world import World

logger = logging.getLogger(__name__)

# The default fleet name: `podbridge fleet … --fleet nats://…` needs nothing more.
FLEET_NAME = "default"
RECORD = "fleet.json"
DEMO_UNIT = "demo-app.service"
REPO = Path(__file__).resolve().parents[2]

BRIDGE_CONFIG = """\
# podbridge test fleet: host {host}
url = "{podman_url}"
systemd = "system"
state_dir = "{state_dir}"
listen = "unix:{socket}"
unit_dir = "{unit_dir}"
rootless = false
start_podman_service = false

[fleet]
servers = {servers}
host = "{host}"
name = "{fleet}"
heartbeat_interval = {heartbeat}
offline_after = {offline_after}
replicas = 3

[plugins.auto_update]
# The world's registries.conf: the shared registry is plain HTTP (insecure = true).
registries_conf = "{registries_conf}"
"""


@dataclass
class Host:
    name: str
    root: Path
    bridge: ProcRef | None = None

    @property
    def socket(self) -> Path:
        return self.root / "podbridge.sock"

    @property
    def state_dir(self) -> Path:
        return self.root / "bridge-state"

    @property
    def config(self) -> Path:
        return self.root / "podbridge.toml"

    @property
    def token(self) -> str:
        return (self.state_dir / "token").read_text().strip()

    def world(self) -> World:
        return World.attach(self.root)


@dataclass
class Fleet:
    root: Path
    nats: NatsCluster | None = None
    registry: ProcRef | None = None
    registry_port: int | None = None
    hosts: list[Host] = field(default_factory=list)
    heartbeat: float = 1.0
    _registry_proc: subprocess.Popen[bytes] | None = None
    _children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.nats is not None
        return self.nats.url

    @property
    def registry_address(self) -> str:
        return f"127.0.0.1:{self.registry_port}"

    def host(self, name: str) -> Host:
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    # -- the record
    def save(self) -> None:
        (self.root / RECORD).write_text(json.dumps({
            "registry": to_json(self.registry, ProcRef | None),
            "registry_port": self.registry_port, "heartbeat": self.heartbeat,
            "hosts": to_json(self.hosts, list[Host])}, indent=1))

    @classmethod
    def attach(cls, root: Path | str) -> Fleet:
        root = Path(root).resolve()
        data = json.loads((root / RECORD).read_text())
        fleet = cls(root, registry_port=data.get("registry_port"),
                    heartbeat=float(data.get("heartbeat", 1.0)),
                    registry=from_json(ProcRef, data["registry"]) if data.get("registry")
                    else None,
                    hosts=from_json(list[Host], data.get("hosts", [])))
        if (root / "nats" / "cluster.json").exists():
            fleet.nats = NatsCluster.attach(root / "nats")
        return fleet

    # -- up and down
    @classmethod
    def up(cls, root: Path | str, hosts: int, *, demo: bool = False,
           heartbeat: float = 1.0) -> Fleet:
        """Start it all; on any failure tear down what was started."""
        if hosts < 1:
            raise ValueError("a fleet needs at least one host")
        root = Path(root).resolve()
        root.mkdir(parents=True, exist_ok=True)
        if (root / RECORD).exists():
            cls.attach(root).down()
        fleet = cls(root, heartbeat=heartbeat)
        fleet.save()
        try:
            fleet.nats = NatsCluster.start(root / "nats")
            proc, port = start_registry(root / "registry", {"PATH": boot.PATH})
            fleet._registry_proc = proc
            fleet.registry, fleet.registry_port = ProcRef.of(proc.pid), port
            fleet.save()
            for i in range(1, hosts + 1):
                host = Host(f"h{i}", root / "hosts" / f"h{i}")
                fleet.hosts.append(host)
                world = World(host.root).up()
                fleet.trust_registry(world)
                fleet.save()
            if demo:
                fleet.create_demo()
            for host in fleet.hosts:
                fleet.start_bridge(host.name)
            fleet.wait_online([h.name for h in fleet.hosts])
        except BaseException:
            logger.exception("the fleet in %s failed to come up; tearing it down", root)
            fleet.down()
            raise
        return fleet

    def down(self) -> None:
        """Stop the bridges, the worlds, the registry and NATS: idempotent."""
        for host in self.hosts:
            self.stop_bridge(host.name)
            if (host.root / "world.json").exists():
                with contextlib.suppress(Exception):
                    host.world().down()
        if self.registry is not None:
            self.registry.kill()
            self.registry.reap()
            self.registry = None
        if self._registry_proc is not None:
            self._registry_proc.wait()
            self._registry_proc = None
        if self.nats is not None:
            self.nats.stop()
        if self.root.exists():
            self.save()

    # -- the parts
    def trust_registry(self, world: World) -> None:
        """The shared registry, over plain HTTP, in the world's registries.conf."""
        conf = world.root / "etc-containers" / "registries.conf"
        conf.write_text(conf.read_text() + f'\n[[registry]]\nlocation = '
                        f'"{self.registry_address}"\ninsecure = true\n')

    def create_demo(self) -> str:
        """``demo-app.service`` on every host, from REGISTRY/demo/app:latest."""
        image = f"{self.registry_address}/demo/app:latest"
        self.hosts[0].world().podman("push", "--quiet", HTTPD_V1, image)
        for host in self.hosts:
            world = host.world()
            install_unit(world, DEMO_UNIT, notify_unit(
                "demo-app", image, "--label io.containers.autoupdate=registry "
                "--label app=demo", "podbridge fleet demo: auto-updated from the registry"))
            world.systemctl("start", DEMO_UNIT)
        return image

    def start_bridge(self, name: str) -> None:
        assert self.nats is not None
        host = self.host(name)
        world = host.world()
        host.state_dir.mkdir(mode=0o700, exist_ok=True)
        host.config.write_text(BRIDGE_CONFIG.format(
            host=name, podman_url=world.podman_url, state_dir=host.state_dir,
            socket=host.socket, unit_dir=world.unit_dir, servers=json.dumps(self.nats.urls),
            fleet=FLEET_NAME, heartbeat=self.heartbeat, offline_after=self.heartbeat * 3,
            registries_conf=world.root / "etc-containers" / "registries.conf"))
        env = {"PATH": os.environ.get("PATH", boot.PATH),
               "DBUS_SYSTEM_BUS_ADDRESS": world.dbus_address,
               "PYTHONPATH": str(REPO), "HOME": os.environ.get("HOME", "/root")}
        with (host.root / "bridge.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--config", str(host.config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                start_new_session=True, cwd=host.root)
        host.bridge = ProcRef.of(proc.pid)
        self.save()
        self._children[name] = proc

    def stop_bridge(self, name: str, sig: int = signal.SIGTERM) -> None:
        host = self.host(name)
        if host.bridge is None:
            return
        host.bridge.kill(sig)
        try:
            host.bridge.reap(20)
        except TimeoutError:
            host.bridge.kill(signal.SIGKILL)
            host.bridge.reap()
        proc = self._children.pop(name, None)
        if proc is not None:
            proc.wait()
        host.bridge = None
        self.save()

    async def hosts_view(self) -> list[dict[str, Any]]:
        """``fleet.hosts`` as a command sees it (through NATS)."""
        return await read_hosts(Namespace(fleet=self.url, fleet_name=FLEET_NAME,
                                          config="/nonexistent"))

    def wait_online(self, names: list[str], timeout: float = 120.0) -> None:
        """Until every host named has a fresh heartbeat (its bridge joined)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                rows = asyncio.run(self.hosts_view())
            except Exception as exc:
                logger.debug("fleet view not ready: %s", exc)
                rows = []
            online = {r["host"] for r in rows if r["online"]}
            if set(names) <= online:
                return
            for name in names:
                host = self.host(name)
                if host.bridge is not None and not host.bridge.alive():
                    raise RuntimeError(f"the bridge of {name} exited: see "
                                       f"{host.root / 'bridge.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"hosts {sorted(set(names) - online)} did not join the "
                                   f"fleet in {timeout:g} s")
            time.sleep(0.5)
