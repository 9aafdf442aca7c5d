"""Container methods Cockpit's Podman page has beyond the lifecycle: commit (an image from a
container), checkpoint and restore (CRIU, rootful only), the details a container's page
shows (environment, mounts, health check and its log) and running its health check
(docs/protocol.md, section 10). Every one takes ``owner``."""

from __future__ import annotations

import json
import logging
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from bridge.container_details import ContainerDetails, HealthInfo, details_of
from bridge.errors import BridgeError, Conflict, NotSupported
from bridge.methods import MethodRegistry
from bridge.methods_containers import ContainerRef, Text
from bridge.owners import podman_and_uid, podman_of
from bridge.podman import PodmanClient, object_path

if TYPE_CHECKING:
    from bridge.app import Bridge

logger = logging.getLogger(__name__)

# How long a Podman's "CRIU is missing" is believed without asking again (a package
# installed meanwhile is then found by the next try).
CRIU_VERDICT_TTL = 600.0
ROOTLESS_REASON = ("checkpoint and restore need rootful Podman: CRIU cannot checkpoint a "
                   "rootless container")
# What Podman says when CRIU is missing or too old: 5.x "failed to check for criu version:
# exec: "criu": executable file not found", 4.x "checkpoint/restore requires at least CRIU".
CRIU_MISSING = ("failed to check for criu version", "requires at least criu",
                "criu binary not found", "\"criu\": executable file not found")

path = partial(object_path, "containers")


class CommitParams(ContainerRef):
    repo: str = Field(min_length=1, max_length=512,
                      pattern=r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$",
                      description="the new image's name (localhost/ is added when it names "
                                  "no registry)")
    tag: str = Field(default="latest", min_length=1, max_length=128,
                     pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
    author: str | None = Field(default=None, max_length=1024)
    message: str | None = Field(default=None, max_length=65536,
                                description="the commit message (the image's comment)")
    command: list[Text] | None = Field(
        default=None, min_length=1, description="the image's CMD; default: the container's")
    pause: bool = Field(default=False, description="pause the container while committing")
    format: Literal["oci", "docker"] = "oci"

    @model_validator(mode="after")
    def _message_needs_docker(self) -> CommitParams:
        # Podman: "messages are only compatible with the docker image format".
        if self.message and self.format != "docker":
            raise ValueError("message: only with format 'docker' (an OCI image keeps no "
                             "commit message)")
        return self


class CheckpointParams(ContainerRef):
    keep: bool = Field(default=False, description="keep CRIU's temporary files and logs")
    leave_running: bool = Field(default=False, description="the container runs on after it")
    tcp_established: bool = Field(default=False,
                                  description="checkpoint established TCP connections")


class RestoreParams(ContainerRef):
    keep: bool = False
    tcp_established: bool = False
    ignore_static_ip: bool = Field(default=False,
                                   description="a container with a static IP gets another")
    ignore_static_mac: bool = False


class _CriuVerdicts:
    """What each Podman (by its socket) last said about CRIU when asked to use it."""

    def __init__(self) -> None:
        self._missing: dict[str, tuple[float, str]] = {}

    def missing(self, podman: PodmanClient) -> str | None:
        seen = self._missing.get(podman.url)
        if seen is None or time.monotonic() - seen[0] > CRIU_VERDICT_TTL:
            return None
        return seen[1]

    def note(self, podman: PodmanClient, reason: str | None) -> None:
        if reason is None:
            self._missing.pop(podman.url, None)
        else:
            self._missing[podman.url] = (time.monotonic(), reason)


def criu_missing(message: str) -> bool:
    low = message.lower()
    return any(marker in low for marker in CRIU_MISSING)


def register_container_ops(methods: MethodRegistry, bridge: Bridge) -> None:
    verdicts = _CriuVerdicts()

    async def support(podman: PodmanClient, uid: int | None) -> dict[str, Any]:
        if uid is not None:
            return {"supported": False, "reason": ROOTLESS_REASON, "criu_version": None}
        info = await podman.request("GET", "/info", what="podman info")
        host = info.get("host") or {} if isinstance(info, dict) else {}
        if (host.get("security") or {}).get("rootless"):
            return {"supported": False, "reason": ROOTLESS_REASON, "criu_version": None}
        version = host.get("criuVersion") or None
        if host.get("criuEnabled") is True:
            return {"supported": True, "reason": None, "criu_version": version}
        if host.get("criuEnabled") is False:
            return {"supported": False, "criu_version": version,
                    "reason": "CRIU is not available to Podman on its host (podman info: "
                              "criuEnabled false): install the criu package"}
        # Podman before 5.5 does not say; what it said when last asked to checkpoint does.
        if (said := verdicts.missing(podman)) is not None:
            return {"supported": False, "reason": said, "criu_version": None}
        return {"supported": None, "criu_version": None,
                "reason": "this Podman does not say whether CRIU is installed: a checkpoint "
                          "will tell"}

    async def criu_call(p: ContainerRef, verb: str, params: dict[str, Any]) -> Any:
        podman, uid = podman_and_uid(bridge, p.owner)
        known = await support(podman, uid)
        if known["supported"] is False:
            raise NotSupported(f"{verb} container {p.name!r}: {known['reason']}")
        try:
            result = await podman.request("POST", path(p.name, verb), params=params,
                                          what=f"{verb} container {p.name!r}", timeout=300)
        except BridgeError as exc:
            if criu_missing(exc.message):
                reason = ("CRIU is not installed where Podman runs (Podman: "
                          f"{exc.message.split(': ', 1)[-1]}): install the criu package")
                verdicts.note(podman, reason)
                raise NotSupported(f"{verb} container {p.name!r}: {reason}") from None
            if "state improper" in exc.message or "cannot be found" in exc.message:
                raise Conflict(exc.message) from None
            if exc.code == "failed" and f" {verb} " in exc.message:
                # The runtime's own words are "... failed: exit status 1": CRIU's log
                # (on Podman's host) says why.
                raise BridgeError(f"{exc.message} (CRIU failed; its log is "
                                  f"{await criu_log(podman, p.name, verb)})") from None
            raise
        verdicts.note(podman, None)
        return result

    async def criu_log(podman: PodmanClient, name: str, verb: str) -> str:
        log = "dump.log" if verb == "checkpoint" else "restore.log"
        try:
            info = await podman.inspect_container(name)
        except BridgeError:
            return log
        return f"{info.get('StaticDir') or '(the container folder)'}/{log}"

    async def checkpoint_support(p: ContainerRef) -> dict[str, Any]:
        return await support(*podman_and_uid(bridge, p.owner))

    async def checkpoint(p: CheckpointParams) -> None:
        await criu_call(p, "checkpoint", {"keep": p.keep, "leaveRunning": p.leave_running,
                                          "tcpEstablished": p.tcp_established})

    async def restore(p: RestoreParams) -> None:
        await criu_call(p, "restore", {"keep": p.keep, "tcpEstablished": p.tcp_established,
                                       "ignoreStaticIP": p.ignore_static_ip,
                                       "ignoreStaticMAC": p.ignore_static_mac})

    async def commit(p: CommitParams) -> dict[str, Any]:
        podman = podman_of(bridge, p.owner)
        changes = [f"CMD {json.dumps(p.command)}"] if p.command else None
        result = await podman.request("POST", "/commit", params={
            "container": p.name, "repo": p.repo, "tag": p.tag, "author": p.author,
            "comment": p.message, "pause": p.pause, "format": p.format,
            "changes": changes}, what=f"commit container {p.name!r}", timeout=600)
        image_id = str((result or {}).get("Id") or (result or {}).get("id") or "")
        repo = p.repo if "/" in p.repo else f"localhost/{p.repo}"
        return {"id": image_id, "image": f"{repo}:{p.tag}"}

    async def details(p: ContainerRef) -> ContainerDetails:
        podman = podman_of(bridge, p.owner)
        return details_of(await podman.inspect_container(p.name))

    async def healthcheck(p: ContainerRef) -> HealthInfo | None:
        podman = podman_of(bridge, p.owner)
        try:
            await podman.request("GET", path(p.name, "healthcheck"),
                                 what=f"health check of {p.name!r}", timeout=120)
        except Conflict as exc:
            if "no defined healthcheck" in exc.message:
                raise NotSupported(f"container {p.name!r} has no health check") from None
            raise
        # The run's answer lacks the failing streak on Podman 4: inspect has it all, the
        # new run last in the log.
        return details_of(await podman.inspect_container(p.name))["health"]

    methods.register_table((
        ("containers.commit", commit, CommitParams, "admin",
         "an image made of a container: name, tag, author, message, command, pause, format"),
        ("containers.checkpoint", checkpoint, CheckpointParams, "operator",
         "checkpoint a running container with CRIU (rootful Podman only)"),
        ("containers.restore", restore, RestoreParams, "operator",
         "restore a container from its checkpoint"),
        ("containers.checkpoint_support", checkpoint_support, ContainerRef, "viewer",
         "whether this Podman can checkpoint: true, false (with why) or null (unknown)"),
        ("containers.details", details, ContainerRef, "viewer",
         "a container's environment, mounts, health check and its last runs"),
        ("containers.healthcheck", healthcheck, ContainerRef, "operator",
         "run a container's health check now; its health after (status, streak, log)"),
    ))
