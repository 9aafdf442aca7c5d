#!/usr/bin/env bash
# `make install`: podbridge-auto-update.service and .timer, the drop-ins for Podman's
# podman-auto-update.service and .timer (same schedule, same oneshot service, with
# `podbridge auto-update` in Podman's place), for the system and for every user.
#
#   scripts/install-autoupdate-units.sh               install (as root)
#   scripts/install-autoupdate-units.sh --uninstall   remove them
#   DESTDIR=/some/root scripts/install-autoupdate-units.sh   stage into another root
#   UNIT_PREFIX=/etc/systemd   install under /etc/systemd/{system,user} instead
# Then `systemctl daemon-reload` and `systemctl enable --now podbridge-auto-update.timer`
# (disable podman-auto-update.timer, or both update the same containers).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
DESTDIR=${DESTDIR:-}
PODBRIDGE=${PODBRIDGE_BIN:-$REPO/.venv/bin/podbridge}
PODMAN=${PODMAN_BIN:-$(command -v podman || echo /usr/bin/podman)}
PREFIX=${UNIT_PREFIX:-/usr/local/lib/systemd}
SRC=plugins/auto_update/systemd
say() { echo "install-autoupdate-units: $*"; }

for scope in system user; do
    dir="$DESTDIR$PREFIX/$scope"
    if [ "${1:-}" = "--uninstall" ]; then
        rm -f "$dir/podbridge-auto-update.service" "$dir/podbridge-auto-update.timer"
        say "removed the units from $dir"
        continue
    fi
    mkdir -p "$dir"
    sed -e "s|@@PODBRIDGE@@|$PODBRIDGE|g" -e "s|@@PODMAN@@|$PODMAN|g" \
        "$SRC/podbridge-auto-update.service.in" > "$dir/podbridge-auto-update.service.tmp"
    mv "$dir/podbridge-auto-update.service.tmp" "$dir/podbridge-auto-update.service"
    cp "$SRC/podbridge-auto-update.timer" "$dir/podbridge-auto-update.timer"
    say "installed podbridge-auto-update.service and .timer in $dir"
done
