"""podbridge: a Cockpit-style backend for Podman and systemd."""

__version__ = "0.1.0"
