"""Where podbridge finds things by default: plain functions of the environment, without
pydantic, so that a client command can import them in a few milliseconds."""

from __future__ import annotations

import os
from pathlib import Path

# Not Cockpit's 9090: cockpit.socket holds that on every address of a host with Cockpit.
DEFAULT_PORT = 9180
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"


def is_root() -> bool:
    return os.geteuid() == 0


def default_config_file() -> Path:
    if is_root():
        return Path("/etc/podbridge/podbridge.toml")
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "podbridge" / "podbridge.toml"


def default_state_dir() -> Path:
    if is_root():
        return Path("/var/lib/podbridge")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "podbridge"


def default_podman_url() -> str | None:
    """podman-remote's order: CONTAINER_HOST, then the rootful or the rootless socket."""
    host = os.environ.get("CONTAINER_HOST")
    if host:
        return host
    if is_root():
        return "unix:///run/podman/podman.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return f"unix://{runtime}/podman/podman.sock"


def default_unit_dir(scope: str) -> Path:
    if scope == "user":
        base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(base) / "systemd" / "user"
    return Path("/etc/systemd/system")


def parse_listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, DEFAULT_PORT
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"--listen: port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise ValueError(f"--listen: port {number} is out of range")
    return host or "127.0.0.1", number
