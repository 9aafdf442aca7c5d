"""TLS for the bridge: a certificate given with ``--cert``/``--key``, or a self-signed one
made on first start in the state folder (as cockpit-ws makes ``0-self-signed.cert``).
Plain HTTP is for loopback only, unless ``--insecure-plain-http`` says otherwise."""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

SELF_SIGNED_DAYS = 365


class TLSConfigError(ValueError):
    pass


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def self_signed(state_dir: Path) -> tuple[Path, Path]:
    """The self-signed certificate and key of this state folder, made (openssl) when
    missing; the key is 0600."""
    folder = state_dir / "tls"
    cert, key = folder / "self-signed.crt", folder / "self-signed.key"
    if cert.is_file() and key.is_file():
        return cert, key
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = socket.gethostname() or "localhost"
    san = f"subjectAltName=DNS:{name},DNS:localhost,IP:127.0.0.1,IP:::1"
    tmp_key = key.with_suffix(".key.tmp")
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(tmp_key),
             "-out", str(cert), "-days", str(SELF_SIGNED_DAYS), "-subj",
             f"/O=podbridge/CN={name}", "-addext", san],
            check=True, capture_output=True, timeout=60)
    except FileNotFoundError:
        raise TLSConfigError("openssl is needed to make a self-signed certificate: "
                             "install it or give --cert and --key") from None
    except subprocess.CalledProcessError as exc:
        raise TLSConfigError("openssl could not make a certificate: "
                             f"{exc.stderr.decode(errors='replace').strip()}") from None
    tmp_key.chmod(0o600)
    tmp_key.replace(key)
    logger.info("made a self-signed certificate %s", cert)
    return cert, key


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(str(cert), str(key))
    except (OSError, ssl.SSLError) as exc:
        raise TLSConfigError(f"cannot load the certificate {cert} / key {key}: {exc}") from None
    return ctx


def choose(host: str, *, cert: Path | None, key: Path | None, self_signed_tls: bool,
           insecure_plain_http: bool, state_dir: Path) -> ssl.SSLContext | None:
    """The TLS context to listen with (None: plain HTTP), or a TLSConfigError saying why
    this cannot be served."""
    if (cert is None) != (key is None):
        raise TLSConfigError("--cert and --key go together")
    if cert is not None and key is not None:
        return server_context(cert, key)
    if self_signed_tls:
        return server_context(*self_signed(state_dir))
    if is_loopback(host) or insecure_plain_http:
        if not is_loopback(host):
            logger.warning("serving plain HTTP on %s: tokens and cookies cross the network "
                           "in the clear (--insecure-plain-http)", host)
        return None
    raise TLSConfigError(
        f"refusing to listen on {host} without TLS: give --cert and --key, or --tls for a "
        "self-signed certificate, or --insecure-plain-http (e.g. behind a TLS proxy on "
        "the same host)")
