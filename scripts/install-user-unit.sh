#!/usr/bin/env bash
# `make install`: podbridge as a user unit for every user, at
# /usr/lib/systemd/user/podbridge.service (then, as a user: systemctl --user enable --now
# podbridge). Idempotent; never replaces a file it did not write.
#
#   scripts/install-user-unit.sh               install (as root)
#   scripts/install-user-unit.sh --uninstall   remove ours, nothing else
#   DESTDIR=/some/root scripts/install-user-unit.sh   stage into another root
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd -P)
DESTDIR=${DESTDIR:-}
PODBRIDGE=${PODBRIDGE_BIN:-$REPO/.venv/bin/podbridge}
MARKER="# podbridge as a user unit"
TARGET=$DESTDIR/usr/lib/systemd/user/podbridge.service
say() { echo "install-user-unit: $*"; }
ours() { [ -f "$1" ] && [ ! -L "$1" ] && grep -qF "$MARKER" "$1"; }

if [ "${1:-}" = "--uninstall" ]; then
    if ours "$TARGET"; then rm -f "$TARGET"; say "removed $TARGET"
    elif [ -e "$TARGET" ]; then say "$TARGET is not ours: left alone"; fi
    exit 0
fi
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ]; then
    say "run as root (it writes into /usr/lib/systemd/user), or set DESTDIR" >&2
    exit 1
fi
content=$(sed "s|@PODBRIDGE@|$PODBRIDGE|" scripts/podbridge-user.service.in)
if [ -e "$TARGET" ] || [ -L "$TARGET" ]; then
    if ! ours "$TARGET"; then
        say "refusing to replace $TARGET: not written by podbridge. Left alone."
        exit 1
    fi
    if [ "$(cat "$TARGET")" = "$content" ]; then say "$TARGET: already installed"; exit 0; fi
fi
mkdir -p "$(dirname "$TARGET")"
printf '%s\n' "$content" >"$TARGET.podbridge-new"
chmod 0644 "$TARGET.podbridge-new"
mv -f "$TARGET.podbridge-new" "$TARGET"
say "installed $TARGET -> $PODBRIDGE serve; as a user: systemctl --user enable --now podbridge"
