"""The world's own /etc/containers: the settings that make Podman work on these machines.

The flavour's runtime (runc for 4.3.1: its crun refuses hybrid cgroups; crun, Debian 13's
default, works with Podman 5), cgroupfs, the events backend and log driver (the file
logger and k8s-file where there is no journald; Podman's defaults, journald, where there
is), no default ulimits (they cannot be raised here), a graph root in the world's folder,
and the world's registry marked insecure.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bridge.sandbox import flavours
from bridge.sandbox.flavours import Flavour

logger = logging.getLogger(__name__)

CONTAINERS_CONF = """\
# podbridge test world
[containers]
default_ulimits = []
{log_driver}
[network]
# Not CNI (Debian's default while /etc/cni/net.d has a config): CNI keeps its state in
# the machine's /var/lib/cni; netavark keeps it under /run, which is the world's.
network_backend = "netavark"
default_network = "{network}"
{firewall_driver}
[engine]
runtime = "{runtime}"
{events_logger}cgroup_manager = "cgroupfs"
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


def write_containers_config(etc: Path, graphroot: Path, registry: str, network: str, *,
                            flavour: Flavour | str | None = None) -> None:
    """Fill ``etc`` (bound over /etc/containers inside the world)."""
    flav = flavours.get(flavour)
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "networks").mkdir(exist_ok=True)
    # Where journald runs, Podman's own defaults (journald) are left alone, as on a host.
    (etc / "containers.conf").write_text(CONTAINERS_CONF.format(
        network=network, runtime=flav.runtime,
        log_driver="" if flav.journald else f'log_driver = "{flav.log_driver}"\n',
        events_logger="" if flav.journald else f'events_logger = "{flav.events_logger}"\n',
        firewall_driver=(f'firewall_driver = "{flav.firewall_driver}"\n'
                         if flav.firewall_driver else "")))
    (etc / "storage.conf").write_text(STORAGE_CONF.format(graphroot=graphroot))
    (etc / "registries.conf").write_text(REGISTRIES_CONF.format(registry=registry))
    (etc / "policy.json").write_text(json.dumps(POLICY, indent=2) + "\n")
    logger.debug("wrote %s (registry %s, network %s)", etc, registry, network)
