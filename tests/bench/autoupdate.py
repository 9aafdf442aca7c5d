"""Helpers of the auto-update tests and bench: units as `podman generate systemd --new`
writes them, images pushed to the world's registry, and the two tools to compare."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.sandbox import World
from bridge.sandbox.demo import notify_unit
from bridge.sandbox.registry import free_port

ROOT = Path(__file__).resolve().parents[2]



@dataclass(frozen=True)
class Unit:
    name: str      # the container's name; the unit is NAME.service
    image: str
    policy: str

    @property
    def unit(self) -> str:
        return f"{self.name}.service"


def registries_conf(world: World) -> str:
    return str(world.root / "etc-containers" / "registries.conf")


def start_units(world: World, units: list[Unit], extra_unit: str = "") -> None:
    for u in units:
        (world.unit_dir / u.unit).write_text(notify_unit(
            u.name, u.image, args=f"--label io.containers.autoupdate={u.policy}",
            unit_extra=extra_unit))
    world.systemctl("daemon-reload")
    world.systemctl("start", *[u.unit for u in units])


def start_pushed(world: World, name: str, image: str) -> tuple[str, Unit]:
    """``image`` pushed to the world's registry as podbridge/NAME, and a unit (policy
    registry) running it, started: the reference pushed and the unit."""
    remote = f"{world.registry}/podbridge/{name}:latest"
    unit = Unit(name, remote, "registry")
    world.podman("push", "--quiet", "--tls-verify=false", image, remote)
    start_units(world, [unit])
    return remote, unit


def remove_units(world: World, units: list[Unit]) -> None:
    world.systemctl("stop", *[u.unit for u in units], check=False)
    for u in units:
        (world.unit_dir / u.unit).unlink(missing_ok=True)
    world.systemctl("daemon-reload")
    world.systemctl("reset-failed", check=False)


def dead_registry_image(world: World, source: str, name: str) -> str:
    """A local image named as if from a registry nobody answers at: its checks fail."""
    ref = f"127.0.0.1:{free_port()}/podbridge/{name}:latest"
    world.podman("tag", source, ref)
    return ref


def unexecutable_image(world: World, source: str, name: str) -> str:
    """``source`` with a command that does not exist: ``podman run`` of it fails, so the
    unit's start job fails, as in upstream's rollback test. (The world's ``httpd:broken``
    starts and then exits 1: with ``--sdnotify=conmon`` its restart job is ``done``.)"""
    tmp = f"{name.replace('/', '-').replace(':', '-')}-tmp"
    world.podman("create", "--name", tmp, source)
    try:
        world.podman("commit", "--quiet", "--change", 'CMD ["/bin/no-such-command"]', tmp,
                     name)
    finally:
        world.podman("rm", "-f", tmp)
    return name


def serving(world: World, container: str) -> str:
    """What the container's httpd serves (from inside it)."""
    deadline = time.monotonic() + 10
    while True:
        done = world.podman("exec", container, "wget", "-q", "-O", "-",
                            "http://127.0.0.1:80/", check=False)
        if done.returncode == 0 or time.monotonic() > deadline:
            return done.stdout.strip()
        time.sleep(0.1)


def image_id(world: World, name: str) -> str:
    return world.podman("image", "inspect", "--format", "{{.Id}}", name).stdout.strip()


def container_image(world: World, container: str) -> str:
    return world.podman("inspect", "--format", "{{.Image}}", container).stdout.strip()


def ours(world: World, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """`podbridge auto-update --format json ARGS` against the world: status, rows, stderr."""
    env = {**os.environ, **world.env()}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "auto-update", "--format", "json", "--no-history",
         "--registries-conf", registries_conf(world), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=False)
    return done.returncode, _rows(done.stdout, done.stderr), done.stderr


def podmans(world: World, *args: str) -> tuple[int, list[dict[str, Any]], str]:
    """The real `podman auto-update --format json ARGS` inside the world."""
    done = world.podman("auto-update", "--format", "json", *args, check=False, timeout=300)
    return done.returncode, _rows(done.stdout, done.stderr), done.stderr


def _rows(stdout: str, stderr: str) -> list[dict[str, Any]]:
    text = stdout.strip()
    if not text or text == "null":
        return []
    try:
        rows = json.loads(text)
    except ValueError:
        raise AssertionError(f"not JSON: {stdout!r} (stderr {stderr!r})") from None
    return list(rows or [])


def results(rows: list[dict[str, Any]], units: list[Unit]) -> dict[str, str]:
    """ContainerName -> Updated, for ``units`` only (the world may hold others)."""
    names = {u.name for u in units}
    return {r["ContainerName"]: r["Updated"] for r in rows if r["ContainerName"] in names}


# -- the bench: podbridge auto-update against podman auto-update -----------------------

BENCH_CONF = """listen = "127.0.0.1:{port}"
state_dir = "{state}"
url = "{url}"
systemd = "system"
unit_dir = "{unit_dir}"
start_podman_service = false
log_level = "warning"
[plugins.auto_update]
timer = false
registries_conf = "{registries}"
[plugins.rollback_watcher]
enabled = false
"""


class BenchBridge:
    """``podbridge serve`` as a process against the world, as a user runs it, except: the
    auto-update timer is off (runs happen when the bench says) and so is the rollback
    watcher, whose probation after one run's restart would take the next run's restart
    (seconds later, by another contender) for a failure and roll it back."""

    def __init__(self, world: World, folder: Path) -> None:
        from tests.helpers import free_port as port

        folder.mkdir(parents=True, exist_ok=True)
        self.conf = folder / "podbridge.toml"
        self.conf.write_text(BENCH_CONF.format(
            port=port(), state=folder / "state", url=world.podman_url,
            unit_dir=world.unit_dir, registries=registries_conf(world)))
        self.env = {**os.environ, **world.env(), "PODBRIDGE_CONFIG": str(self.conf)}
        self.proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve"], env=self.env,
                                     cwd=ROOT, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.target = self._wait()

    def _wait(self) -> Any:
        from bridge import remote

        os.environ["PODBRIDGE_CONFIG"] = str(self.conf)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError("the bridge exited")
                target = remote.find_bridge()
                if target is not None:
                    try:
                        status = remote.call(target, "bridge.status", timeout=5)
                        if status["podman"]["connected"] and status["systemd"]["connected"]:
                            return target
                    except (remote.BridgeUnreachable, OSError):
                        pass
                time.sleep(0.1)
            raise RuntimeError("the bridge did not come up")
        finally:
            del os.environ["PODBRIDGE_CONFIG"]

    def run(self, dry_run: bool) -> list[dict[str, Any]]:
        """The bridge's own run (what its timer does), asked for over its REST API."""
        from bridge import remote

        report = remote.call(self.target, "autoupdate.run", {"dry_run": dry_run})
        return list(report["rows"])

    def cli(self, *args: str, bridge: bool = True) -> list[dict[str, Any]]:
        """``podbridge auto-update --format json ARGS`` as a user types it: through the
        running bridge, or (bridge=False: a state folder without its token) by itself."""
        env = {**self.env, "PODBRIDGE_AUTO_UPDATE_VIA": "bridge"}
        if not bridge:
            env["PODBRIDGE_STATE_DIR"] = str(self.conf.parent / "cli-state")
        done = subprocess.run([sys.executable, "-m", "bridge", "auto-update", "--format",
                               "json", *args], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=300, check=False)
        return _rows(done.stdout, done.stderr)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _prepare(world: World, tag: str, n: int) -> list[Unit]:
    """N units on N images of the registry at v1, running."""
    from bridge.sandbox.images import HTTPD_V1

    units = []
    for i in range(n):
        ref = f"{world.registry}/podbridge/bench-{tag}{i}:latest"
        world.podman("push", "--quiet", HTTPD_V1, ref)
        units.append(Unit(f"bench-{tag}{i}", ref, "registry"))
    # Each unit is updated 5 x 4 times in a few minutes: no start rate limit (systemd's
    # default of 5 starts in 10 s would fail the unit, as it would on a real host).
    try:
        start_units(world, units, extra_unit="StartLimitIntervalSec=0")
    except Exception as exc:
        status = world.systemctl("status", "--no-pager", "-n", "20",
                                 *[u.unit for u in units], check=False).stdout
        raise RuntimeError(f"{exc}\n{status}") from None
    return units


def _push(world: World, units: list[Unit], image: str) -> None:
    for u in units:
        world.podman("push", "--quiet", image, u.image)


MODES = {
    "podman": "`podman auto-update` (a process, as its timer runs it too)",
    "cli": "`podbridge auto-update` (a process) handing the run to the running bridge",
    "cli-alone": "`podbridge auto-update` (a process) with no bridge to hand it to",
    "bridge": "the bridge's own run (`autoupdate.run`, as its timer runs it)",
}


def _one(world: World, bridge: BenchBridge, mode: str, dry_run: bool) -> tuple[float, list[
        dict[str, Any]]]:
    args = ("--dry-run",) if dry_run else ()
    start = time.perf_counter()
    if mode == "podman":
        rows = podmans(world, *args)[1]
    elif mode == "cli":
        rows = bridge.cli(*args)
    elif mode == "cli-alone":
        rows = bridge.cli(*args, bridge=False)
    else:
        rows = bridge.run(dry_run)
    return time.perf_counter() - start, rows


def run(sizes: tuple[int, ...] = (1, 4), repeats: int = 5) -> list[dict[str, Any]]:
    """Seconds to check (dry run) and to update N independent units (each its own image, a
    registry update due), each way of MODES in turn, ``repeats`` times in rotating order,
    all in one world. Between two updates the other image is pushed, so every run has
    N updates to do; each run's rows are checked (all "pending", all "true")."""
    import tempfile

    from bridge.sandbox.images import HTTPD_V1, HTTPD_V2
    from tests.bench.stats import alternate, summary

    out = []
    with tempfile.TemporaryDirectory(prefix="podbridge-bench-") as tmp:
        world = World(Path(tmp) / "world").up()
        bridge = None
        try:
            bridge = BenchBridge(world, Path(tmp) / "bridge")
            for n in sizes:
                units = _prepare(world, f"n{n}-", n)
                try:
                    row: dict[str, Any] = {"units": n}
                    images = [HTTPD_V2, HTTPD_V1]
                    _push(world, units, images[0])
                    for dry_run, want in ((True, "pending"), (False, "true")):
                        times: dict[str, list[float]] = {m: [] for m in MODES}
                        for rep in range(repeats):
                            for mode in alternate(list(MODES), rep):
                                took, rows = _one(world, bridge, mode, dry_run)
                                got = results(rows, units)
                                assert set(got.values()) == {want} and len(got) == n, \
                                    f"{mode} dry_run={dry_run}: {got}"
                                times[mode].append(took)
                                if not dry_run:
                                    images.reverse()
                                    _push(world, units, images[0])
                        row["dry_run" if dry_run else "update"] = {
                            m: summary(v) for m, v in times.items()}
                    out.append(row)
                finally:
                    remove_units(world, units)
        finally:
            if bridge is not None:
                bridge.stop()
            world.down()
    return out


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
