"""Settings: one pydantic-settings model, read from a TOML file, ``PODBRIDGE_*`` env and flags.

Precedence, highest first: command-line flags, ``PODBRIDGE_*`` environment variables, the
TOML file (``--config``, else ``$XDG_CONFIG_HOME/podbridge/podbridge.toml`` for a user,
``/etc/podbridge/podbridge.toml`` for root), defaults. Podman is found by podman-remote's
conventions (``--url``, ``CONTAINER_HOST``, then the rootful or rootless socket).
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_PORT = 9090

# The --config file, when one is given (else $PODBRIDGE_CONFIG, else the default path).
config_file_var: ContextVar[str | None] = ContextVar("podbridge_config_file", default=None)


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


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODBRIDGE_", extra="forbid",
                                      env_nested_delimiter="__")

    listen: str = "127.0.0.1:9090"
    url: str | None = Field(default=None, description="Podman API URL (unix:///path)")
    systemd: Literal["system", "user"] = Field(
        default_factory=lambda: "system" if is_root() else "user")
    state_dir: Path = Field(default_factory=default_state_dir)
    token_file: Path | None = None
    unit_dir: Path | None = None
    panel_dir: Path | None = None
    allowed_origins: list[str] = Field(default_factory=list)
    ring_size: int = Field(default=10_000, ge=1)
    client_queue: int = Field(default=2_000, ge=1)
    start_podman_service: bool = True
    # Root only: also serve every user with a running user manager (bridge.owners).
    rootless: bool = True
    user_runtime_root: Path = Path("/run/user")
    log_level: str = "info"
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, v: str) -> str:
        parse_listen(v)
        return v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = (config_file_var.get() or os.environ.get("PODBRIDGE_CONFIG")
                or str(default_config_file()))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, path))

    @property
    def listen_address(self) -> tuple[str, int]:
        return parse_listen(self.listen)

    @property
    def podman_url(self) -> str | None:
        return self.url or default_podman_url()

    @property
    def token_path(self) -> Path:
        return self.token_file or self.state_dir / "token"

    @property
    def unit_path(self) -> Path:
        return self.unit_dir or default_unit_dir(self.systemd)

    def plugin_config(self, name: str) -> dict[str, Any]:
        return dict(self.plugins.get(name, {}))


def load_settings(config_file: str | None = None, **flags: Any) -> Settings:
    """Settings from the file, env and the flags given (``None`` flags are ignored)."""
    token = config_file_var.set(config_file)
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    finally:
        config_file_var.reset(token)
