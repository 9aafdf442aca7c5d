"""``podbridge generate quadlet``: a Quadlet ``.container`` (or ``.pod``) file for an
existing container or pod, read from its stored create command.

Every flag that has a Quadlet key becomes that key (``-p`` -> ``PublishPort=``,
``--label io.containers.autoupdate=X`` -> ``AutoUpdate=X``, ``--sdnotify=container`` ->
``Notify=true``, ...); flags Quadlet handles itself (``--rm``, ``--replace``, ``-d``,
``--cidfile``, ``--sdnotify=conmon``, ``--pod-id-file``) are dropped; ``--restart`` becomes
``[Service] Restart=``; anything else goes to ``PodmanArgs=``, root flags to
``GlobalArgs=``. Values are escaped for what Quadlet does with them: words that Quadlet
splits (``Environment=``, ``Label=``, ``Exec=``, ``PodmanArgs=``, ...) are escaped like
``podman generate systemd`` does (``$``/``%`` doubled, quoted when holding a space);
single values only get ``$``/``%`` doubled, and fall back to ``PodmanArgs=`` when Quadlet
would trim or unquote them. A newline anywhere is refused (GenerateError naming the field).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bridge.container_info import AUTOUPDATE_LABEL

from .errors import GenerateError
from .escaping import check_all_expressible, check_expressible, escape_arg
from .flagscan import Flag, scan_flags
from .inputs import ContainerInfo, PodInfo
from .podman_flags import CREATE_FLAGS, POD_CREATE_FLAGS
from .quadlet.container import ALL_STRINGS_FLAGS, BOOL_FLAGS, STRING_FLAGS
from .quadlet.keys import HEALTH_FLAGS

logger = logging.getLogger(__name__)


# flag -> Quadlet key, for values Quadlet passes through as one word ("raw"): the
# converter's string and health keys read backwards (those Podman 4.3.1's create does not
# know, such as --retry, never come: its scan names them as unknown flags, "?--..."), and
# the keys the converter writes in a way of their own.
_RAW_KEYS = {
    **{flag[2:]: key for key, flag in (*STRING_FLAGS.items(), *ALL_STRINGS_FLAGS.items())},
    **{f"health-{flag}": key for key, flag in HEALTH_FLAGS},
    "name": "ContainerName", "publish": "PublishPort", "volume": "Volume", "network": "Network",
    "net": "Network", "entrypoint": "Entrypoint", "expose": "ExposeHostPort",
    "log-driver": "LogDriver", "log-opt": "LogOpt", "userns": "UserNS", "gidmap": "GIDMap",
    "uidmap": "UIDMap", "subgidname": "SubGIDMap", "subuidname": "SubUIDMap",
    "cgroups": "CgroupsMode",
}
# flag -> key, for values Quadlet splits into words (so they are escaped as words).
_WORD_KEYS = {
    "env": "Environment", "label": "Label", "annotation": "Annotation", "mount": "Mount",
    "secret": "Secret", "env-file": "EnvironmentFile", "cap-add": "AddCapability",
    "cap-drop": "DropCapability", "device": "AddDevice", "sysctl": "Sysctl",
}
# boolean flag -> key (written as true/false).
_BOOL_KEYS = {"read-only": "ReadOnly", **{flag[2:]: key for key, flag in BOOL_FLAGS.items()}}
# Flags Quadlet sets itself (or that only make sense for a one-off podman run).
_DROPPED = {"rm", "replace", "detach", "cidfile", "conmon-pidfile", "pod-id-file",
            "infra-conmon-pidfile", "detach-keys", "sig-proxy", "attach"}
_SECURITY_PREFIX = {"apparmor=": "AppArmor", "label=type:": "SecurityLabelType",
                    "label=level:": "SecurityLabelLevel",
                    "label=filetype:": "SecurityLabelFileType",
                    "seccomp=": "SeccompProfile", "mask=": "Mask", "unmask=": "Unmask"}
_SECURITY_BOOL = {"label=disable": "SecurityLabelDisable", "label=nested": "SecurityLabelNested",
                  "no-new-privileges": "NoNewPrivileges", "no-new-privileges=true":
                  "NoNewPrivileges"}
# A pod's flags have the keys a container's have, but for its name and its exit policy.
_POD_RAW_KEYS = {"name": "PodName", "exit-policy": "ExitPolicy", **{
    flag: _RAW_KEYS[flag] for flag in ("publish volume network net network-alias hostname "
                                       "add-host dns dns-option dns-search ip ip6 shm-size "
                                       "userns gidmap uidmap subgidname subuidname").split()}}
_POD_WORD_KEYS = {"label": "Label"}
_POD_DROPPED = {"replace", "infra-conmon-pidfile", "pod-id-file"}


def _raw(value: str) -> str | None:
    """A single value as Quadlet reads it back unchanged, or None if it cannot be."""
    if value != value.strip() or not value or value.endswith("\\") or (
        len(value) >= 2 and value[0] == value[-1] == '"'
    ):
        return None
    return value.replace("%", "%%").replace("$", "$$")


@dataclass
class _Builder:
    group: str
    keys: list[tuple[str, str]] = field(default_factory=list)
    podman_args: list[str] = field(default_factory=list)
    service: list[tuple[str, str]] = field(default_factory=list)
    unit: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def raw(self, key: str, value: str, flag: str) -> None:
        escaped = _raw(value)
        if escaped is None:
            self.arg(flag, value)
        else:
            self.keys.append((key, escaped))

    def word(self, key: str, value: str) -> None:
        self.keys.append((key, escape_arg(value)))

    def arg(self, flag: str, value: str | None) -> None:
        self.podman_args.append(escape_arg(flag))
        if value is not None:
            self.podman_args.append(escape_arg(value))

    def render(self, header: str) -> str:
        lines = [header, ""]
        if self.unit:
            lines += ["[Unit]", *(f"{k}={v}" for k, v in self.unit), ""]
        lines += [f"[{self.group}]", *(f"{k}={v}" for k, v in self.keys)]
        if self.podman_args:
            lines.append("PodmanArgs=" + " ".join(self.podman_args))
        if self.service:
            lines += ["", "[Service]", *(f"{k}={v}" for k, v in self.service)]
        lines += ["", "[Install]", "WantedBy=default.target", ""]
        return "\n".join(lines)


def _split_command(command: Sequence[str], verbs: Sequence[str]) -> tuple[list[str], list[str]]:
    """Root flags and the words after the verb (``run``/``create``, ``pod create``)."""
    for i in range(1, len(command)):
        if list(command[i : i + len(verbs)]) == list(verbs):
            root = [w for w in command[1:i] if w != "container"]
            return root, list(command[i + len(verbs) :])
    raise GenerateError(f"not a podman {' '.join(verbs)} command: {list(command)}")


def _restart(builder: _Builder, policy: str) -> None:
    name, _, retries = policy.partition(":")
    if name in ("", "no"):
        return
    builder.service.append(("Restart", "always" if name == "unless-stopped" else name))
    if retries:
        builder.unit.append(("StartLimitBurst", retries))


def _security_opt(builder: _Builder, value: str) -> None:
    prefix = next((p for p in _SECURITY_PREFIX if value.startswith(p)), None)
    if value in _SECURITY_BOOL:
        builder.keys.append((_SECURITY_BOOL[value], "true"))
    elif prefix is not None:
        builder.raw(_SECURITY_PREFIX[prefix], value[len(prefix) :], "--security-opt")
    else:
        builder.arg("--security-opt", value)


def _flag(builder: _Builder, name: str, value: str, raw: Mapping[str, str],
          words: Mapping[str, str], dropped: set[str], flags: Sequence[Flag]) -> None:
    """A flag of a container or a pod: to its key (``raw`` or ``words``), dropped, or to
    ``PodmanArgs=`` as it was given (an unknown one, ``?``, with the word it took)."""
    if name in dropped:
        return
    if name in raw:
        builder.raw(raw[name], value, f"--{name}")
    elif name in words:
        builder.word(words[name], value)
    elif name.startswith("?"):
        builder.arg(name[1:], value or None)
    elif any(f.name == name and f.kind == "bool" for f in flags):
        builder.arg(f"--{name}" if value == "true" else f"--{name}={value}", None)
    else:
        builder.arg(f"--{name}", value)


def _container_flag(builder: _Builder, name: str, value: str, info: ContainerInfo,
                    pod_file: str | None) -> None:
    if name == "restart":
        _restart(builder, value)
    elif name == "security-opt":
        _security_opt(builder, value)
    elif name == "pod":
        if pod_file:
            builder.keys.append(("Pod", pod_file))
        else:
            builder.arg("--pod", value)
    elif name == "sdnotify":
        if value in ("container", "healthy"):
            builder.keys.append(("Notify", "true" if value == "container" else "healthy"))
        elif value == "ignore":
            builder.warnings.append("--sdnotify=ignore dropped: Quadlet units use "
                                    "--sdnotify=conmon")
    elif name == "label" and value.startswith(AUTOUPDATE_LABEL + "="):
        builder.raw("AutoUpdate", value.split("=", 1)[1], "--label")
    elif name == "env" and "=" not in value:
        found = [e for e in info.env if e.partition("=")[0] == value]
        if found:
            check_expressible(found[-1], f"Config.Env[{value}]")
            builder.word("Environment", found[-1])
        else:
            builder.arg("--env", value)
    elif name == "user":
        user, colon, group = value.partition(":")
        builder.raw("User", user, "--user")
        if colon:
            builder.raw("Group", group, "--group")
    elif name in _BOOL_KEYS:
        builder.keys.append((_BOOL_KEYS[name], "true" if value in ("true", "1", "t") else
                             "false"))
    else:
        _flag(builder, name, value, _RAW_KEYS, _WORD_KEYS, _DROPPED, CREATE_FLAGS)


@dataclass
class QuadletExport:
    """The Quadlet files (file name -> content) and what could not be carried over."""

    files: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def export_container(info: ContainerInfo, *, pod_file: str | None = None) -> QuadletExport:
    """A ``<name>.container`` file for one container. With ``pod_file`` (``x.pod``) the
    container joins that Quadlet pod instead of keeping its ``--pod`` flag."""
    builder = _Builder("Container")
    if info.create_command is None:
        return _export_from_inspect(info, builder)
    check_all_expressible(info.create_command, "Config.CreateCommand")
    verb = next((w for w in info.create_command[1:] if w in ("run", "create")), "run")
    root, rest = _split_command(info.create_command, [verb])
    scan = scan_flags(rest, CREATE_FLAGS)
    image, *exec_args = scan.positional or [info.image]
    rootfs = "rootfs" in scan.changed and scan.get_bool("rootfs")
    builder.keys.append(("Rootfs" if rootfs else "Image", _raw(image) or escape_arg(image)))
    if "name" not in scan.changed and info.name:
        builder.keys.append(("ContainerName", info.name))
    for name, value in scan.occurrences:
        if name == "rootfs":
            continue
        _container_flag(builder, name, value, info, pod_file)
    if root:
        builder.keys.append(("GlobalArgs", " ".join(escape_arg(w) for w in root)))
    if exec_args:
        builder.keys.append(("Exec", " ".join(escape_arg(w) for w in exec_args)))
    header = f"# {info.name}.container: exported by podbridge from container {info.id[:12]}"
    return QuadletExport({f"{info.name}.container": builder.render(header)}, builder.warnings)


def _export_from_inspect(info: ContainerInfo, builder: _Builder) -> QuadletExport:
    """No create command (made over the REST API): what inspect data can tell."""
    config = info.raw.get("Config") if isinstance(info.raw.get("Config"), Mapping) else {}
    assert isinstance(config, Mapping)
    builder.keys.append(("Image", _raw(info.image) or escape_arg(info.image)))
    builder.keys.append(("ContainerName", info.name))
    host = info.raw.get("HostConfig")
    bindings = host.get("PortBindings") if isinstance(host, Mapping) else None
    for port, binds in (bindings or {}).items():
        for bind in binds or []:
            ip = bind.get("HostIp") or ""
            builder.raw("PublishPort", f"{ip + ':' if ip else ''}{bind.get('HostPort')}:"
                        f"{port.removesuffix('/tcp')}", "--publish")
    for key, value in sorted(info.labels.items()):
        if key == AUTOUPDATE_LABEL:
            builder.raw("AutoUpdate", value, "--label")
        else:
            builder.word("Label", f"{key}={value}")
    _restart(builder, info.restart_policy + (f":{info.restart_retries}"
                                             if info.restart_retries else ""))
    command = config.get("Cmd")
    if isinstance(command, list) and command:
        check_all_expressible([str(c) for c in command], "Config.Cmd")
        builder.keys.append(("Exec", " ".join(escape_arg(str(c)) for c in command)))
    builder.warnings.append(f"container {info.name} has no create command: only the image, "
                            "name, ports, labels, restart policy and command were exported")
    header = f"# {info.name}.container: exported by podbridge from container {info.id[:12]}"
    return QuadletExport({f"{info.name}.container": builder.render(header)}, builder.warnings)


def export_pod(pod: PodInfo, members: Sequence[ContainerInfo]) -> QuadletExport:
    """A ``<pod>.pod`` file plus one ``.container`` file per member (infra excluded)."""
    if not pod.create_command:
        raise GenerateError(f'cannot export pod "{pod.name}": no create command found',
                            code="not-supported")
    check_all_expressible(pod.create_command, "pod CreateCommand")
    root, rest = _split_command(pod.create_command, ["pod", "create"])
    scan = scan_flags(rest, POD_CREATE_FLAGS)
    builder = _Builder("Pod")
    if "name" not in scan.changed:
        builder.keys.append(("PodName", pod.name))
    for name, value in scan.occurrences:
        _flag(builder, name, value, _POD_RAW_KEYS, _POD_WORD_KEYS, _POD_DROPPED,
              POD_CREATE_FLAGS)
    if root:
        builder.keys.append(("GlobalArgs", " ".join(escape_arg(w) for w in root)))
    pod_file = f"{pod.name}.pod"
    result = QuadletExport({pod_file: builder.render(
        f"# {pod_file}: exported by podbridge from pod {pod.id[:12]}")}, builder.warnings)
    for member in sorted(members, key=lambda m: m.name):
        if member.id == pod.infra_id or member.is_infra:
            continue
        exported = export_container(member, pod_file=pod_file)
        result.files.update(exported.files)
        result.warnings += exported.warnings
    return result


def export(container_inspect: Mapping[str, object] | None,
           pod_inspect: Mapping[str, object] | None,
           member_inspects: Sequence[Mapping[str, object]] = ()) -> QuadletExport:
    """``generate quadlet`` for a container (``pod_inspect`` None) or a pod (its inspect and
    its containers' inspects). Returns file name -> content, e.g. ``web.container``."""
    if pod_inspect is not None:
        members = [ContainerInfo.from_inspect(m) for m in member_inspects]
        return export_pod(PodInfo.from_inspect(pod_inspect), members)
    if container_inspect is None:
        raise GenerateError("nothing to export: neither a container nor a pod",
                            code="not-found")
    return export_container(ContainerInfo.from_inspect(container_inspect))
