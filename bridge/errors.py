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
    "failed",
    "internal-error",
]

# Filled by __init_subclass__: the class that declares each code (for a BridgeError made
# with a code, and for the status it answers with).
_BY_CODE: dict[str, type[BridgeError]] = {}


class BridgeError(Exception):
    """An error with a code from the fixed vocabulary and a message for humans."""

    code: ErrorCode = "failed"
    http_status: ClassVar[int] = 502

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The first class to name a code with its own status declares it; subclasses that
        # only specialise (PodmanError, StoreFull) do not.
        if "code" in cls.__dict__ and cls.code not in _BY_CODE:
            _BY_CODE[cls.code] = cls

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


class ProtocolError(BridgeError):
    """A message that cannot be understood; ``msg_id`` is its id when it had a usable one."""

    code: ErrorCode = "protocol-error"
    http_status = 400

    def __init__(self, message: str, msg_id: int | None = None) -> None:
        super().__init__(message)
        self.msg_id = msg_id


class InvalidParams(BridgeError):
    code: ErrorCode = "invalid-params"
    http_status = 400


class NotFound(BridgeError):
    code: ErrorCode = "not-found"
    http_status = 404


class UnknownMethod(BridgeError):
    code: ErrorCode = "unknown-method"
    http_status = 404


class AccessDenied(BridgeError):
    code: ErrorCode = "access-denied"
    http_status = 403


class NotSupported(BridgeError):
    code: ErrorCode = "not-supported"
    http_status = 501


class Conflict(BridgeError):
    code: ErrorCode = "conflict"
    http_status = 409


class Timeout(BridgeError):
    code: ErrorCode = "timeout"
    http_status = 504


class InternalError(BridgeError):
    """A bug or an unforeseen failure: the client gets its type and text, the log keeps
    the traceback (``__cause__`` is the original exception)."""

    code: ErrorCode = "internal-error"
    http_status = 500


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
