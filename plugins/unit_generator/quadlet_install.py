"""``units.install`` with ``format: quadlet``: Quadlet files installed as a host expects.

The files go to the Quadlet folder (``/etc/containers/systemd`` on a host); a daemon-reload
runs the host's Quadlet generator, which makes their services. Which generator that is,
is read from what systemd then has, not guessed from a version: a service that systemd
loaded from its generator folder was made by the host's own (Podman's Quadlet on Podman
4.4 and later, or podbridge's installed by ``make install``). Where none made it (Podman
4.3.1 has no Quadlet), podbridge's generator converts the same files and the services go
to the unit folder, marked as podbridge's, as any unit it installs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from pathlib import Path

from bridge.errors import Conflict, InvalidParams
from bridge.systemd import SystemdClient

from .install import JOB_TIMEOUT, InstallResult, write_atomic, write_units
from .quadlet.generator import Options
from .quadlet.generator import generate as run_generator
from .quadlet.naming import service_name
from .quadlet.parser import UnitFile

logger = logging.getLogger(__name__)

QUADLET_NAME = re.compile(r"^[A-Za-z0-9:_.\\@-]+\.(container|pod|volume|network|kube|image|"
                          r"build)$")
MARKER = "# Installed by podbridge (units.install, format quadlet)."
# The system manager's generator folders (/run/systemd/generator{,.early,.late}) and a user
# manager's ($XDG_RUNTIME_DIR/systemd/generator{,.early,.late}).
GENERATOR_FOLDER = re.compile(r"/systemd/generator(\.early|\.late)?/")


def with_install(text: str) -> str:
    """The file with ``[Install] WantedBy=default.target`` (how a Quadlet unit is enabled:
    generated units cannot be enabled with systemctl)."""
    if re.search(r"^\[Install\]", text, re.M):
        return text
    return text.rstrip("\n") + "\n\n[Install]\nWantedBy=default.target\n"


def services_of(files: dict[str, str]) -> dict[str, str]:
    """``{quadlet file: service unit name}``, as Quadlet names them."""
    return {name: f"{service_name(UnitFile.from_string(text, name))}.service"
            for name, text in files.items()}


def write_quadlets(folder: Path, files: dict[str, str], *, force: bool) -> None:
    for name in files:
        if not QUADLET_NAME.fullmatch(name) or name.startswith("."):
            raise InvalidParams(f"Quadlet file name {name!r}: not a Quadlet unit file name")
    # All files are checked before any is written, as for units.
    for name in files:
        target = folder / name
        if target.exists() and not force and MARKER not in target.read_text(errors="replace"):
            raise Conflict(f"{target} exists and was not written by podbridge "
                           "(use force to overwrite it)")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        write_atomic(folder / name, f"{MARKER}\n{text}")


def convert_with_ours(files: dict[str, str]) -> dict[str, str]:
    """podbridge's Quadlet generator over just ``files``: ``{service file: text}``."""
    with tempfile.TemporaryDirectory(prefix="podbridge-quadlet-") as tmp:
        src, out = Path(tmp) / "in", Path(tmp) / "out"
        src.mkdir()
        for name, text in files.items():
            (src / name).write_text(text)
        ok = run_generator(Options(outdir=str(out), argv0="podbridge quadlet"),
                           {**os.environ, "QUADLET_UNIT_DIRS": str(src)})
        services = {p.name: p.read_text() for p in out.glob("*.service") if p.is_file()}
    if not ok or not services:
        raise InvalidParams("podbridge's Quadlet generator could not convert "
                            f"{', '.join(files)} (see the bridge's log)")
    return services


async def made_by_a_generator(systemd: SystemdClient, service: str) -> bool:
    props = await systemd.unit_properties(service)
    fragment = str(props.get("FragmentPath") or "")
    return props.get("LoadState") == "loaded" and bool(GENERATOR_FOLDER.search(fragment))


async def install_quadlet(systemd: SystemdClient, quadlet_dir: Path, unit_dir: Path,
                          files: dict[str, str], *, enable: bool, start: bool, force: bool,
                          ) -> tuple[list[InstallResult], str]:
    """Install ``files``; returns the results (one per service) and who generated the
    services: ``host`` (the host's Quadlet generator) or ``podbridge``."""
    if enable:
        files = {name: with_install(text) for name, text in files.items()}
    services = services_of(files)
    write_quadlets(quadlet_dir, files, force=force)
    await systemd.reload()
    made = [await made_by_a_generator(systemd, s) for s in services.values()]
    results: list[InstallResult] = []
    if all(made):
        generator = "host"
        for name, service in services.items():
            results.append(InstallResult(service, str(quadlet_dir / name), enable, None))
    else:
        generator = "podbridge"
        logger.info("no Quadlet generator on the host made %s: converting with podbridge's",
                    ", ".join(s for s, m in zip(services.values(), made, strict=True)
                              if not m))
        units = await asyncio.to_thread(convert_with_ours, files)
        write_units(unit_dir, units, force=force)
        await systemd.reload()
        for service in units:
            if enable:
                await systemd.enable_unit_files([service], runtime=False, force=True)
            results.append(InstallResult(service, str(unit_dir / service), enable, None))
    if start:
        # A pod's service first (its members follow), else the one container's.
        first = next((s for n, s in services.items() if n.endswith(".pod")),
                     next(iter(services.values())))
        result = await systemd.run_job("start", first, timeout=JOB_TIMEOUT)
        for r in results:
            if r.unit == first:
                r.job_result = result
        results.sort(key=lambda r: r.unit != first)
    return results, generator
