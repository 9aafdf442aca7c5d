"""Container methods beyond start/stop: create, remove, pause, unpause, rename, logs,
stats and exec (docs/protocol.md, section 10). Every one takes ``owner``."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from bridge.container_details import NS
from bridge.container_exec import ExecStream
from bridge.container_info import AUTOUPDATE_LABEL
from bridge.container_logs import LogsStream
from bridge.container_stats import StatsStream
from bridge.container_stats_all import AllStatsStream
from bridge.create_command import create_command
from bridge.errors import BridgeError, Conflict, InvalidParams, NotFound
from bridge.methods import MethodRegistry, Params
from bridge.owners import Owned, podman_and_uid, podman_of
from bridge.podman import object_path
from bridge.streams import StreamSource

if TYPE_CHECKING:
    from bridge.app import Bridge

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$"
# A string of up to 64 KiB: a word of a command, a value of the environment or of a label.
Text = Annotated[str, Field(max_length=65536)]
Env = dict[Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[^=]+$")], Text]
Labels = dict[Annotated[str, Field(min_length=1, max_length=1024)], Text]

path = partial(object_path, "containers")


class ContainerRef(Owned):
    name: str = Field(min_length=1, max_length=256, description="container name or ID")


class Port(Params):
    host_port: int | None = Field(default=None, ge=1, le=65535,
                                  description="null: a free port Podman picks")
    container_port: int = Field(ge=1, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"
    host_ip: str | None = Field(default=None, max_length=64)


class Volume(Params):
    source: str = Field(min_length=1, max_length=4096,
                        description="an absolute host path (a bind mount) or a volume name")
    destination: str = Field(min_length=1, max_length=4096, pattern=r"^/")
    read_only: bool = False


HealthAction = Literal["none", "kill", "restart", "stop"]
# libpod's HealthCheckOnFailureAction numbers (1 is its "invalid"): the spec takes the
# number, inspect and the CLI the name.
HEALTH_ACTIONS: dict[str, int] = {"none": 0, "kill": 2, "restart": 3, "stop": 4}


class Health(Params):
    command: list[Annotated[str, Field(max_length=4096)]] | str = Field(
        description="argv, or one string run by the container's /bin/sh")
    interval: float = Field(default=30, gt=0, le=86400)
    timeout: float = Field(default=30, gt=0, le=86400)
    retries: int = Field(default=3, ge=0, le=1000)
    start_period: float = Field(default=0, ge=0, le=86400)
    on_failure: HealthAction = Field(
        default="none", description="what Podman does once the container turns unhealthy "
        "(podman --health-on-failure)")

    @field_validator("command")
    @classmethod
    def _not_empty(cls, v: list[str] | str) -> list[str] | str:
        if not v:
            raise ValueError("must not be empty")
        return v


# runc's (and Podman's) least memory limit: below it Podman refuses the container.
MIN_MEMORY = 6 * 1024 * 1024


class Limits(Params):
    """Resource limits, as ``podman create --memory --cpu-shares --cpus`` set them."""

    memory: int | None = Field(default=None, ge=MIN_MEMORY, le=2**62,
                               description="bytes (Podman's least is 6 MiB)")
    cpu_shares: int | None = Field(default=None, ge=2, le=262144,
                                   description="relative CPU weight; the default is 1024")
    cpus: float | None = Field(default=None, ge=0.01, le=1024,
                               description="at most this many CPUs' time")


class CreateParams(Owned):
    image: str = Field(min_length=1, max_length=1024)
    name: str | None = Field(default=None, max_length=256, pattern=NAME_PATTERN)
    command: list[Text] | None = None
    entrypoint: list[Text] | None = None
    env: Env = Field(default_factory=dict)
    ports: list[Port] = Field(default_factory=list, max_length=256)
    volumes: list[Volume] = Field(default_factory=list, max_length=256)
    restart_policy: Literal["no", "always", "on-failure", "unless-stopped"] = "no"
    restart_retries: int | None = Field(default=None, ge=0, le=1000)
    labels: Labels = Field(default_factory=dict)
    auto_update: Literal["registry", "local"] | None = None
    health: Health | None = None
    pod: str | None = Field(default=None, min_length=1, max_length=256)
    tty: bool = Field(default=False, description="a terminal for its process (podman -t)")
    limits: Limits | None = None
    start: bool = True


class RemoveParams(ContainerRef):
    force: bool = False
    volumes: bool = False


class RenameParams(ContainerRef):
    new_name: str = Field(min_length=1, max_length=256, pattern=NAME_PATTERN)


Since = Annotated[str, Field(min_length=1, max_length=64)]


class LogsParams(ContainerRef):
    tail: int | None = Field(default=100, ge=0, le=100_000,
                             description="the last N lines; null: all")
    since: Since | None = Field(default=None, description="RFC 3339 or unix seconds")
    follow: bool = False


class StatsParams(ContainerRef):
    follow: bool = False
    interval: int = Field(default=2, ge=1, le=60)


class AllStatsParams(Owned):
    follow: bool = False
    interval: int = Field(default=3, ge=1, le=60)


class ExecParams(ContainerRef):
    command: list[Text] = Field(
        default_factory=lambda: ["/bin/sh"], min_length=1)
    tty: bool = True
    rows: int = Field(default=24, ge=1, le=1000)
    cols: int = Field(default=80, ge=1, le=1000)
    env: Env = Field(default_factory=dict)
    user: str | None = Field(default=None, max_length=256)
    workdir: str | None = Field(default=None, max_length=4096, pattern=r"^/")


def port_mappings(ports: list[Port]) -> list[dict[str, Any]]:
    """libpod's portmappings; without ``host_port`` Podman picks a free one."""
    return [{"container_port": x.container_port, "protocol": x.protocol,
             **({"host_port": x.host_port} if x.host_port else {}),
             **({"host_ip": x.host_ip} if x.host_ip else {})} for x in ports]


def storage_of(volumes: list[Volume]) -> dict[str, Any]:
    """libpod's ``mounts`` (bind mounts of host paths) and ``volumes`` (named volumes),
    the same in a container's and a pod's spec."""
    mounts, named = [], []
    for v in volumes:
        opts = ["ro"] if v.read_only else []
        if v.source.startswith("/"):
            mounts.append({"Destination": v.destination, "Source": v.source, "Type": "bind",
                           "Options": ["rbind", *opts]})
        elif "/" in v.source:
            raise InvalidParams(f"volumes: {v.source!r} is neither an absolute path nor a "
                                "volume name")
        else:
            named.append({"Name": v.source, "Dest": v.destination, "Options": opts})
    return {**({"mounts": mounts} if mounts else {}), **({"volumes": named} if named else {})}


CPU_PERIOD = 100_000  # microseconds: what `podman --cpus` sets


def resource_limits(limits: Limits) -> dict[str, Any]:
    """The OCI ``LinuxResources`` of ``limits`` (the spec's ``resource_limits``)."""
    out: dict[str, Any] = {}
    if limits.memory is not None:
        out["memory"] = {"limit": limits.memory}
    cpu: dict[str, Any] = {}
    if limits.cpu_shares is not None:
        cpu["shares"] = limits.cpu_shares
    if limits.cpus is not None:
        cpu["quota"] = round(limits.cpus * CPU_PERIOD)
        cpu["period"] = CPU_PERIOD
    if cpu:
        out["cpu"] = cpu
    return out


def spec_of(p: CreateParams) -> dict[str, Any]:
    """libpod's SpecGenerator for ``containers.create`` (the same in Podman 4 and 5)."""
    labels = dict(p.labels)
    if p.auto_update is not None:
        labels[AUTOUPDATE_LABEL] = p.auto_update
    spec: dict[str, Any] = {"image": p.image, "labels": labels,
                            "env": p.env, "restart_policy": p.restart_policy}
    if p.name:
        spec["name"] = p.name
    if p.command is not None:
        spec["command"] = p.command
    if p.entrypoint is not None:
        spec["entrypoint"] = p.entrypoint
    if p.restart_retries is not None:
        if p.restart_policy != "on-failure":
            raise InvalidParams("restart_retries: only with restart_policy 'on-failure'")
        spec["restart_tries"] = p.restart_retries
    if p.ports:
        spec["portmappings"] = port_mappings(p.ports)
    spec.update(storage_of(p.volumes))
    if p.tty:
        spec["terminal"] = True
    if p.limits is not None:
        resources = resource_limits(p.limits)
        if resources:
            spec["resource_limits"] = resources
    if p.health is not None:
        h = p.health
        test = (["CMD-SHELL", h.command] if isinstance(h.command, str)
                else ["CMD", *h.command])
        spec["healthconfig"] = {"Test": test, "Interval": int(h.interval * NS),
                                "Timeout": int(h.timeout * NS), "Retries": h.retries,
                                "StartPeriod": int(h.start_period * NS)}
        if h.on_failure != "none":
            spec["health_check_on_failure_action"] = HEALTH_ACTIONS[h.on_failure]
    if p.pod:
        spec["pod"] = p.pod
    # What `podman create` records: a unit generated with --new rebuilds the container
    # from it (and so podman auto-update can replace it).
    command = create_command(p)
    if command is not None:
        spec["containerCreateCommand"] = command
    return spec


def register_container_methods(methods: MethodRegistry, bridge: Bridge) -> None:
    async def create(p: CreateParams) -> dict[str, Any]:
        podman = podman_of(bridge, p.owner)
        spec = spec_of(p)
        try:
            cid, warnings = await podman.create_container(spec)
        except BridgeError as exc:
            if exc.code == "failed" and "image not known" in exc.message:
                raise NotFound(exc.message) from None
            if exc.code == "failed" and "already in use" in exc.message:
                raise Conflict(exc.message) from None
            raise
        if p.start:
            try:
                await podman.start_container(cid)
            except BridgeError as exc:
                raise BridgeError(f"container {cid[:12]} was created but did not start: "
                                  f"{exc.message}", exc.code) from None
        info = await podman.inspect_container(cid)
        answer: dict[str, Any] = {"id": cid, "name": str(info.get("Name") or p.name or "")}
        if warnings:
            answer["warnings"] = warnings
        return answer

    async def remove(p: RemoveParams) -> None:
        podman = podman_of(bridge, p.owner)
        try:
            reports = await podman.request(
                "DELETE", path(p.name), params={"force": p.force, "v": p.volumes},
                what=f"remove container {p.name!r}", timeout=120)
        except BridgeError as exc:
            if exc.code == "failed" and "state improper" in exc.message:
                raise Conflict(f"{exc.message} (force removes it)") from None
            raise
        for report in reports if isinstance(reports, list) else []:
            err = report.get("Err") if isinstance(report, dict) else None
            if err:
                if "running" in err or "paused" in err:
                    raise Conflict(f"remove container {p.name!r}: {err} (force removes it)")
                raise BridgeError(f"remove container {p.name!r}: {err}")

    async def pause(p: ContainerRef, verb: str = "pause") -> None:
        await podman_of(bridge, p.owner).request("POST", path(p.name, verb),
                                                 what=f"{verb} container {p.name!r}")

    async def rename(p: RenameParams) -> None:
        podman = podman_of(bridge, p.owner)
        try:
            await podman.request("POST", path(p.name, "rename"), params={"name": p.new_name},
                                 what=f"rename container {p.name!r}")
        except BridgeError as exc:
            # Podman 4 says "already in use" (409); Podman 5's SQLite state says only
            # "UNIQUE constraint failed: ContainerConfig.Name" (500).
            # Both messages repeat the container's ID twice; the name is what the user typed.
            if "UNIQUE constraint" in exc.message or "already in use" in exc.message:
                raise Conflict(f"rename container {p.name!r}: the name {p.new_name!r} is "
                               "already in use") from None
            raise

    async def logs(p: LogsParams) -> dict[str, Any] | StreamSource:
        podman, uid = podman_and_uid(bridge, p.owner)
        stream = LogsStream(podman, p.name, uid, tail=p.tail, since=p.since,
                            follow=p.follow)
        return stream if p.follow else await stream.collect()

    async def stats(p: StatsParams) -> dict[str, Any] | StreamSource:
        podman, uid = podman_and_uid(bridge, p.owner)
        stream = StatsStream(podman, p.name, uid, follow=p.follow, interval=p.interval)
        return stream if p.follow else await stream.one()

    async def stats_all(p: AllStatsParams) -> dict[str, Any] | StreamSource:
        podman = podman_of(bridge, p.owner)
        stream = AllStatsStream(podman, follow=p.follow, interval=p.interval)
        return stream if p.follow else await stream.one()

    async def exec_(p: ExecParams) -> StreamSource:
        podman, uid = podman_and_uid(bridge, p.owner)
        return ExecStream(podman, p.name, uid, command=p.command, tty=p.tty, rows=p.rows,
                          cols=p.cols, env=p.env, user=p.user, workdir=p.workdir)

    methods.register_table((
        ("containers.create", create, CreateParams, "admin",
         "create (and start) a container: image, ports, env, volumes, restart policy, "
         "labels, auto-update, health check, pod"),
        ("containers.remove", remove, RemoveParams, "admin", "remove a container"),
        ("containers.pause", pause, ContainerRef, "operator", "pause a running container"),
        ("containers.unpause", partial(pause, verb="unpause"), ContainerRef, "operator",
         "unpause a container"),
        ("containers.rename", rename, RenameParams, "admin", "rename a container"),
        ("containers.logs", logs, LogsParams, "viewer",
         "a container's log lines; with follow, a stream of new ones"),
        ("containers.stats", stats, StatsParams, "viewer",
         "a container's CPU, memory, network, block I/O; with follow, a stream"),
        ("containers.stats_all", stats_all, AllStatsParams, "viewer",
         "CPU and memory of every running container; with follow, a stream"),
        ("containers.exec", exec_, ExecParams, "admin",
         "a process in a container, with a terminal: a stream (websocket only)"),
    ))
