"""The world's container network: its own bridge and subnet, scrubbed from the host after.

The world shares the machine's network namespace (its registry and published ports are on
127.0.0.1), so Podman's default network (bridge ``podman0``, 10.88.0.0/16) would be shared
by every world, and two worlds would hand out the same addresses on one bridge. Each world
gets a network of its own, ``podbridge-UNIQUE`` (netavark names its iptables chains after
the network's *name*: a shared name would mean shared chains), with its own bridge and /24.

Netavark's bridge and iptables rules live in the machine's namespace and outlive a
SIGKILLed world, so teardown removes the bridge and every rule that names the world's
subnet or jumps to a chain that does.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import random
import re
import secrets
import shlex
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

logger = logging.getLogger(__name__)

NETWORK_PREFIX = "podbridge-"
_IP = re.compile(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d{1,2})?\b")
_NEUTRAL = [ipaddress.IPv4Network(n) for n in ("127.0.0.0/8", "224.0.0.0/4", "0.0.0.0/32")]


@dataclass(frozen=True)
class WorldNetwork:
    name: str
    interface: str
    subnet: str

    @property
    def gateway(self) -> str:
        return str(next(ipaddress.ip_network(self.subnet).hosts()))


def _routed_networks() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                         text=True, check=False).stdout
    found = []
    for line in out.splitlines():
        word = line.split()[0] if line.split() else ""
        if word in ("local", "broadcast"):
            word = line.split()[1]
        with contextlib.suppress(ValueError):
            found.append(ipaddress.ip_network(word, strict=False))
    return [n for n in found if isinstance(n, ipaddress.IPv4Network)]


def choose_network(unique: str) -> WorldNetwork:
    """A bridge name from ``unique`` and a random 10.x.y.0/24 no route on the host uses."""
    used = _routed_networks()
    rng = random.Random()
    for _ in range(100):
        subnet = ipaddress.ip_network(f"10.{rng.randint(100, 254)}.{rng.randint(0, 255)}.0/24")
        if not any(subnet.overlaps(n) for n in used if n.prefixlen > 0):
            tail = re.sub(r"[^0-9a-z]", "", unique)[-12:]
            return WorldNetwork(NETWORK_PREFIX + tail, "pb" + tail, str(subnet))
    raise RuntimeError("no free 10.x.y.0/24 subnet for the world's network")


def write_config(net: WorldNetwork, folder: Path) -> Path:
    """Write the network's netavark config into ``folder`` (/etc/containers/networks).

    Podman 4.3's `network create` cannot name the bridge, and picks ``podmanN`` by looking
    at live interfaces: two worlds booting at once would pick the same one.
    """
    config = {
        "name": net.name,
        "id": secrets.token_hex(32),
        "driver": "bridge",
        "network_interface": net.interface,
        "created": datetime.now(UTC).isoformat(),
        "subnets": [{"subnet": net.subnet, "gateway": net.gateway}],
        "ipv6_enabled": False,
        "internal": False,
        "dns_enabled": False,
        "ipam_options": {"driver": "host-local"},
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{net.name}.json"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


def _iptables(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["iptables", "-w", *args], capture_output=True, text=True,
                          check=False)


def _addresses(rule: str) -> list[ipaddress.IPv4Network]:
    nets = []
    for text in _IP.findall(rule):
        with contextlib.suppress(ValueError):
            net = ipaddress.ip_network(text, strict=False)
            if isinstance(net, ipaddress.IPv4Network) and not any(
                    net.subnet_of(n) for n in _NEUTRAL):
                nets.append(net)
    return nets


def _scrub_table(table: str, subnet: str) -> int:
    saved = iptables_save(table)
    if saved is None:
        return 0
    ours_net = ipaddress.IPv4Network(subnet, strict=False)
    rules = [line for line in saved.splitlines() if line.startswith("-A ")]
    chains = {line[1:].split()[0] for line in saved.splitlines() if line.startswith(":")}

    def mine(rule: str) -> bool:
        return any(n.subnet_of(ours_net) for n in _addresses(rule))

    def foreign(rule: str) -> bool:
        return any(not n.subnet_of(ours_net) for n in _addresses(rule))

    # The world's chains: netavark's per-network and port-mapping chains that name the
    # world's addresses and no one else's. Shared chains (HOSTPORT-*, FORWARD, a chain of
    # another world) only lose the rules that name the world's addresses.
    by_chain: dict[str, list[str]] = {}
    for rule in rules:
        by_chain.setdefault(rule.split()[1], []).append(rule)
    ours = {chain for chain, body in by_chain.items()
            if chain.startswith("NETAVARK-") and "HOSTPORT" not in chain
            and any(mine(r) for r in body) and not any(foreign(r) for r in body)}
    removed = 0
    for rule in rules:
        words = shlex.split(rule)
        target = words[words.index("-j") + 1] if "-j" in words else ""
        if (mine(rule) and not foreign(rule)) or target in ours:
            if words[1] in ours:
                continue  # goes with its chain
            if _iptables("-t", table, "-D", *words[1:]).returncode == 0:
                removed += 1
    for chain in ours & chains:
        _iptables("-t", table, "-F", chain)
        _iptables("-t", table, "-X", chain)
    return removed


def iptables_save(table: str) -> str | None:
    """``iptables-save -t TABLE``, or None when it fails."""
    try:
        done = subprocess.run(["iptables-save", "-t", table], capture_output=True,
                              text=True, check=False)
    except FileNotFoundError:
        return None
    return done.stdout if done.returncode == 0 else None


def scrub(net: WorldNetwork) -> None:
    """Remove the world's bridge and firewall rules from the machine (idempotent)."""
    subprocess.run(["ip", "link", "delete", net.interface], capture_output=True, check=False)
    removed = sum(_scrub_table(t, net.subnet) for t in ("nat", "filter"))
    if removed:
        logger.debug("removed %d iptables rules of %s", removed, net.subnet)
