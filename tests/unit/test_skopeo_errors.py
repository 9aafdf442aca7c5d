"""skopeo's stderr read into our reasons: the words of containers/image kept for Podman-style
output, our short reason for the user."""

from __future__ import annotations

from plugins.auto_update.reference import parse_reference
from plugins.auto_update.skopeo import error_from

REF = parse_reference("127.0.0.1:40429/podbridge/app:latest")


def fatal(msg: str) -> str:
    return f'time="2026-11-29T11:00:00Z" level=fatal msg="{msg}"\n'


def test_a_port_with_429_in_it_is_not_rate_limiting() -> None:
    exc = error_from(fatal("Error reading manifest latest in 127.0.0.1:40429/podbridge/app: "
                           "received unexpected HTTP status: 500 Internal Server Error"),
                     REF, "the manifest")
    assert "rate-limiting" not in str(exc) and "500" in str(exc)


def test_too_many_requests_is_rate_limiting() -> None:
    exc = error_from(fatal("Error reading manifest latest in 127.0.0.1:40429/podbridge/app: "
                           "toomanyrequests: slow down"), REF, "the manifest")
    assert "rate-limiting us (429)" in str(exc)


def test_a_deadline_is_a_timeout() -> None:
    exc = error_from(fatal("Error reading manifest latest in 127.0.0.1:40429/podbridge/app: "
                           "context deadline exceeded"), REF, "the manifest")
    assert str(exc).startswith("timeout: registry 127.0.0.1:40429 did not answer")


def test_unknown_manifest_is_not_found() -> None:
    exc = error_from(fatal("Error reading manifest latest in 127.0.0.1:40429/podbridge/app: "
                           "manifest unknown"), REF, "the manifest")
    assert "not found" in str(exc)
