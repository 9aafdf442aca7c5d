"""The one error type of the unit generator."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class GenerateError(ValueError):
    """A unit cannot be generated: bad options, bad input, or something a unit cannot express.

    The message is meant for the user as is (it names the field or flag at fault). ``code``
    is one of the bridge's error codes: ``invalid-params`` for options and inputs the user
    can fix, ``not-found`` for a missing container or pod, ``not-supported`` for what Podman
    refuses as well.
    """

    def __init__(self, message: str, *, code: str = "invalid-params") -> None:
        super().__init__(message)
        self.code = code
