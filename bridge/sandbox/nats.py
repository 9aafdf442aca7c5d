"""A NATS cluster with JetStream on loopback, for the test fleet (`podbridge sandbox fleet`).

Each node is a `nats-server` (Debian 12's 2.9.10 is the floor) with its config, store and
log in ``folder/nK/``; ports are picked free on 127.0.0.1 (other people's servers run on
the same machine). ``cluster.json`` records the nodes, so another process can stop them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from bridge.sandbox.procs import ProcRef
from bridge.sandbox.record import from_json, to_json
from bridge.sandbox.registry import free_port

logger = logging.getLogger(__name__)

NATS_BIN = "nats-server"

CONFIG = """\
server_name: {name}
listen: 127.0.0.1:{port}
jetstream {{
  store_dir: "{store}"
  max_memory_store: 67108864
  # Accounting, not disk: each stream reserves its max_bytes (R3: on every node).
  max_file_store: 17179869184
}}
cluster {{
  name: podbridge-sandbox
  listen: 127.0.0.1:{cluster_port}
  routes: [{routes}]
}}
"""


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.settimeout(0.5)
            return s.recv(4).startswith(b"INFO")
    except OSError:
        return False


@dataclass
class Node:
    name: str
    port: int
    cluster_port: int
    proc: ProcRef | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@dataclass
class NatsCluster:
    folder: Path
    nodes: list[Node] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def url(self) -> str:
        return ",".join(self.urls)

    def save(self) -> None:
        (self.folder / "cluster.json").write_text(json.dumps(
            {"nodes": to_json(self.nodes, list[Node])}, indent=1))

    @classmethod
    def attach(cls, folder: Path) -> NatsCluster:
        data = json.loads((folder / "cluster.json").read_text())
        return cls(folder, from_json(list[Node], data["nodes"]))

    @classmethod
    def start(cls, folder: Path, size: int = 3, timeout: float = 30.0) -> NatsCluster:
        """Start ``size`` nodes and return once each answers; tear down on failure."""
        folder.mkdir(parents=True, exist_ok=True)
        cluster = cls(folder)
        ports: list[int] = []  # a client and a cluster port per node, all different
        while len(ports) < 2 * size:
            if (port := free_port()) not in ports:
                ports.append(port)
        cluster.nodes = [Node(f"n{i + 1}", ports[2 * i], ports[2 * i + 1]) for i in range(size)]
        try:
            for i in range(size):
                cluster.start_node(i, wait=False)
            cluster.save()
            for i in range(size):
                cluster.wait_node(i, timeout)
        except BaseException:
            cluster.stop()
            raise
        logger.info("NATS cluster up: %s", cluster.url)
        return cluster

    def start_node(self, i: int, wait: bool = True, timeout: float = 30.0) -> None:
        node = self.nodes[i]
        home = self.folder / node.name
        (home / "store").mkdir(parents=True, exist_ok=True)
        routes = ", ".join(f"nats-route://127.0.0.1:{n.cluster_port}" for n in self.nodes
                           if n is not node)
        config = home / "nats.conf"
        config.write_text(CONFIG.format(name=node.name, port=node.port,
                                        cluster_port=node.cluster_port, store=home / "store",
                                        routes=routes))
        with (home / "nats.log").open("ab") as log:
            proc = subprocess.Popen([NATS_BIN, "-c", str(config)], stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=log, start_new_session=True)
        node.proc = ProcRef.of(proc.pid)
        self.save()
        if wait:
            self.wait_node(i, timeout)

    def wait_node(self, i: int, timeout: float = 30.0) -> None:
        node = self.nodes[i]
        deadline = time.monotonic() + timeout
        while not _answers(node.port):
            if node.proc is None or not node.proc.alive():
                raise RuntimeError(f"nats-server {node.name} exited: see "
                                   f"{self.folder / node.name / 'nats.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats-server {node.name} did not answer on "
                                   f"127.0.0.1:{node.port} in {timeout:g} s")
            time.sleep(0.05)

    async def jetstream_up(self, timeout: float = 60.0) -> None:
        """Wait until JetStream answers through the cluster (a meta leader is elected):
        a node answering its port is not yet one that serves a replicated stream."""
        import nats

        async def quiet(_exc: Exception) -> None:
            """nats-py prints a traceback for every refused connection by default."""

        async with asyncio.timeout(timeout):
            while True:
                with contextlib.suppress(Exception):
                    async with await nats.connect(servers=self.urls, connect_timeout=1,
                                                  allow_reconnect=False, error_cb=quiet) as nc:
                        await nc.jetstream().account_info()
                        return
                await asyncio.sleep(0.2)

    def kill_node(self, i: int) -> None:
        node = self.nodes[i]
        if node.proc is not None:
            node.proc.kill()
            node.proc.reap()
            node.proc = None
            self.save()

    def stop(self) -> None:
        for i in range(len(self.nodes)):
            self.kill_node(i)
