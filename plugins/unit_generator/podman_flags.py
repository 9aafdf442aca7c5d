"""The flags of ``podman create``/``podman run`` (Podman 4.3.1, from ``podman create
--help`` plus the run-only ones), so that a stored create command can be read flag by flag.
"""

from __future__ import annotations

import logging

from .flagscan import Flag

logger = logging.getLogger(__name__)

_BOOL = {
    "detach": "d", "disable-content-trust": "", "env-host": "", "help": "", "http-proxy": "",
    "init": "", "interactive": "i", "no-healthcheck": "", "no-hosts": "",
    "oom-kill-disable": "", "privileged": "", "publish-all": "P", "quiet": "q",
    "read-only": "", "read-only-tmpfs": "", "replace": "", "rm": "", "rmi": "", "rootfs": "",
    "sig-proxy": "", "tls-verify": "", "tty": "t", "unsetenv-all": "",
}
_VALUE = {
    "add-host": "", "annotation": "", "arch": "", "attach": "a", "authfile": "",
    "blkio-weight": "", "blkio-weight-device": "", "cap-add": "", "cap-drop": "",
    "cgroup-conf": "", "cgroup-parent": "", "cgroupns": "", "cgroups": "", "chrootdirs": "",
    "cidfile": "", "conmon-pidfile": "", "cpu-period": "", "cpu-quota": "",
    "cpu-rt-period": "", "cpu-rt-runtime": "", "cpu-shares": "c", "cpus": "",
    "cpuset-cpus": "", "cpuset-mems": "", "detach-keys": "", "device": "",
    "device-cgroup-rule": "", "device-read-bps": "", "device-read-iops": "",
    "device-write-bps": "", "device-write-iops": "", "dns": "", "dns-option": "",
    "dns-search": "", "entrypoint": "", "env": "e", "env-file": "", "env-merge": "",
    "expose": "", "gidmap": "", "group-add": "", "health-cmd": "", "health-interval": "",
    "health-on-failure": "", "health-retries": "", "health-start-period": "",
    "health-startup-cmd": "", "health-startup-interval": "", "health-startup-retries": "",
    "health-startup-success": "", "health-startup-timeout": "", "health-timeout": "",
    "hostname": "h", "hostuser": "", "image-volume": "", "init-ctr": "", "init-path": "",
    "ip": "", "ip6": "", "ipc": "", "label": "l", "label-file": "", "log-driver": "",
    "log-opt": "", "mac-address": "", "memory": "m", "memory-reservation": "",
    "memory-swap": "", "memory-swappiness": "", "mount": "", "name": "", "network": "",
    "net": "", "network-alias": "", "oom-score-adj": "", "os": "", "passwd-entry": "",
    "personality": "", "pid": "", "pidfile": "", "pids-limit": "", "platform": "", "pod": "",
    "pod-id-file": "", "preserve-fds": "", "publish": "p", "pull": "", "requires": "",
    "restart": "", "runtime": "", "sdnotify": "", "seccomp-policy": "", "secret": "",
    "security-opt": "", "shm-size": "", "stop-signal": "", "stop-timeout": "",
    "subgidname": "", "subuidname": "", "sysctl": "", "systemd": "", "timeout": "",
    "tmpfs": "", "tz": "", "uidmap": "", "ulimit": "", "umask": "", "unsetenv": "",
    "user": "u", "userns": "", "uts": "", "variant": "", "volume": "v", "volumes-from": "",
    "workdir": "w",
}

CREATE_FLAGS: tuple[Flag, ...] = (
    *(Flag(name, "bool", short) for name, short in _BOOL.items()),
    *(Flag(name, "array", short) for name, short in _VALUE.items()),
)

_POD_BOOL = {"help": "", "infra": "", "no-hosts": "", "replace": "", "share-parent": ""}
_POD_VALUE = {
    "add-host": "", "blkio-weight": "", "blkio-weight-device": "", "cgroup-parent": "",
    "cpu-shares": "c", "cpus": "", "cpuset-cpus": "", "cpuset-mems": "", "device": "",
    "device-read-bps": "", "device-write-bps": "", "dns": "", "dns-option": "",
    "dns-search": "", "exit-policy": "", "gidmap": "", "hostname": "h", "infra-command": "",
    "infra-conmon-pidfile": "", "infra-image": "", "infra-name": "", "ip": "", "ip6": "",
    "label": "l", "label-file": "", "mac-address": "", "memory": "m", "memory-swap": "",
    "name": "n", "network": "", "net": "", "network-alias": "", "pid": "",
    "pod-id-file": "", "publish": "p", "security-opt": "", "share": "", "shm-size": "",
    "subgidname": "", "subuidname": "", "sysctl": "", "uidmap": "", "userns": "", "uts": "",
    "volume": "v", "volumes-from": "",
}

POD_CREATE_FLAGS: tuple[Flag, ...] = (
    *(Flag(name, "bool", short) for name, short in _POD_BOOL.items()),
    *(Flag(name, "array", short) for name, short in _POD_VALUE.items()),
)
