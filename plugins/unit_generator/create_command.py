"""Rewriting a stored create command into the ``ExecStart=`` of a ``--new`` unit.

The steps and their order are Podman 4.3.1's (``executeContainerTemplate`` and
``executePodTemplate`` in ``pkg/systemd/generate``); see the reference, section A3. The
results are lists of already-escaped words, ready for :func:`escaping.format_options`.
Placeholders for values only known later (the pod's ID file) are passed in by the caller.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import GenerateError
from .escaping import check_expressible, escape_arg, escape_args
from .flagscan import CONTAINER_FLAGS, POD_FLAGS, scan_flags

logger = logging.getLogger(__name__)

CIDFILE = "%t/%n.ctr-id"


def _split(command: Sequence[str], arg_count: int) -> tuple[list[str], list[str]]:
    """The flag part and the protected tail (the last ``arg_count`` words)."""
    cut = len(command) - arg_count
    return list(command[:cut]), list(command[cut:])


def _drop_flags(command: Sequence[str], arg_count: int, *, bare: tuple[str, ...] = (),
                valued: tuple[str, ...] = ()) -> list[str]:
    """Drop from all but the last ``arg_count`` words the ``bare`` flags (``--x`` and
    ``--x=v``) and the ``valued`` flags (``--x v`` and ``--x=v``)."""
    head, tail = _split(command, arg_count)
    prefixes = tuple(f"{flag}=" for flag in (*bare, *valued))
    out: list[str] = []
    words = iter(head)
    for word in words:
        if word in valued:
            next(words, None)  # and its value
        elif word not in bare and not word.startswith(prefixes):
            out.append(word)
    return out + tail


def filter_pod_flags(command: Sequence[str], arg_count: int) -> list[str]:
    """Drop ``--pod``, ``--pod-id-file`` and ``--infra-conmon-pidfile`` (with their values)
    from all but the last ``arg_count`` words."""
    return _drop_flags(command, arg_count,
                       valued=("--pod", "--pod-id-file", "--infra-conmon-pidfile"))


def filter_common_container_flags(command: Sequence[str], arg_count: int) -> list[str]:
    """Drop ``--rm[=x]``, ``--cgroups[ =]x``, ``--cidfile[ =]x`` and ``--restart[ =]x``
    from all but the last ``arg_count`` words."""
    return _drop_flags(command, arg_count, bare=("--rm",),
                       valued=("--cgroups", "--cidfile", "--restart"))


def remove_words(command: Sequence[str], arg_count: int, words: Sequence[str]) -> list[str]:
    """Drop every word equal to one of ``words`` from all but the last ``arg_count`` words."""
    head, tail = _split(command, arg_count)
    return [w for w in head if w not in words] + tail


@dataclass
class ContainerCommand:
    """The outcome of rewriting a container's create command for ``--new``."""

    exec_start: list[str]                 # escaped words of ExecStart
    restart_policy: str | None = None     # from --restart, unless --restart-policy was given
    start_limit_burst: str = ""           # N of --restart=on-failure:N
    extra_envs: list[str] = field(default_factory=list)  # escaped KEY=VALUE for -e KEY


def rewrite_container_command(
    create_command: Sequence[str],
    *,
    executable: str,
    container_env: Sequence[str] = (),
    pod_id_file: str | None = None,
    use_restart_from_command: bool = True,
    name_or_id: str = "",
) -> ContainerCommand:
    """Turn ``podman [root flags] [container] run|create FLAGS IMAGE [CMD]`` into the
    ``podman run`` of a ``--new`` unit (reference A3, steps 2-12).

    ``pod_id_file`` is set when the container is rendered as a member of its pod.
    ``use_restart_from_command`` is False when ``--restart-policy`` was given explicitly.
    """
    command = list(create_command)
    index = next((i + 1 for i, w in enumerate(command) if w in ("run", "create")), 0)
    if index == 0:
        shown = "[" + " ".join(command) + "]"
        raise GenerateError(f"container's create command is too short or invalid: {shown}")

    # Every word is escaped except the file placeholders Podman fills in after escaping.
    start: list[str] = [escape_arg(executable)]
    if index > 2:
        # Podman escapes the root flags in place and then escapes the whole command once
        # more, so they come out escaped twice; kept for parity with 4.3.1.
        start += escape_args(escape_args(command[1 : index - 1]))
    start += ["run", f"--cidfile={CIDFILE}", "--cgroups=no-conmon", "--rm"]

    remaining = command[index:]
    scan = scan_flags(remaining, CONTAINER_FLAGS)
    narg = scan.narg
    remaining = filter_common_container_flags(remaining, narg)
    if pod_id_file is not None:
        start += ["--pod-id-file", pod_id_file]
        remaining = filter_pod_flags(remaining, narg)

    if "sdnotify" not in scan.changed:
        start.append("--sdnotify=conmon")
    elif scan.get_str("sdnotify") == "ignore":
        logger.info("Forcing --sdnotify=conmon for container %s", name_or_id)
        remaining = _drop_flags(remaining, narg, valued=("--sdnotify",))
        start.append("--sdnotify=conmon")

    if not scan.get_bool("detach"):
        start.append("-d")
        if "detach" in scan.changed:
            remaining = remove_words(remaining, narg, ("-d=false", "--detach=false"))
    if "name" in scan.changed and not scan.get_bool("replace"):
        start.append("--replace")
        if "replace" in scan.changed:
            remaining = remove_words(remaining, narg, ("--replace=false",))

    result = ContainerCommand(exec_start=[])
    if use_restart_from_command:
        policy = scan.get_str("restart")
        if policy:
            if policy.startswith("on-failure:"):
                policy, result.start_limit_burst = policy.split(":")[0], policy.split(":")[1]
            elif policy == "unless-stopped":
                policy = "always"
            result.restart_policy = policy

    env_map = [(key, value) for key, _, value in (e.partition("=") for e in container_env)]
    for env in scan.get_list("env"):
        if "=" not in env:
            for key, value in env_map:
                if key == env:
                    check_expressible(value, f"Config.Env[{key}]")
                    result.extra_envs.append(escape_arg(f"{key}={value}"))

    result.exec_start = start + escape_args(remaining)
    return result


def set_container_name_for_template(words: list[str], service_name: str) -> list[str]:
    """Give a template's container a per-instance name: append ``-%i`` to the ``--name``
    value, or insert ``--name=<service>-%i`` right after ``run``."""
    words = list(words)
    for i, word in enumerate(words):
        if word == "--name" and i + 1 < len(words):
            words[i + 1] += "-%i"
            return words
        if word == "--name":
            break
        if word.startswith("--name="):
            words[i] += "-%i"
            return words
    if "run" not in words:
        raise GenerateError('"run" is missing in the command arguments')
    words.insert(words.index("run") + 1, f"--name={service_name}-%i")
    return words


def has_pod_exit_policy(command: Sequence[str]) -> bool:
    return any(w == "--exit-policy" or w.startswith("--exit-policy=") for w in command)


@dataclass
class PodCommand:
    """The outcome of rewriting a pod's create command for ``--new``."""

    create: list[str]    # escaped words of ``podman pod create`` (ExecStartPre)
    root_flags: str      # escaped root flags, space-joined, for start/stop/rm


def rewrite_pod_command(
    create_command: Sequence[str], *, executable: str, pid_file: str, pod_id_file: str
) -> PodCommand:
    """Turn ``podman [root flags] pod create FLAGS`` into the ``ExecStartPre`` of a pod's
    ``--new`` unit (``--infra-conmon-pidfile``, ``--pod-id-file``, ``--exit-policy=stop``,
    ``--replace`` for a named pod)."""
    command = list(create_command)
    shown = "[" + " ".join(command) + "]"
    pairs = itertools.pairwise(command) if len(command) > 2 else ()
    create_index = next((i + 1 for i, pair in enumerate(pairs) if pair == ("pod", "create")), 0)
    if create_index == 0:
        raise GenerateError(f"pod does not appear to be created via `podman pod create`: {shown}")
    root_escaped = escape_args(command[1 : create_index - 1])
    create_args = filter_pod_flags(command[create_index + 1 :], 0)

    # Root flags escaped twice, as in Podman 4.3.1 (see rewrite_container_command); the
    # file placeholders are filled in after escaping.
    start = [escape_arg(executable), *escape_args(root_escaped), "pod", "create",
             "--infra-conmon-pidfile", pid_file, "--pod-id-file", pod_id_file]
    scan = scan_flags(create_args, POD_FLAGS)
    if "name" in scan.changed and not scan.get_bool("replace"):
        if "replace" in scan.changed:
            create_args = remove_words(create_args, scan.narg, ("--replace=false",))
        create_args.append("--replace")
    if not has_pod_exit_policy(command[1 : create_index - 1] + create_args):
        start.append("--exit-policy=stop")
    return PodCommand(create=start + escape_args(create_args), root_flags=" ".join(root_escaped))

