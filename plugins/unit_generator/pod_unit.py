"""The unit of a pod (its infra container), with and without ``--new`` (``podTemplate``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from bridge.container_info import UNIT_LABEL

from .context import (
    FOOTER,
    MIN_TIMEOUT_STOP_SEC,
    RenderContext,
    header,
    user_dependencies,
)
from .create_command import rewrite_pod_command
from .escaping import check_all_expressible, format_options
from .options import DEFAULT_RESTART_POLICY, validate_restart_policy

logger = logging.getLogger(__name__)


@dataclass
class PodUnitSpec:
    """Everything the pod template reads (Podman's ``podInfo`` inputs).

    ``required_services`` are the member containers' service names (no suffix).
    ``wants``/``after``/``requires`` exist in the template, but Podman 4.3.1 never fills
    them for pods (``--wants`` and friends reach only the container units).
    """

    service_name: str
    infra_name_or_id: str
    pid_file: str
    stop_timeout: int = 10
    run_root: str = ""
    create_command: list[str] = field(default_factory=list)
    required_services: list[str] = field(default_factory=list)
    restart_sec: int = 0
    wants: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


def pod_files(service_name: str) -> tuple[str, str]:
    """The conmon PID file and pod ID file of a pod's ``--new`` unit."""
    return f"%t/{service_name}.pid", f"%t/{service_name}.pod-id"


def render_pod_unit(
    spec: PodUnitSpec,
    ctx: RenderContext,
    *,
    new: bool = False,
    no_header: bool = False,
    restart_policy: str | None = None,
) -> str:
    """Render the pod's own unit; byte-identical to Podman 4.3.1 for the same inputs."""
    exe = ctx.executable
    t = spec.stop_timeout
    policy = (DEFAULT_RESTART_POLICY if restart_policy is None
              else validate_restart_policy(restart_policy))
    name = spec.infra_name_or_id
    pid_file = spec.pid_file
    pre: list[str] = []
    exec_start = f"{exe} start {name}"
    exec_stop = f"{exe} stop  \\\n\t-t {t} {name}"
    exec_stop_post = exec_stop
    if new:
        check_all_expressible(spec.create_command, "pod CreateCommand")
        pid_file, pod_id_file = pod_files(spec.service_name)
        command = rewrite_pod_command(spec.create_command, executable=exe,
                                      pid_file=pid_file, pod_id_file=pod_id_file)
        root = command.root_flags + " " if command.root_flags else ""
        pre = [f"/bin/rm \\\n\t-f {pid_file} {pod_id_file}"] \
            if ctx.compat.generate_removes_stale_files else []
        pre.append(format_options(command.create))
        exec_start = f"{exe} {root}pod start \\\n\t--pod-id-file {pod_id_file}"
        exec_stop = (f"{exe} {root}pod stop \\\n\t--ignore \\\n\t--pod-id-file {pod_id_file}"
                     f"  \\\n\t-t {t}")
        exec_stop_post = (f"{exe} {root}pod rm \\\n\t--ignore \\\n\t-f"
                          f" \\\n\t--pod-id-file {pod_id_file}")

    services = " ".join(f"{s}.service" for s in sorted(spec.required_services))
    lines = header(spec.service_name, template=False, no_header=no_header, ctx=ctx,
                   run_root=spec.run_root)
    lines += [f"Wants={services}", f"Before={services}"]
    lines += user_dependencies(spec.wants, spec.after, spec.requires)
    lines += ["", "[Service]", f"Environment={UNIT_LABEL}=%n", f"Restart={policy}"]
    if spec.restart_sec:
        lines.append(f"RestartSec={spec.restart_sec}")
    lines.append(f"TimeoutStopSec={MIN_TIMEOUT_STOP_SEC + t}")
    lines += [f"ExecStartPre={p}" for p in pre]
    lines += [f"ExecStart={exec_start}", f"ExecStop={exec_stop}",
              f"ExecStopPost={exec_stop_post}", f"PIDFile={pid_file}", "Type=forking"]
    return "\n".join(lines + FOOTER)
