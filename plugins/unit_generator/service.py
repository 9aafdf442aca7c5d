"""The unit generator's I/O: inspect through the API, render, install.

Shared by the plugin's methods and the ``podbridge generate`` subcommand, so both give the
same units for the same container.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from bridge.errors import NotFound
from bridge.podman import PodmanClient

from .context import RenderContext
from .errors import GenerateError
from .options import GenerateOptions
from .quadlet_export import export
from .render import render_with_warnings, unit_file_name

logger = logging.getLogger(__name__)

# What Podman 5 prints (stderr) after `podman generate systemd`'s units.
DEPRECATED = ("DEPRECATED command:\nIt is recommended to use Quadlets for running containers "
              "and pods under systemd.\n\nPlease refer to podman-systemd.unit(5) for details.")


async def gather(podman: PodmanClient, target: str
                 ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, list[dict[str, Any]]]:
    """(container inspect, pod inspect, member inspects) for a container or pod name/ID.

    Like ``podman generate systemd``, a container of that name wins over a pod."""
    try:
        return await podman.inspect_container(target), None, []
    except NotFound:
        pass
    try:
        pod = await podman.inspect_pod(target)
    except NotFound:
        raise NotFound(f"{target} does not refer to a container or pod: no such pod or "
                       "container") from None
    ids = [c.get("Id") for c in pod.get("Containers") or [] if c.get("Id")]
    members = await asyncio.gather(*(podman.inspect_container(cid) for cid in ids))
    return None, pod, list(members)


async def render_context(podman: PodmanClient) -> RenderContext:
    """This Podman's facts; the header's timestamp is the context's default: now."""
    version = await podman.version()
    info: dict[str, Any] = await podman.request("GET", "/info", what="podman info")
    store = info.get("store") or {}
    return RenderContext(
        podman_version=str(version.get("Version") or "unknown"),
        run_root=store.get("runRoot") or None,
        environ=dict(os.environ),
    )


async def generate(podman: PodmanClient, target: str, fmt: str, opts: GenerateOptions
                   ) -> tuple[dict[str, str], list[str]]:
    """``{file name: text}`` and warnings: systemd units or Quadlet files."""
    container, pod, members = await gather(podman, target)
    if fmt == "quadlet":
        exported = export(container, pod, members)
        return exported.files, exported.warnings
    if fmt != "systemd":
        raise GenerateError(f"unknown format {fmt!r}: systemd or quadlet")
    ctx = await render_context(podman)
    result = render_with_warnings(container, pod, members, opts, ctx=ctx)
    files = {unit_file_name(service, opts): text for service, text in result.units.items()}
    warnings = list(result.warnings)
    if ctx.compat.generate_systemd_deprecated:
        warnings.append(DEPRECATED)
    return files, warnings
