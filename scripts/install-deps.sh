#!/usr/bin/env bash
# Installs what podbridge needs on a Debian 12 machine, idempotently:
# Debian packages (as root, only the missing ones) and a virtualenv at .venv with the
# project and its test dependencies. Used by `make run`, `make test` and CI alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# netavark + iptables: the test world's networks (podman would otherwise fall back to CNI);
# catatonit: podman's infra containers (pods).
# stress-ng: `make test-stress` saturates the CPUs with it; libfaketime: the clock-jump fault.
debs=(podman runc netavark aardvark-dns iptables catatonit docker-registry busybox-static
      skopeo dbus systemd uidmap chromium iproute2 nodejs npm stress-ng libfaketime)
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come with a nodejs that is not Debian's (nodesource or a preinstalled one).
if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/npm}")
    missing=("${missing[@]/nodejs}")
fi
if [ "${#missing[@]}" -gt 0 ] && [ -n "$(echo "${missing[@]}" | tr -d ' ')" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "install-deps: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
    else
        echo "install-deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        # shellcheck disable=SC2068
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq ${missing[@]} >/dev/null
    fi
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
fi
stamp=.venv/.podbridge-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[test]'
    touch "$stamp"
fi
