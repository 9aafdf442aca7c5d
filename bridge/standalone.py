"""Clients for a CLI subcommand that works without a running bridge (``podbridge generate``,
``podbridge auto-update``): the same Podman socket and systemd bus the bridge would use."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bridge.config import Settings, load_settings
from bridge.errors import BridgeError
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient


@dataclass
class Clients:
    settings: Settings
    podman: PodmanClient
    systemd: SystemdClient | None


def add_connection_flags(p: argparse.ArgumentParser) -> None:
    """The flags every standalone subcommand shares with ``podbridge serve``."""
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--url", help="Podman API URL (default: $CONTAINER_HOST, then the "
                   "rootful or rootless socket)")
    p.add_argument("--systemd", choices=("system", "user"), help="which systemd manager")


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None), url=getattr(args, "url", None),
                         systemd=getattr(args, "systemd", None))


@asynccontextmanager
async def open_clients(settings: Settings, *, systemd: bool = True
                       ) -> AsyncIterator[Clients]:
    podman = PodmanClient(settings.podman_url or "unix:///run/podman/podman.sock")
    sd: SystemdClient | None = None
    try:
        if not await podman.ping(timeout=5):
            raise BridgeError(f"no Podman answers at {podman.url}", "failed")
        if systemd:
            sd = SystemdClient(settings.systemd)
            await sd.connect()
            await sd.subscribe()
        yield Clients(settings, podman, sd)
    finally:
        if sd is not None:
            sd.close()
        await podman.close()
