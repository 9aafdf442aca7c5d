"""A private `podman system service` for the benchmarks: its own storage, runroot and
events log under a temporary folder, so the machine's own Podman is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path
from types import TracebackType

CONF = """[containers]
default_ulimits = []
log_driver = "k8s-file"
[engine]
runtime = "runc"
events_logger = "file"
cgroup_manager = "cgroupfs"
tmp_dir = "{tmp}"
# Locks of its own (files under tmp_dir): the machine's shared-memory pool of 2,048 locks
# runs out when other benches hold 1,000 containers each at the same time.
lock_type = "file"
"""


class PodmanService:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="podbridge-bench-"))
        self.sock = self.dir / "podman.sock"
        self.url = f"unix://{self.sock}"
        (self.dir / "tmp").mkdir()
        conf = self.dir / "containers.conf"
        conf.write_text(CONF.format(tmp=self.dir / "tmp"))
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.env.pop("CONTAINER_HOST", None)
        self.flags = ["--root", str(self.dir / "root"), "--runroot", str(self.dir / "run")]
        self.proc: subprocess.Popen[bytes] | None = None

    def podman(self, *args: str) -> str:
        return subprocess.run(["podman", *self.flags, *args], env=self.env, check=True,
                              capture_output=True, text=True, timeout=120).stdout

    def __enter__(self) -> PodmanService:
        self.import_busybox("localhost/bench/busybox:1")
        self.proc = subprocess.Popen(
            ["podman", *self.flags, "system", "service", "--time=0", self.url],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while not self.sock.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("podman system service did not start")
            time.sleep(0.05)
        return self

    def import_busybox(self, ref: str) -> None:
        rootfs = self.dir / "rootfs"
        (rootfs / "bin").mkdir(parents=True)
        shutil.copy("/bin/busybox", rootfs / "bin" / "busybox")
        for tool in ("sh", "sleep", "true"):
            (rootfs / "bin" / tool).symlink_to("busybox")
        tar = self.dir / "rootfs.tar"
        with tarfile.open(tar, "w") as t:
            t.add(rootfs, arcname=".")
        self.podman("import", str(tar), ref)

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        subprocess.run(["podman", *self.flags, "rm", "-a", "-f"], env=self.env,
                       capture_output=True, timeout=600)
        subprocess.run(["podman", *self.flags, "system", "reset", "-f"], env=self.env,
                       capture_output=True, timeout=600)
        shutil.rmtree(self.dir, ignore_errors=True)
