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
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

# The plain helpers live in bridge.paths (no pydantic: quick to import for client commands).
from bridge.fleet.settings import FleetSettings
from bridge.paths import (  # noqa: F401
    DEFAULT_LISTEN,
    DEFAULT_PORT,
    default_config_file,
    default_podman_url,
    default_state_dir,
    default_unit_dir,
    is_root,
    parse_listen,
)

# The --config file, when one is given (else $PODBRIDGE_CONFIG, else the default path).
config_file_var: ContextVar[str | None] = ContextVar("podbridge_config_file", default=None)


class _EnvSource(EnvSettingsSource):
    """``PODBRIDGE_*`` variables; ``PODBRIDGE_FLEET=nats://a,nats://b`` (the variable the
    fleet commands read too) is the fleet's servers, not a JSON object."""

    def prepare_field_value(self, field_name: str, field: Any, value: Any,
                            value_is_complex: bool) -> Any:
        if field_name == "fleet" and isinstance(value, str) and not value.lstrip().startswith(
                "{"):
            nested = self.explode_env_vars(field_name, field, {
                k: v for k, v in self.env_vars.items() if k != f"{self.env_prefix}fleet"})
            return {**nested, "servers": value}
        return super().prepare_field_value(field_name, field, value, value_is_complex)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODBRIDGE_", extra="forbid",
                                      env_nested_delimiter="__")

    listen: str = DEFAULT_LISTEN
    socket_group: str | None = Field(
        default=None, description="with listen = unix:/PATH, the group that may connect "
        "(the socket is then 0660, else 0600)")
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
    # Where the users' home folders (as their user managers name them) are seen from:
    # "/" on a host; a test world's root folder for a bridge outside the world.
    user_fs_root: Path = Path("/")
    log_level: str = "info"
    plugins: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # [fleet]: NATS JetStream (docs/fleet.md); PODBRIDGE_FLEET sets its servers
    fleet: FleetSettings = Field(default_factory=FleetSettings)
    # Trust (docs/security.md)
    tokens_file: Path | None = Field(default=None, description="named tokens with roles "
                                     "(default: tokens.json beside the token file)")
    session_idle_timeout: float = Field(default=900.0, gt=0,
                                        description="seconds without activity")
    session_max_age: float = Field(default=86_400.0, gt=0,
                                   description="seconds from login, however active")
    login_attempts: int = Field(default=10, ge=1, description="failed logins per client ...")
    login_window: float = Field(default=60.0, gt=0, description="... within these seconds")
    cert: Path | None = Field(default=None, description="TLS certificate (PEM)")
    key: Path | None = Field(default=None, description="TLS private key (PEM)")
    tls: bool = Field(default=False, description="TLS with a self-signed certificate made "
                      "in the state folder (when no cert is given)")
    insecure_plain_http: bool = Field(default=False, description="allow plain HTTP on a "
                                      "non-loopback address")
    journalctl: list[str] = Field(default_factory=lambda: ["journalctl"], min_length=1,
                                  description="the command units.journal runs to read the "
                                  "journal (a prefix such as nsenter ... may reach another "
                                  "root's)")
    audit_max_entries: int = Field(default=100_000, ge=1)
    audit_max_age_days: float = Field(default=90.0, gt=0)

    @field_validator("listen")
    @classmethod
    def _check_listen(cls, v: str) -> str:
        if not v.startswith("unix:"):
            parse_listen(v)
        elif not v[len("unix:"):].startswith("/"):
            raise ValueError(f"{v}: the socket's path must be absolute "
                             f"(unix:/run/podbridge/podbridge.sock)")
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
        return (init_settings, _EnvSource(settings_cls), TomlConfigSettingsSource(settings_cls,
                                                                                 path))

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
    def tokens_path(self) -> Path:
        return self.tokens_file or self.token_path.with_name("tokens.json")

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
