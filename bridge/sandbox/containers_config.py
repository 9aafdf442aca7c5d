"""The world's own /etc/containers: the settings that make Podman work on these machines.

runc (crun refuses hybrid cgroups), cgroupfs, the file events logger and k8s-file logs
(there is no journald), no default ulimits (they cannot be raised here), a graph root in
the world's folder, and the world's registry marked insecure.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

logger = logging.getLogger(__name__)

CONTAINERS_CONF = """\
# podbridge test world
[containers]
default_ulimits = []
log_driver = "k8s-file"

[network]
# Not CNI (Debian's default while /etc/cni/net.d has a config): CNI keeps its state in
# the machine's /var/lib/cni; netavark keeps it under /run, which is the world's.
network_backend = "netavark"
default_network = "{network}"

[engine]
runtime = "runc"
events_logger = "file"
cgroup_manager = "cgroupfs"
"""

STORAGE_CONF = """\
# podbridge test world
[storage]
driver = "overlay"
graphroot = "{graphroot}"
runroot = "/run/containers/storage"
"""

REGISTRIES_CONF = """\
# podbridge test world: only its own registry, over plain HTTP
unqualified-search-registries = []
short-name-mode = "permissive"

[[registry]]
location = "{registry}"
insecure = true
"""

POLICY = {"default": [{"type": "insecureAcceptAnything"}]}


def write_containers_config(etc: Path, graphroot: Path, registry: str, network: str) -> None:
    """Fill ``etc`` (bound over /etc/containers inside the world)."""
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "networks").mkdir(exist_ok=True)
    (etc / "containers.conf").write_text(CONTAINERS_CONF.format(network=network))
    (etc / "storage.conf").write_text(STORAGE_CONF.format(graphroot=graphroot))
    (etc / "registries.conf").write_text(REGISTRIES_CONF.format(registry=registry))
    (etc / "policy.json").write_text(json.dumps(POLICY, indent=2) + "\n")
    logger.debug("wrote %s (registry %s, network %s)", etc, registry, network)
