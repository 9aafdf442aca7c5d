"""Unit generator: ``podman generate systemd`` semantics, Quadlet files, install and reload."""
