"""Which containers an auto-update run looks at, and in which order their units go.

As Podman: running containers with the label ``io.containers.autoupdate``; ``""`` and
``disabled`` are skipped, ``image`` is an alias of ``registry``, ``registry`` and ``local``
are valid, anything else is an error (in Podman's words, without the container's ID,
as Podman says it); the unit comes from the ``PODMAN_SYSTEMD_UNIT``
label, or, for a container in a pod, from the pod's infra container.

Beyond Podman, units are put in groups: the units of one pod, or units tied by
Requires/BindsTo/PartOf/After, are restarted one after another (in After order); distinct
groups run concurrently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bridge.container_info import AUTOUPDATE_LABEL, UNIT_LABEL
from bridge.errors import BridgeError
from bridge.gotext import go_quote
from bridge.podman import PodmanClient
from bridge.systemd import SystemdClient

logger = logging.getLogger(__name__)

AUTHFILE_LABEL = "io.containers.autoupdate.authfile"

POLICIES = {"": "disabled", "disabled": "disabled", "image": "registry",
            "registry": "registry", "local": "local"}
# Relations that make two units restart one after the other.
TIES = ("Requires", "Requisite", "BindsTo", "PartOf", "After", "Before")


class PolicyError(ValueError):
    pass


def lookup_policy(value: str) -> str:
    try:
        return POLICIES[value]
    except KeyError:
        # Podman's words: fmt's %q of the value and %+q of the sorted keys.
        valid = " ".join(go_quote(k) for k in sorted(k for k in POLICIES if k))
        raise PolicyError(f"invalid auto-update policy {go_quote(value)}: valid policies "
                          f"are [{valid}]") from None


@dataclass(frozen=True)
class Task:
    container_id: str
    name: str
    image: str        # the image name the container was created from
    image_id: str
    policy: str       # registry | local
    unit: str
    labels: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    pod: str = ""

    @property
    def authfile(self) -> str | None:
        return self.labels.get(AUTHFILE_LABEL) or None


def select_tasks(containers: list[dict[str, Any]], infra_units: dict[str, str]
                 ) -> tuple[list[Task], list[str]]:
    """Tasks from a libpod container list; ``infra_units`` maps a pod ID to its infra
    container's unit label. Errors are returned, not raised: the run goes on."""
    tasks: list[Task] = []
    errors: list[str] = []
    for c in containers:
        labels = c.get("Labels") or {}
        if c.get("State") != "running" or AUTOUPDATE_LABEL not in labels:
            continue
        cid = str(c.get("Id", ""))
        try:
            policy = lookup_policy(labels[AUTOUPDATE_LABEL])
        except PolicyError as exc:
            errors.append(str(exc))
            continue
        if policy == "disabled":
            continue
        pod = str(c.get("Pod") or "")
        unit = infra_units.get(pod, "") if pod else labels.get(UNIT_LABEL, "")
        if not unit:
            errors.append(f"auto-updating container {go_quote(cid)}: no {UNIT_LABEL} label "
                          "found")
            continue
        image = str(c.get("Image") or "")
        if not image:
            errors.append(f"locally auto-updating container {go_quote(cid)}: raw-image name "
                          "is empty")
            continue
        names = c.get("Names") or [cid[:12]]
        tasks.append(Task(cid, str(names[0]), image, str(c.get("ImageID", "")), policy,
                          unit, dict(labels), pod))
    return tasks, errors


async def assemble_tasks(podman: PodmanClient) -> tuple[list[Task], list[str]]:
    containers = await podman.containers(all=True)
    infra_units: dict[str, str] = {}
    pods = {str(c.get("Pod")) for c in containers
            if c.get("Pod") and AUTOUPDATE_LABEL in (c.get("Labels") or {})}
    by_id = {str(c.get("Id")): c for c in containers}
    for pod in pods:
        try:
            infra = (await podman.inspect_pod(pod)).get("InfraContainerID") or ""
        except BridgeError as exc:
            logger.warning("pod %s: %s", pod, exc)
            continue
        labels = (by_id.get(infra) or {}).get("Labels") or {}
        if labels.get(UNIT_LABEL):
            infra_units[pod] = labels[UNIT_LABEL]
    return select_tasks(containers, infra_units)


def by_unit(tasks: Iterable[Task]) -> dict[str, list[Task]]:
    units: dict[str, list[Task]] = {}
    for t in tasks:
        units.setdefault(t.unit, []).append(t)
    return units


def group_units(units: Iterable[str], relations: dict[str, dict[str, list[str]]],
                pods: dict[str, str] | None = None) -> list[list[str]]:
    """Units in groups: a group's units are tied (by a relation in ``relations``, e.g.
    ``{"a.service": {"Requires": ["b.service"], "After": ["b.service"]}}``, or by a pod
    in ``pods``, unit -> pod ID) and come in After order; groups are independent."""
    names = sorted(set(units))
    parent = {u: u for u in names}

    def find(u: str) -> str:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    after: dict[str, set[str]] = {u: set() for u in names}  # u starts after these
    for u in names:
        for rel, others in (relations.get(u) or {}).items():
            for o in others:
                if o not in parent or o == u:
                    continue
                parent[find(u)] = find(o)
                if rel == "After":
                    after[u].add(o)
                elif rel == "Before":
                    after[o].add(u)
    pod_first: dict[str, str] = {}  # a pod's first unit: the others join its group
    for u, pod in (pods or {}).items():
        if u in parent and pod:
            parent[find(u)] = find(pod_first.setdefault(pod, u))
    groups: dict[str, list[str]] = {}
    for u in names:
        groups.setdefault(find(u), []).append(u)
    return [_after_order(g, after) for g in sorted(groups.values())]


def _after_order(group: list[str], after: dict[str, set[str]]) -> list[str]:
    """Topological order (name order among equals); a cycle falls back to name order."""
    done: list[str] = []
    left = sorted(group)
    while left:
        ready = [u for u in left if not (after[u] & set(left))]
        if not ready:
            return done + left
        done.append(ready[0])
        left.remove(ready[0])
    return done


async def unit_relations(systemd: SystemdClient, units: Iterable[str]
                         ) -> dict[str, dict[str, list[str]]]:
    """The TIES properties of each unit (a unit systemd cannot load has none)."""
    out: dict[str, dict[str, list[str]]] = {}
    for unit in units:
        try:
            props = await systemd.unit_properties(unit, service=False)
        except BridgeError as exc:
            logger.warning("unit %s: cannot read its dependencies: %s", unit, exc)
            continue
        out[unit] = {k: [str(v) for v in props.get(k) or []] for k in TIES}
    return out
