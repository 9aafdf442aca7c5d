"""skopeo's stderr read into our reasons: the words of containers/image kept for Podman-style
output, our short reason for the user."""

from __future__ import annotations

from plugins.auto_update.reference import parse_reference
from plugins.auto_update.skopeo import error_from

REF = parse_reference("127.0.0.1:40429/podbridge/app:latest")


def reason(error: str) -> str:
    """Our reason for skopeo's fatal error reading the manifest of REF."""
    exc = error_from(f'time="2026-11-29T11:00:00Z" level=fatal msg="Error reading manifest '
                     f'latest in 127.0.0.1:40429/podbridge/app: {error}"\n', REF, "the manifest")
    return str(exc)


def test_a_port_with_429_in_it_is_not_rate_limiting() -> None:
    text = reason("received unexpected HTTP status: 500 Internal Server Error")
    assert "rate-limiting" not in text and "500" in text


def test_too_many_requests_is_rate_limiting() -> None:
    assert "rate-limiting us (429)" in reason("toomanyrequests: slow down")


def test_a_deadline_is_a_timeout() -> None:
    assert reason("context deadline exceeded").startswith(
        "timeout: registry 127.0.0.1:40429 did not answer")


def test_unknown_manifest_is_not_found() -> None:
    assert "not found" in reason("manifest unknown")
