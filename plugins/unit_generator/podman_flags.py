"""The flags of ``podman create``/``podman run`` (Podman 4.3.1, from ``podman create
--help`` plus the run-only ones), so that a stored create command can be read flag by flag.
"""

from __future__ import annotations

import logging

from .flagscan import Flag

logger = logging.getLogger(__name__)

# The flags, as --help lists them, and their shorthands.
_BOOL = ("detach disable-content-trust env-host help http-proxy init interactive "
         "no-healthcheck no-hosts oom-kill-disable privileged publish-all quiet read-only "
         "read-only-tmpfs replace rm rmi rootfs sig-proxy tls-verify tty unsetenv-all").split()
_VALUE = ("add-host annotation arch attach authfile blkio-weight blkio-weight-device cap-add "
          "cap-drop cgroup-conf cgroup-parent cgroupns cgroups chrootdirs cidfile "
          "conmon-pidfile cpu-period cpu-quota cpu-rt-period cpu-rt-runtime cpu-shares cpus "
          "cpuset-cpus cpuset-mems detach-keys device device-cgroup-rule device-read-bps "
          "device-read-iops device-write-bps device-write-iops dns dns-option dns-search "
          "entrypoint env env-file env-merge expose gidmap group-add health-cmd "
          "health-interval health-on-failure health-retries health-start-period "
          "health-startup-cmd health-startup-interval health-startup-retries "
          "health-startup-success health-startup-timeout health-timeout hostname hostuser "
          "image-volume init-ctr init-path ip ip6 ipc label label-file log-driver log-opt "
          "mac-address memory memory-reservation memory-swap memory-swappiness mount name "
          "network net network-alias oom-score-adj os passwd-entry personality pid pidfile "
          "pids-limit platform pod pod-id-file preserve-fds publish pull requires restart "
          "runtime sdnotify seccomp-policy secret security-opt shm-size stop-signal "
          "stop-timeout subgidname subuidname sysctl systemd timeout tmpfs tz uidmap ulimit "
          "umask unsetenv user userns uts variant volume volumes-from workdir").split()
_SHORT = {"detach": "d", "interactive": "i", "publish-all": "P", "quiet": "q", "tty": "t",
          "attach": "a", "cpu-shares": "c", "env": "e", "hostname": "h", "label": "l",
          "memory": "m", "publish": "p", "user": "u", "volume": "v", "workdir": "w"}

CREATE_FLAGS: tuple[Flag, ...] = (
    *(Flag(name, "bool", _SHORT.get(name, "")) for name in _BOOL),
    *(Flag(name, "array", _SHORT.get(name, "")) for name in _VALUE),
)

_POD_BOOL = "help infra no-hosts replace share-parent".split()
_POD_VALUE = ("add-host blkio-weight blkio-weight-device cgroup-parent cpu-shares cpus "
              "cpuset-cpus cpuset-mems device device-read-bps device-write-bps dns dns-option "
              "dns-search exit-policy gidmap hostname infra-command infra-conmon-pidfile "
              "infra-image infra-name ip ip6 label label-file mac-address memory memory-swap "
              "name network net network-alias pid pod-id-file publish security-opt share "
              "shm-size subgidname subuidname sysctl uidmap userns uts volume volumes-from").split()
_POD_SHORT = {"cpu-shares": "c", "hostname": "h", "label": "l", "memory": "m", "name": "n",
              "publish": "p", "volume": "v"}

POD_CREATE_FLAGS: tuple[Flag, ...] = (
    *(Flag(name, "bool", _POD_SHORT.get(name, "")) for name in _POD_BOOL),
    *(Flag(name, "array", _POD_SHORT.get(name, "")) for name in _POD_VALUE),
)
