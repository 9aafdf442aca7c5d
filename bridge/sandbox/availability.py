"""Can this machine host a test world? One clear reason when it cannot."""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from pathlib import Path

logger = logging.getLogger(__name__)

NEEDED = {
    "unshare": "util-linux", "nsenter": "util-linux", "busctl": "systemd",
    "podman": "podman", "runc": "runc", "docker-registry": "docker-registry",
    "dbus-daemon": "dbus", "iptables": "iptables",
}


@functools.cache
def unavailable_reason() -> str | None:
    """None when a world can boot here, else why not (for ``pytest.skip``)."""
    if os.geteuid() != 0:
        return "the test world needs root (systemd as PID 1 of new namespaces)"
    missing = sorted({pkg for cmd, pkg in NEEDED.items() if shutil.which(cmd) is None})
    if not Path("/lib/systemd/systemd").exists():
        missing.append("systemd")
    if not Path("/bin/busybox").exists():
        missing.append("busybox-static")
    if missing:
        return f"the test world needs these Debian packages: {' '.join(missing)}"
    if not Path("/sys/fs/cgroup").is_dir():
        return "the test world needs cgroups mounted under /sys/fs/cgroup"
    try:
        done = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount", "--propagation", "private",
             "--mount-proc", "--cgroup", "--uts", "true"],
            capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare of pid/mount/cgroup/uts namespaces failed here: {exc}"
    if done.returncode != 0:
        return ("unshare of pid/mount/cgroup/uts namespaces is refused here: "
                f"{done.stderr.strip() or done.returncode}")
    return None
