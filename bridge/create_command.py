"""The ``podman create`` command line a user would have typed for ``containers.create``.

Podman's CLI stores its own argv in a container's ``Config.CreateCommand`` (the spec's
``containerCreateCommand``); a container made over the REST API has none unless the client
sends one. ``podman generate systemd --new`` (and the unit generator's new mode) rebuild a
container from that command at each start, which is what ``podman auto-update`` replaces.
So ``containers.create`` records here the command that makes the same container: every
option of its params, written the way the CLI reads it back.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from bridge.container_info import AUTOUPDATE_LABEL

if TYPE_CHECKING:
    from bridge.methods_containers import CreateParams, Health, Limits, Port, Volume

logger = logging.getLogger(__name__)

# Podman's health check defaults: an option equal to them is not written.
HEALTH_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "retries": 3, "start_period": 0.0}


class Inexpressible(ValueError):
    """A param the podman CLI cannot take back (e.g. a bind mount path with ':')."""


def duration(seconds: float) -> str:
    """A Go duration (``time.ParseDuration``): ``30s``, ``1500ms``."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def publish(port: Port) -> str:
    """``-p`` as the CLI reads it: ``[ip:][hostPort:]containerPort[/udp]``."""
    value = str(port.container_port)
    if port.host_port is not None:
        value = f"{port.host_port}:{value}"
    elif port.host_ip:
        value = f":{value}"
    if port.host_ip:
        ip = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip
        value = f"{ip}:{value}"
    return value + ("/udp" if port.protocol == "udp" else "")


def volume(v: Volume) -> list[str]:
    """``--volume SRC:DST[:ro]``, or ``--mount`` for a path with ':' (which -v splits on)."""
    if ":" not in v.source and ":" not in v.destination:
        return ["--volume", f"{v.source}:{v.destination}" + (":ro" if v.read_only else "")]
    if "," in v.source or "," in v.destination or not v.source.startswith("/"):
        raise Inexpressible(f"volume {v.source!r}:{v.destination!r}")
    return ["--mount", f"type=bind,source={v.source},destination={v.destination}"
            + (",ro" if v.read_only else "")]


def words_option(flag: str, words: list[str]) -> list[str]:
    """``--entrypoint`` / ``--health-cmd``: one word as is, several as a JSON array
    (both flags read a JSON array as an argv)."""
    if len(words) == 1 and not words[0].startswith("["):
        return [flag, words[0]]
    return [flag, json.dumps(words, separators=(",", ":"))]


def health_options(h: Health) -> list[str]:
    # Podman runs a one-word --health-cmd through the shell; the program is the same.
    out = (["--health-cmd", h.command] if isinstance(h.command, str)
           else words_option("--health-cmd", h.command))
    for field in ("interval", "timeout", "start_period"):
        value = float(getattr(h, field))
        if value != HEALTH_DEFAULTS[field]:
            out += [f"--health-{field.replace('_', '-')}", duration(value)]
    if h.retries != HEALTH_DEFAULTS["retries"]:
        out += ["--health-retries", str(h.retries)]
    if h.on_failure != "none":
        out += ["--health-on-failure", h.on_failure]
    return out


def limit_options(limits: Limits) -> list[str]:
    """``--memory`` (bytes: the CLI reads a bare number so), ``--cpu-shares``, ``--cpus``."""
    out: list[str] = []
    if limits.memory is not None:
        out += ["--memory", str(limits.memory)]
    if limits.cpu_shares is not None:
        out += ["--cpu-shares", str(limits.cpu_shares)]
    if limits.cpus is not None:
        out += ["--cpus", f"{limits.cpus:g}"]
    return out


def create_command(p: CreateParams, executable: str = "podman") -> list[str] | None:
    """``podman create ...`` for these params, or None (logged) when the CLI cannot say
    one of them: the container is then made without a create command, as before."""
    if p.image.startswith("-"):
        return None
    cmd = [executable, "create"]
    if p.name:
        cmd += ["--name", p.name]
    if p.pod:
        cmd += ["--pod", p.pod]
    labels = dict(p.labels)
    if p.auto_update is not None:
        labels[AUTOUPDATE_LABEL] = p.auto_update
    for key, value in labels.items():
        cmd += ["--label", f"{key}={value}"]
    for key, value in p.env.items():
        cmd += ["--env", f"{key}={value}"]
    for port in p.ports:
        cmd += ["--publish", publish(port)]
    try:
        for v in p.volumes:
            cmd += volume(v)
    except Inexpressible as exc:
        logger.info("no create command for %s: the CLI cannot take %s", p.name or p.image, exc)
        return None
    if p.restart_policy != "no":
        retries = f":{p.restart_retries}" if p.restart_retries is not None else ""
        cmd += ["--restart", p.restart_policy + retries]
    if p.tty:
        cmd.append("--tty")
    if p.limits is not None:
        cmd += limit_options(p.limits)
    if p.entrypoint is not None:
        cmd += words_option("--entrypoint", p.entrypoint)
    if p.health is not None:
        cmd += health_options(p.health)
    cmd.append(p.image)
    if p.command is not None:
        cmd += p.command
    return cmd
