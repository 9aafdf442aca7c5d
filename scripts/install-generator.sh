#!/usr/bin/env bash
# `make install`: podbridge's Quadlet generator (`podbridge quadlet`) as systemd's system
# and user generator, where Podman brings none (Podman < 4.4, e.g. Debian 12's 4.3.1).
#
# Installs two small wrapper scripts, under the names Podman's own packages use:
#   /usr/lib/systemd/system-generators/podman-system-generator
#   /usr/lib/systemd/user-generators/podman-user-generator   (runs `podbridge quadlet --user`)
# Idempotent: an identical wrapper is left alone, an older one of ours is replaced. It never
# replaces a file that is not ours (Podman's symlink to its quadlet binary, anything else),
# and installs nothing while Podman's own quadlet binary is present: it says so instead.
#
#   scripts/install-generator.sh               install (as root)
#   scripts/install-generator.sh --uninstall   remove our wrappers, nothing else
#   DESTDIR=/some/root scripts/install-generator.sh   stage into another root
# Then `systemctl daemon-reload` (or a reboot) runs the generator.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
DESTDIR=${DESTDIR:-}
PODBRIDGE=${PODBRIDGE_BIN:-$REPO/.venv/bin/podbridge}
MARKER="# podbridge quadlet generator"
PODMAN_QUADLET=/usr/libexec/podman/quadlet
SYSTEM_GEN=/usr/lib/systemd/system-generators/podman-system-generator
USER_GEN=/usr/lib/systemd/user-generators/podman-user-generator

say() { echo "install-generator: $*"; }

wrapper() {  # $1: extra flag for `podbridge quadlet` ("" or "--user")
    cat <<EOF
#!/bin/sh
$MARKER: installed by $REPO/scripts/install-generator.sh
# systemd runs it with three output folders (normal, early, late); units go to the first.
# It reads \$QUADLET_UNIT_DIRS, else Podman's Quadlet folders, as Podman's quadlet does.
if [ ! -x "$PODBRIDGE" ]; then
    echo "podbridge quadlet generator: $PODBRIDGE is gone; reinstall with make install" >&2
    exit 1
fi
exec "$PODBRIDGE" quadlet${1:+ $1} "\$@"
EOF
}

ours() {  # $1: a path; true when it is a wrapper we wrote
    [ -f "$1" ] && [ ! -L "$1" ] && grep -qF "$MARKER" "$1"
}

describe() {  # what is at $1, for a refusal
    if [ -L "$1" ]; then echo "a symlink to $(readlink "$1")"; else echo "a file not written by podbridge"; fi
}

install_one() {  # $1: target path (without DESTDIR), $2: flag
    local target=$DESTDIR$1 content
    content=$(wrapper "$2")
    if [ -e "$target" ] || [ -L "$target" ]; then
        if ! ours "$target"; then
            say "refusing to replace $target: it is $(describe "$target") (Podman's own Quadlet generator?). Left alone."
            return 1
        fi
        if [ "$(cat "$target")" = "$content" ]; then
            say "$target: already installed"
            return 0
        fi
    fi
    mkdir -p "$(dirname "$target")"
    printf '%s\n' "$content" >"$target.podbridge-new"
    chmod 0755 "$target.podbridge-new"
    mv -f "$target.podbridge-new" "$target"
    say "installed $target -> $PODBRIDGE quadlet${2:+ $2}"
}

uninstall_one() {
    local target=$DESTDIR$1
    if ours "$target"; then
        rm -f "$target"
        say "removed $target"
    elif [ -e "$target" ] || [ -L "$target" ]; then
        say "$target is $(describe "$target"): not ours, left alone"
    fi
}

if [ "${1:-}" = "--uninstall" ]; then
    uninstall_one "$SYSTEM_GEN"
    uninstall_one "$USER_GEN"
    exit 0
fi

if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    say "run as root (it writes into /usr/lib/systemd), or set DESTDIR" >&2
    exit 1
fi
if [ -x "$DESTDIR$PODMAN_QUADLET" ]; then
    say "Podman's own Quadlet ($DESTDIR$PODMAN_QUADLET) is installed: it is this machine's" \
        "Quadlet generator, and podbridge's is not installed over it. Nothing changed."
    exit 0
fi
if [ ! -x "$PODBRIDGE" ]; then
    say "$PODBRIDGE not found: run make deps first" >&2
    exit 1
fi
status=0
install_one "$SYSTEM_GEN" "" || status=1
install_one "$USER_GEN" "--user" || status=1
if [ "$status" -eq 0 ] && [ -z "$DESTDIR" ]; then
    say "systemctl daemon-reload (or systemctl --user daemon-reload) runs it; Quadlet files" \
        "go in /etc/containers/systemd (or ~/.config/containers/systemd)."
fi
exit "$status"
