"""Every option of ``podman generate systemd`` as one validated model.

The defaults and the rules are Podman 4.3.1's (``cmd/podman/generate/systemd.go``):

- ``restart_policy`` is ``None`` unless given; only an explicit policy overrides the one
  taken from the container's create command (``--restart``).
- ``template`` implies ``new``; ``new=False`` given explicitly together with ``template`` is
  an error. Templates are refused for pods (checked when a pod is rendered).
- ``stop_timeout`` and its hidden alias ``time`` (``-t``) cannot both be set.
- ``restart_sec``/``start_timeout``/``stop_timeout`` are unsigned integers; ``None`` means
  "not given".
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import GenerateError

logger = logging.getLogger(__name__)

RESTART_POLICIES: tuple[str, ...] = (
    "no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort", "always",
)
DEFAULT_RESTART_POLICY = "on-failure"
JSON_FORMATS = ("json", "{{json .}}")


def validate_restart_policy(policy: str) -> str:
    """Return ``policy`` if systemd's ``Restart=`` accepts it, else raise GenerateError."""
    if policy not in RESTART_POLICIES:
        raise GenerateError(f"{policy} is not a valid restart policy")
    return policy


class UnitOptions(BaseModel):
    """What the units look like: the flags ``podman generate systemd`` shares with the
    ``units.generate`` method."""

    model_config = ConfigDict(extra="forbid")

    new: bool | None = Field(None, description="podman run instead of start; None = not given")
    restart_policy: str | None = Field(None, description="Restart=; None = not given")
    restart_sec: int | None = Field(None, ge=0)
    start_timeout: int | None = Field(None, ge=0)
    stop_timeout: int | None = Field(None, ge=0)
    container_prefix: str = "container"
    pod_prefix: str = "pod"
    separator: str = "-"
    no_header: bool = False
    after: list[str] = Field(default_factory=list)
    wants: list[str] = Field(default_factory=list)
    requires: list[str] = Field(default_factory=list)
    env: list[str] = Field(default_factory=list, description="-e KEY=VALUE, KEY or PREFIX*")
    template: bool = False


class GenerateOptions(UnitOptions):
    """The flags of ``podman generate systemd`` (and the REST ``/generate/{name}/systemd``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: bool = Field(False, description="use names instead of IDs (-n/--name)")
    files: bool = Field(False, description="write ./<unit>.service files, print paths (-f)")
    format: str = Field("", description='"" (plain) or "json"')
    time: int | None = Field(None, ge=0, description="hidden alias of stop_timeout (-t)")

    @field_validator("restart_policy")
    @classmethod
    def _policy(cls, value: str | None) -> str | None:
        return None if value is None else validate_restart_policy(value)

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value not in ("", *JSON_FORMATS):
            raise ValueError(f"unknown --format argument: {value}")
        return value

    @field_validator("env")
    @classmethod
    def _env(cls, values: list[str]) -> list[str]:
        for value in values:
            if value.split("=", 1)[0] == "":
                raise ValueError(
                    f'parsing environment variables: invalid environment variable: "{value}"'
                )
        return values

    @model_validator(mode="after")
    def _combinations(self) -> GenerateOptions:
        if self.template and self.new is False:
            raise ValueError("--template cannot be set with --new=false")
        if self.stop_timeout is not None and self.time is not None:
            raise ValueError("stop-timeout and time are redundant and cannot be used together")
        for field in ("container_prefix", "pod_prefix", "separator", "after", "wants", "requires"):
            value = getattr(self, field)
            for item in value if isinstance(value, list) else [value]:
                if any(c in item for c in "\n\r\x00"):
                    raise ValueError(f"{field}: {item!r} contains a line break or NUL, "
                                     "which a systemd unit cannot express")
        return self

    @classmethod
    def build(cls, **kwargs: object) -> GenerateOptions:
        """Construct and validate, turning pydantic's error into a GenerateError."""
        try:
            return cls.model_validate(kwargs)
        except ValidationError as exc:
            found = ((".".join(str(p) for p in err["loc"]),
                      str(err["msg"]).removeprefix("Value error, ")) for err in exc.errors())
            raise GenerateError("; ".join(f"{loc}: {msg}" if loc else msg
                                          for loc, msg in found)) from None

    # -- effective values ---------------------------------------------------------------

    @property
    def is_new(self) -> bool:
        """``--new``, which ``--template`` implies."""
        return bool(self.new) or self.template

    @property
    def effective_stop_timeout(self) -> int | None:
        """The stop timeout given by ``--stop-timeout`` or ``-t/--time``; None if neither."""
        return self.stop_timeout if self.stop_timeout is not None else self.time

    def additional_env(self, environ: Mapping[str, str] | None = None) -> list[str]:
        """The ``--env`` entries as Podman puts them in the unit (``pkg/env``):

        ``KEY=VALUE`` as given; ``KEY`` takes its value from ``environ`` (the caller's
        environment; dropped when unset); ``PREFIX*`` takes every variable of ``environ``
        starting with PREFIX. A later entry overrides an earlier one with the same key. An
        empty value is written as the bare key (Podman's ``env.Slice``). Podman prints them
        in Go map order (random); we keep the order of first appearance.
        """
        environ = environ or {}
        result: dict[str, str] = {}
        for entry in self.env:
            key, sep, value = entry.partition("=")
            key = key.lstrip(" \t")
            if sep:
                result[key] = value
            elif key.endswith("*"):
                prefix = key[:-1]
                for name, val in environ.items():
                    if name.startswith(prefix):
                        result[name] = val
            elif key in environ:
                result[key] = environ[key]
        return [f"{k}={v}" if v else k for k, v in result.items()]
