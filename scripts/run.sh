#!/usr/bin/env bash
# `make run`: serve against the host's Podman and systemd when a systemd manager answers
# on D-Bus; otherwise (containers, CI machines, these VMs) boot the test world with a few
# demo containers and serve against that, saying so.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
WORLD=${WORLD:-$PWD/.worlds/run}
LISTEN=${PODBRIDGE_LISTEN:-127.0.0.1:9180}

host_systemd() {
    [ -d /run/systemd/system ] || return 1
    timeout 5 busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 \
        org.freedesktop.DBus.Peer Ping >/dev/null 2>&1
}

if host_systemd && [ -z "${PODBRIDGE_DEMO:-}" ]; then
    echo "make run: a systemd manager answers on D-Bus: serving the host's Podman and systemd"
    exec "$BIN/podbridge" serve --listen "$LISTEN" "$@"
fi

echo "make run: no systemd manager answers on this machine's D-Bus."
echo "make run: booting the podbridge test world in $WORLD (its own systemd, D-Bus, Podman"
echo "          and registry, with demo containers) and serving against it."
"$BIN/podbridge" sandbox down "$WORLD" >/dev/null 2>&1 || true
# PODBRIDGE_FLAVOUR=debian13: the world runs Debian 13's systemd 257 and Podman 5;
# debian12 Debian 12's systemd 252 and 4.3.1. By default the machine's own Debian's (it
# boots the machine's own systemd and Podman; debian12 on anything else): the other one
# is a tree built once with debootstrap.
flavour=${PODBRIDGE_FLAVOUR:-$("$BIN/python" -c \
    'from bridge.sandbox.flavours import host_flavour; print(host_flavour())')}
echo "make run: the $flavour world (PODBRIDGE_FLAVOUR=debian12|debian13 picks one)"
"$BIN/podbridge" sandbox up "$WORLD" --demo --flavour "$flavour"
cleanup() { "$BIN/podbridge" sandbox down "$WORLD" || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
eval "$("$BIN/podbridge" sandbox env "$WORLD")"
"$BIN/podbridge" serve --listen "$LISTEN" --state-dir "$WORLD/bridge-state" \
    --unit-dir "$(cat "$WORLD/unit-dir" 2>/dev/null || echo "$WORLD/units")" "$@"
