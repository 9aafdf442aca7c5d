"""The small, fixed vocabulary of errors that reach clients (Cockpit's problem codes), and
the one mapping from any exception to what the websocket and REST send.

Each code has one class, which carries the code and its HTTP status. ``BridgeError(msg,
code)`` still works (and clients of the bridge raise it with the code the wire gave them):
the instance then answers with the status of the class its code belongs to.
"""

from __future__ import annotations

import logging
from typing import ClassVar, Literal

logger = logging.getLogger(__name__)

ErrorCode = Literal[
    "protocol-error",
    "invalid-params",
    "not-found",
    "unknown-method",
    "access-denied",
    "not-supported",
    "conflict",
    "timeout",
    "unreachable",
    "failed",
    "internal-error",
]

# Filled by __init_subclass__: the class that declares each code (for a BridgeError made
# with a code, and for the status it answers with).
_BY_CODE: dict[str, type[BridgeError]] = {}


class BridgeError(Exception):
    """An error with a code from the fixed vocabulary and a message for humans.

    A subclass that declares a code says so in its bases, with the HTTP status of that
    code: ``class NotFound(BridgeError, code="not-found", http_status=404)``."""

    code: ErrorCode = "failed"
    http_status: ClassVar[int] = 502

    def __init_subclass__(cls, code: ErrorCode | None = None, http_status: int | None = None,
                          **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None and http_status is not None:
            cls.code, cls.http_status = code, http_status
            _BY_CODE.setdefault(code, cls)

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status REST answers this error with: that of the class of its code."""
        return _BY_CODE.get(self.code, type(self)).http_status

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


_BY_CODE["failed"] = BridgeError


class ProtocolError(BridgeError, code="protocol-error", http_status=400):
    """A message that cannot be understood; ``msg_id`` is its id when it had a usable one."""

    def __init__(self, message: str, msg_id: int | None = None) -> None:
        super().__init__(message)
        self.msg_id = msg_id


class InvalidParams(BridgeError, code="invalid-params", http_status=400):
    """Params (or a label, a config value) that do not validate."""


class NotFound(BridgeError, code="not-found", http_status=404):
    """No such container, unit, subscription, ..."""


class UnknownMethod(BridgeError, code="unknown-method", http_status=404):
    """No method of that name is registered."""


class AccessDenied(BridgeError, code="access-denied", http_status=403):
    """The caller's role is too low, or its credentials are not good."""


class NotSupported(BridgeError, code="not-supported", http_status=501):
    """This Podman, systemd or host cannot do it."""


class Conflict(BridgeError, code="conflict", http_status=409):
    """It is already being done, or the state forbids it now."""


class Timeout(BridgeError, code="timeout", http_status=504):
    """A peer (Podman, systemd, a registry) did not answer in time."""


class Unreachable(BridgeError, code="unreachable", http_status=503):
    """A peer that is gone or cannot be reached now (a fleet host, NATS)."""


class InternalError(BridgeError, code="internal-error", http_status=500):
    """A bug or an unforeseen failure: the client gets its type and text, the log keeps
    the traceback (``__cause__`` is the original exception)."""


def as_bridge_error(exc: BaseException) -> BridgeError:
    """What a client is sent for ``exc``: a ``BridgeError`` as it is, anything else an
    ``internal-error`` naming its type (``__cause__`` is the original)."""
    if isinstance(exc, BridgeError):
        return exc
    wrapped = InternalError(f"{type(exc).__name__}: {exc}")
    wrapped.__cause__ = exc
    return wrapped


def to_bridge_error(exc: BaseException, context: str) -> BridgeError:
    """The one mapping from an exception a handler raised to what the websocket and REST
    send: ``as_bridge_error``, and the cause of an ``internal-error``, with its traceback,
    logged under ``context`` (e.g. the method's name)."""
    if not isinstance(exc, BridgeError):
        logger.error("%s failed", context, exc_info=exc)
    return as_bridge_error(exc)
