#!/usr/bin/env bash
# Installs what podbridge needs on a Debian 12 or Debian 13 machine, idempotently:
# Debian packages (as root, only the missing ones) and a virtualenv at .venv with the
# project and its test dependencies. Used by `make run`, `make test` and CI alike.
set -euo pipefail
cd "$(dirname "$0")/.."

# The machine's Debian release decides the package set (bookworm or trixie; the names are
# the same, the versions are not: see the table below and README "Tested with").
# INSTALL_DEPS_PLAN=1 only says what it found and what it would install (apt-get's
# simulation), then stops: the package resolution on its own, installing nothing.
#
#                  Debian 12 bookworm     Debian 13 trixie
#   python3        3.11                   3.13 (.venv is made by the machine's python3)
#   podman         4.3.1, runc            5.4.2, crun (+ runc), pasta (passt) rootless
#   systemd        252                    257
#   chromium       Debian's (Playwright drives /usr/bin/chromium on both)
#   nodejs / npm   18 / 9                 20 / 9
#   nats-server    2.9.10 (the floor)     2.10
#   cockpit        287 (C bridge)         337 (Python bridge), cockpit-podman 67 / 108
# The debian12 world boots the machine's own systemd and Podman on bookworm and a built
# bookworm tree on trixie; debian13 the reverse (bridge/sandbox/flavours.py).

# python3-venv: `python3 -m venv` (Debian keeps ensurepip out of python3).
# netavark + iptables: the test world's networks (podman would otherwise fall back to CNI);
# catatonit: podman's infra containers (pods).
# debootstrap: the root filesystem of a world flavour the machine does not run itself
# (debian13 on a Debian 12 machine, debian12 on a Debian 13 one; bridge/sandbox/flavours.py).
# stress-ng: `make test-stress` saturates the CPUs with it; libfaketime: the clock-jump fault.
# nats-server: the fleet's engine (NATS JetStream; 2.9.10 on Debian 12 is the floor).
# openssl: `podbridge serve --tls` makes its certificate with it; curl: a world test asks
# Podman's socket with it (neither comes with a minimal Debian 13).
# criu: checkpoint/restore of containers (a Recommends of podman, named so that a
# --no-install-recommends machine has it too); crun on Debian 13 also needs libcriu2.
debs=(python3 python3-venv podman runc netavark aardvark-dns iptables catatonit
      docker-registry busybox-static skopeo dbus systemd uidmap chromium iproute2 nodejs npm
      debootstrap stress-ng libfaketime nats-server openssl curl criu)
release=$(. /etc/os-release 2>/dev/null && echo "${ID:-?} ${VERSION_ID:-?} ${VERSION_CODENAME:-}")
codename=${release##* }
case "$codename" in
    # Debian 12: Podman 4.3.1's rootless network is slirp4netns (a Recommends of podman).
    bookworm) debs+=(slirp4netns) ;;
    # Debian 13: crun is Podman's default runtime, pasta its rootless network; the debian13
    # world boots the machine's own systemd 257 and Podman 5 with journald as the events
    # backend, so journald's Podman events need nothing more.
    trixie) debs+=(crun passt libcriu2) ;;
    *) echo "install-deps: ${release% } is neither Debian 12 (bookworm) nor 13 (trixie); trying Debian 12's package names" >&2 ;;
esac
plan=${INSTALL_DEPS_PLAN:-}
if [ -n "$plan" ]; then
    echo "install-deps: this machine: ${release% }"
fi
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm may come with a nodejs that is not Debian's (nodesource or a preinstalled one).
if command -v npm >/dev/null 2>&1; then
    missing=("${missing[@]/npm}")
    missing=("${missing[@]/nodejs}")
fi
# Cockpit (issue 20): its page for podbridge is tested, and measured beside cockpit-podman,
# against the test world. Without recommends: no PackageKit, NetworkManager or the like.
cockpit=(cockpit-ws cockpit-bridge cockpit-system cockpit-podman)
cmissing=()
for p in "${cockpit[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || cmissing+=("$p")
done

if [ -n "$plan" ]; then
    # apt-get's own resolution against the machine's package lists (refreshed when root):
    # every name must exist in this release and install together.
    if [ "$(id -u)" -eq 0 ]; then apt-get -o DPkg::Lock::Timeout=600 update -qq; fi
    echo "install-deps: packages for ${codename:-?}: ${debs[*]} + ${cockpit[*]} (no recommends)"
    for p in "${debs[@]}" "${cockpit[@]}"; do
        printf '  %-16s %s\n' "$p" "$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    done
    # shellcheck disable=SC2068
    apt-get -s -qq install ${missing[@]} >/dev/null
    apt-get -s -qq install --no-install-recommends "${cockpit[@]}" >/dev/null
    echo "install-deps: missing here: ${missing[*]:-none} + ${cmissing[*]:-none}; apt-get resolves them (simulated, nothing installed)"
    echo "install-deps: python: $(${PYTHON:-python3} --version 2>&1 || echo 'none yet')"
    exit 0
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

if [ "${#cmissing[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    echo "install-deps: installing ${cmissing[*]} (without recommends)"
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
        --no-install-recommends "${cmissing[@]}" >/dev/null
elif [ "${#cmissing[@]}" -gt 0 ]; then
    echo "install-deps: missing Debian packages: ${cmissing[*]} (run as root to install them)" >&2
fi

py=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$py" -m venv .venv
fi
stamp=.venv/.podbridge-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    # compat: a plain .pth entry instead of setuptools' import finder, which costs every
    # `podbridge` command 20-40 ms of start-up on a busy machine (see docs/choices.md).
    .venv/bin/pip install -q -e '.[test]' --config-settings editable_mode=compat
    touch "$stamp"
fi
