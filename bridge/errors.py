"""The small, fixed vocabulary of errors that reach clients (Cockpit's problem codes)."""

from __future__ import annotations

from typing import Literal

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


class BridgeError(Exception):
    """An error with a code from the fixed vocabulary and a message for humans."""

    code: ErrorCode = "failed"

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class NotFound(BridgeError):
    code: ErrorCode = "not-found"


class InvalidParams(BridgeError):
    code: ErrorCode = "invalid-params"


class Conflict(BridgeError):
    code: ErrorCode = "conflict"


class Timeout(BridgeError):
    code: ErrorCode = "timeout"
