"""``podman generate systemd`` from inspect data: the entry point the plugin calls.

Pure: no I/O. The caller inspects the container or pod (and the pod's containers) through
the API and passes the JSON in; what Podman reads from its own runtime (the podman path,
version, run root, the time, the caller's environment for ``--env KEY``) comes in a
:class:`RenderContext`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .container_unit import ContainerUnitSpec, render_container_unit
from .context import RenderContext
from .errors import GenerateError
from .inputs import ContainerInfo, PodInfo
from .options import GenerateOptions
from .pod_unit import PodUnitSpec, pod_files, render_pod_unit

logger = logging.getLogger(__name__)


@dataclass
class RenderResult:
    """Units by service name (no ``.service`` suffix, as Podman's report) and warnings."""

    units: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def service_name(prefix: str, separator: str, name: str) -> str:
    """``prefix + separator + name``; an empty prefix drops the separator as well."""
    return f"{prefix}{separator}{name}" if prefix else name


def unit_file_name(service: str, opts: GenerateOptions) -> str:
    """The file a unit belongs in: ``<service>.service``, or ``<service>@.service`` for a
    template (Podman 4.3.1's ``--files`` writes templates without the ``@``)."""
    return f"{service}@.service" if opts.template else f"{service}.service"


def _container_service(info: ContainerInfo, opts: GenerateOptions) -> tuple[str, str]:
    name_or_id = info.name if opts.name else info.id
    return name_or_id, service_name(opts.container_prefix, opts.separator, name_or_id)


def _run_root(info: ContainerInfo, ctx: RenderContext) -> str:
    run_root = ctx.run_root or info.run_root()
    if not run_root:
        raise GenerateError("could not look up container's runroot: got empty string")
    return run_root


def _container_spec(info: ContainerInfo, opts: GenerateOptions, ctx: RenderContext,
                    result: RenderResult) -> ContainerUnitSpec:
    """Podman's generateContainerInfo: the checks and the facts of one container."""
    if not info.conmon_pid_file:
        raise GenerateError("conmon PID file path is empty, try to recreate the container "
                            "with --conmon-pidfile flag")
    if not opts.is_new and info.restart_policy not in ("", "no"):
        message = (f"Container {info.id} has restart policy \"{info.restart_policy}\" which "
                   "can lead to issues on shutdown: consider recreating the container "
                   "without a restart policy and use systemd's restart mechanism instead")
        logger.warning("%s", message)
        result.warnings.append(message)
    if opts.is_new and info.create_command is None:
        raise GenerateError(
            f'cannot use --new on container "{info.id}": no create command found: only works '
            "on containers created directly with podman but not via REST API",
            code="not-supported",
        )
    name_or_id, service = _container_service(info, opts)
    stop_timeout = opts.effective_stop_timeout
    return ContainerUnitSpec(
        service_name=service,
        name_or_id=name_or_id,
        pid_file=info.conmon_pid_file,
        stop_timeout=info.stop_timeout if stop_timeout is None else stop_timeout,
        run_root="%t/containers" if opts.is_new else _run_root(info, ctx),
        create_command=info.create_command or [],
        container_env=info.env,
        start_timeout=opts.start_timeout or 0,
        restart_sec=opts.restart_sec or 0,
        additional_env=opts.additional_env(ctx.environ),
        wants=list(opts.wants),
        after=list(opts.after),
        requires=list(opts.requires),
    )


def _render_container(spec: ContainerUnitSpec, opts: GenerateOptions,
                      ctx: RenderContext) -> str:
    return render_container_unit(spec, ctx, new=opts.is_new, no_header=opts.no_header,
                                 template=opts.template, restart_policy=opts.restart_policy)


def render_container(info: ContainerInfo, opts: GenerateOptions,
                     ctx: RenderContext) -> RenderResult:
    """The unit of one container (not as a member of its pod: ``--pod`` stays as is)."""
    result = RenderResult()
    spec = _container_spec(info, opts, ctx, result)
    result.units[spec.service_name] = _render_container(spec, opts, ctx)
    return result


def render_pod(pod: PodInfo, members: Sequence[ContainerInfo], opts: GenerateOptions,
               ctx: RenderContext) -> RenderResult:
    """The pod's unit plus one unit per container (Podman's PodUnits)."""
    if opts.template:
        raise GenerateError("--template is not supported for pods", code="not-supported")
    if not pod.infra_id:
        raise GenerateError(f'generating systemd unit files: Pod "{pod.name}" has no infra '
                            "container", code="not-supported")
    by_id = {m.id: m for m in members}
    infra = by_id.get(pod.infra_id)
    if infra is None:
        raise GenerateError(f"could not find infra container: no inspect data for "
                            f"{pod.infra_id}", code="not-found")
    missing = [cid for cid in pod.container_ids if cid not in by_id]
    if missing:
        raise GenerateError(f"no inspect data for the pod's containers {', '.join(missing)}",
                            code="not-found")
    if not infra.conmon_pid_file:
        raise GenerateError("conmon PID file path is empty, try to recreate the container "
                            "with --conmon-pidfile flag")
    if opts.is_new and not pod.create_command:
        raise GenerateError(f'cannot use --new on pod "{pod.id}": no create command found',
                            code="not-supported")
    result = RenderResult()
    pod_service = service_name(opts.pod_prefix, opts.separator,
                               pod.name if opts.name else pod.id)
    stop_timeout = opts.effective_stop_timeout
    pod_spec = PodUnitSpec(
        service_name=pod_service,
        infra_name_or_id=infra.name if opts.name else infra.id,
        pid_file=infra.conmon_pid_file,
        stop_timeout=infra.stop_timeout if stop_timeout is None else stop_timeout,
        run_root=_run_root(infra, ctx),
        create_command=pod.create_command,
        restart_sec=opts.restart_sec or 0,
    )
    specs: list[ContainerUnitSpec] = []
    for member in sorted(members, key=lambda m: m.id):
        if member.id == infra.id or (pod.container_ids and member.id not in pod.container_ids):
            continue
        spec = _container_spec(member, opts, ctx, result)
        for dep in member.dependencies:
            if dep == infra.id:
                spec.bound_to.append(pod_service)
            elif dep in by_id:
                spec.bound_to.append(_container_service(by_id[dep], opts)[1])
            else:
                logger.warning("dependency %s of %s is not in pod %s", dep, member.id, pod.id)
                spec.bound_to.append(service_name(opts.container_prefix, opts.separator, dep))
        if opts.is_new:
            spec.pod_id_file = pod_files(pod_service)[1]
        pod_spec.required_services.append(spec.service_name)
        specs.append(spec)
    result.units[pod_service] = render_pod_unit(pod_spec, ctx, new=opts.is_new,
                                                no_header=opts.no_header,
                                                restart_policy=opts.restart_policy)
    for spec in sorted(specs, key=lambda s: s.service_name):
        result.units[spec.service_name] = _render_container(spec, opts, ctx)
    return result


def render_with_warnings(
    container_inspect: Mapping[str, Any] | None,
    pod_inspect: Mapping[str, Any] | None,
    member_inspects: Sequence[Mapping[str, Any]],
    opts: GenerateOptions,
    *,
    ctx: RenderContext | None = None,
) -> RenderResult:
    """:func:`render`, also returning Podman's warnings (restart policy without --new)."""
    ctx = ctx or RenderContext()
    if pod_inspect is None:
        if container_inspect is None:
            raise GenerateError("nothing to generate: neither a container nor a pod",
                                code="not-found")
        return render_container(ContainerInfo.from_inspect(container_inspect), opts, ctx)
    members = [ContainerInfo.from_inspect(m) for m in member_inspects]
    if container_inspect is not None:
        members.append(ContainerInfo.from_inspect(container_inspect))
    unique = {m.id: m for m in members}
    return render_pod(PodInfo.from_inspect(pod_inspect), list(unique.values()), opts, ctx)


def render(
    container_inspect: Mapping[str, Any] | None,
    pod_inspect: Mapping[str, Any] | None,
    member_inspects: Sequence[Mapping[str, Any]],
    opts: GenerateOptions,
    *,
    ctx: RenderContext | None = None,
) -> dict[str, str]:
    """Generate the systemd units Podman 4.3.1's ``podman generate systemd`` would.

    For a **container**: ``container_inspect`` is its libpod inspect object
    (``GET /libpod/containers/{id}/json``), ``pod_inspect`` is None and ``member_inspects``
    is empty. Even a container in a pod is rendered alone then (as Podman does when given a
    container name): its ``--pod`` flag is kept.

    For a **pod**: ``pod_inspect`` is the pod inspect object (``GET /libpod/pods/{id}/json``)
    and ``member_inspects`` the inspect objects of the pod's containers, the infra container
    included (``pod_inspect["InfraContainerID"]``); ``container_inspect`` may be the infra
    container's inspect or None.

    Reads: ``Id``, ``Name``, ``ConmonPidFile``, ``Dependencies``, ``GraphDriver.Name``,
    ``Config.CreateCommand``, ``Config.Env``, ``Config.StopTimeout``,
    ``HostConfig.RestartPolicy``; of the pod ``Id``, ``Name``, ``CreateCommand``,
    ``InfraContainerID``, ``Containers[].Id``.

    ``ctx`` carries the podman executable, its version, the header timestamp (None: no
    timestamp line), the storage run root (None: derived from ConmonPidFile) and the
    environment used to resolve ``--env KEY``. Returns ``{service name: unit text}``; the
    service name has no ``.service`` suffix (see :func:`unit_file_name`); a pod's unit comes
    first. Raises :class:`GenerateError` where Podman refuses, and for anything a unit
    cannot express (a newline in an argument, ...), naming the field.
    """
    return render_with_warnings(container_inspect, pod_inspect, member_inspects, opts,
                                ctx=ctx).units
