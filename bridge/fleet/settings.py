"""The ``[fleet]`` section of the settings (docs/fleet.md): no NATS imported here."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from bridge.roles import Role

NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")


def default_host() -> str:
    """The machine's short host name, made a valid fleet name (dots and others to '-')."""
    short = socket.gethostname().split(".", 1)[0] or "host"
    return re.sub(r"[^A-Za-z0-9_-]", "-", short)[:64]


def check_name(what: str, value: str) -> str:
    if not NAME_RE.match(value):
        raise ValueError(f"{what} {value!r}: use 1 to 64 of A-Z a-z 0-9 _ - (it is a NATS "
                         "subject token and part of stream and bucket names)")
    return value


def _split(v: object) -> object:
    # PODBRIDGE_FLEET / --fleet: "nats://a:4222,nats://b:4222"
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    return v


def _check_servers(v: list[str]) -> list[str]:
    for url in v:
        if not re.match(r"(nats|tls|ws|wss)://", url):
            raise ValueError(f"{url!r}: a NATS URL starts with nats:// or tls://")
    return v


class FleetSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    servers: Annotated[list[str], BeforeValidator(_split), AfterValidator(_check_servers)] = (
        Field(default_factory=list, description="NATS URLs; none: no fleet"))
    host: Annotated[str, AfterValidator(lambda v: check_name("host", v))] = Field(
        default_factory=default_host)
    name: Annotated[str, AfterValidator(lambda v: check_name("fleet name", v))] = "default"
    user: str | None = None
    password: str | None = None
    token: str | None = None
    nkey_seed_file: Path | None = None
    creds_file: Path | None = None
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    watch: bool = True
    heartbeat_interval: float = Field(default=5.0, gt=0)
    offline_after: float = Field(default=15.0, gt=0)
    call_role: Role = "admin"
    call_timeout: float = Field(default=30.0, gt=0)
    stream_max_age: float = Field(default=7 * 86400.0, gt=0)
    stream_max_bytes: int = Field(default=1 << 30, gt=0)
    replicas: int = Field(default=3, ge=1, le=5)
    outbox_max: int = Field(default=100_000, ge=1)
    watch_ring: int = Field(default=10_000, ge=1)

    @model_validator(mode="after")
    def _one_credential(self) -> FleetSettings:
        given = [k for k, v in (("user/password", self.user or self.password),
                                ("token", self.token), ("nkey_seed_file", self.nkey_seed_file),
                                ("creds_file", self.creds_file)) if v]
        if len(given) > 1:
            raise ValueError(f"give one NATS credential, not {' and '.join(given)}")
        if bool(self.user) != bool(self.password):
            raise ValueError("user and password go together")
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together")
        return self

    @property
    def joined(self) -> bool:
        return bool(self.servers)

    # -- names (docs/fleet.md)
    @property
    def stream(self) -> str:
        return f"podbridge-{self.name}-events"

    @property
    def event_prefix(self) -> str:
        return f"podbridge.{self.name}.evt"

    def event_subject(self, host: str, topic: str) -> str:
        return f"podbridge.{self.name}.evt.{host}.{topic}"

    def rpc_subject(self, host: str) -> str:
        return f"podbridge.{self.name}.rpc.{host}"

    def bucket(self, name: str) -> str:
        return f"podbridge-{self.name}-{name}"
