"""A Podman service for the benchmarks inside a test world of one flavour: the world's own
Podman (4.3.1 in debian12, 5.4 with journald events in debian13) behind its API socket,
with the interface of :class:`tests.bench.podman_service.PodmanService`."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from bridge.sandbox import World
from bridge.sandbox.images import SLEEP

BENCH_IMAGE = "localhost/bench/busybox:1"


class WorldPodmanService:
    def __init__(self, flavour: str) -> None:
        self.flavour = flavour
        self.dir = Path(tempfile.mkdtemp(prefix=f"podbridge-bench-{flavour}-"))
        self.world = World(self.dir / "world", flavour=flavour)
        self.sock = self.world.podman_socket
        self.url = self.world.podman_url
        self.version = ""

    def podman(self, *args: str) -> str:
        return self.world.podman(*args, timeout=600).stdout

    def __enter__(self) -> WorldPodmanService:
        try:
            self.world.up()
            # The world's busybox image under the name the benchmarks use.
            self.podman("tag", SLEEP, BENCH_IMAGE)
            self.version = self.world.podman_version()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.world.down()
        shutil.rmtree(self.dir, ignore_errors=True)
