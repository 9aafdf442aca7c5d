"""The unit of one container, with and without ``--new`` (Podman's ``containerTemplate``)."""

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
from .create_command import CIDFILE, rewrite_container_command, set_container_name_for_template
from .escaping import check_all_expressible, escape_arg, format_options
from .options import DEFAULT_RESTART_POLICY, validate_restart_policy

logger = logging.getLogger(__name__)


@dataclass
class ContainerUnitSpec:
    """Everything the container template reads (Podman's ``containerInfo`` inputs).

    ``service_name`` has no ``.service`` suffix; ``stop_timeout`` is the effective one
    (``--stop-timeout`` or the container's own); ``create_command`` is empty for a container
    created over REST without one (render refuses ``--new`` for it); ``bound_to`` lists
    service names (no suffix) the unit binds to (its pod's, and those of containers it
    depends on); ``pod_id_file`` is set when rendered as a member of a pod with ``--new``.
    """

    service_name: str
    name_or_id: str
    pid_file: str
    stop_timeout: int = 10
    restart_sec: int = 0  # only Podman 5 writes it into container units
    run_root: str = ""
    create_command: list[str] = field(default_factory=list)
    container_env: list[str] = field(default_factory=list)
    bound_to: list[str] = field(default_factory=list)
    pod_id_file: str | None = None
    start_timeout: int = 0
    additional_env: list[str] = field(default_factory=list)
    wants: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)


def render_container_unit(
    spec: ContainerUnitSpec,
    ctx: RenderContext,
    *,
    new: bool = False,
    no_header: bool = False,
    template: bool = False,
    restart_policy: str | None = None,
) -> str:
    """Render one container unit; byte-identical to Podman 4.3.1 for the same inputs.

    ``restart_policy`` is the explicit ``--restart-policy`` (None: the default, or with
    ``--new`` the policy of the create command's ``--restart``).
    """
    exe = ctx.executable
    check_all_expressible(spec.additional_env, "--env")
    t = spec.stop_timeout
    policy = (DEFAULT_RESTART_POLICY if restart_policy is None
              else validate_restart_policy(restart_policy))
    start_limit_burst = ""
    extra_envs: list[str] = []
    exec_start_pre = ""
    exec_start = f"{exe} start {spec.name_or_id}"
    exec_stop = f"{exe} stop  \\\n\t-t {t} {spec.name_or_id}"
    exec_stop_post = exec_stop
    pid_file = spec.pid_file
    unit_type, notify_access = "forking", ""
    template = template and new

    if new:
        check_all_expressible(spec.create_command, "Config.CreateCommand")
        unit_type, notify_access, pid_file = "notify", "all", ""
        if ctx.compat.generate_removes_stale_files:
            exec_start_pre = f"/bin/rm \\\n\t-f {CIDFILE}"
        exec_stop = f"{exe} stop \\\n\t--ignore -t {t} \\\n\t--cidfile={CIDFILE}"
        exec_stop_post = f"{exe} rm \\\n\t-f \\\n\t--ignore -t {t} \\\n\t--cidfile={CIDFILE}"
        rewritten = rewrite_container_command(
            spec.create_command,
            executable=exe,
            container_env=spec.container_env,
            pod_id_file=spec.pod_id_file,
            use_restart_from_command=restart_policy is None,
            name_or_id=spec.name_or_id,
        )
        if rewritten.restart_policy is not None:
            policy = rewritten.restart_policy
        start_limit_burst = rewritten.start_limit_burst
        extra_envs = rewritten.extra_envs
        words = rewritten.exec_start
        if template:
            words = set_container_name_for_template(words, spec.service_name)
        exec_start = format_options(words)

    lines = header(spec.service_name, template=template, no_header=no_header, ctx=ctx,
                   run_root=spec.run_root)
    if spec.bound_to:
        bound = " ".join(f"{s}.service" for s in sorted(spec.bound_to))
        lines += [f"BindsTo={bound}", f"After={bound}"]
    lines += user_dependencies(spec.wants, spec.after, spec.requires)
    lines += ["", "[Service]", f"Environment={UNIT_LABEL}=%n{'-%i' if template else ''}"]
    if extra_envs:
        lines.append("Environment=" + " ".join(extra_envs))
    lines += [f"Environment={escape_arg(e)}" for e in spec.additional_env]
    lines.append(f"Restart={policy}")
    if spec.restart_sec and ctx.compat.generate_container_restart_sec:
        lines.append(f"RestartSec={spec.restart_sec}")
    if start_limit_burst:
        lines.append(f"StartLimitBurst={start_limit_burst}")
    if spec.start_timeout:
        lines.append(f"TimeoutStartSec={spec.start_timeout}")
    lines.append(f"TimeoutStopSec={MIN_TIMEOUT_STOP_SEC + t}")
    if exec_start_pre:
        lines.append(f"ExecStartPre={exec_start_pre}")
    lines += [f"ExecStart={exec_start}", f"ExecStop={exec_stop}", f"ExecStopPost={exec_stop_post}"]
    if pid_file:
        lines.append(f"PIDFile={pid_file}")
    lines.append(f"Type={unit_type}")
    if notify_access:
        lines.append(f"NotifyAccess={notify_access}")
    return "\n".join(lines + FOOTER)
