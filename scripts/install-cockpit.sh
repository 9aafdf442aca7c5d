#!/usr/bin/env bash
# `make install`: podbridge's page as a Cockpit package, where cockpit-bridge finds packages
# ($XDG_DATA_DIRS/cockpit/NAME/manifest.json; /usr/local/share comes first by default):
#   /usr/local/share/cockpit/podbridge/{manifest.json,index.html,assets/}
# index.html is the panel's Cockpit page (frontend/dist/cockpit.html): the same build as the
# standalone panel, reaching the bridge through a Cockpit channel to its unix socket
# (/run/podbridge/podbridge.sock; `podbridge serve --listen unix:/run/podbridge/podbridge.sock`).
#
#   scripts/install-cockpit.sh                install (as root)
#   scripts/install-cockpit.sh --uninstall    remove it
#   COCKPIT_PKG_DIR=/usr/share/cockpit/podbridge scripts/install-cockpit.sh   another folder
#   DESTDIR=/some/root scripts/install-cockpit.sh                             stage it
set -euo pipefail
cd "$(dirname "$0")/.."
DESTDIR=${DESTDIR:-}
PKG=${COCKPIT_PKG_DIR:-/usr/local/share/cockpit/podbridge}
TARGET=$DESTDIR$PKG
DIST=frontend/dist
MARKER=.podbridge-package

say() { echo "install-cockpit: $*"; }

if [ "${1:-}" = "--uninstall" ]; then
    if [ -f "$TARGET/$MARKER" ]; then
        rm -rf "$TARGET"
        say "removed $TARGET"
    elif [ -e "$TARGET" ]; then
        say "$TARGET was not installed by podbridge: left alone"
    fi
    exit 0
fi
if [ -z "$DESTDIR" ] && [ "$(id -u)" -ne 0 ] && [ -z "${COCKPIT_PKG_DIR:-}" ]; then
    say "run as root (it writes into $PKG), or set DESTDIR or COCKPIT_PKG_DIR" >&2
    exit 1
fi
if [ ! -f "$DIST/cockpit.html" ]; then
    say "$DIST/cockpit.html is missing: run make panel first" >&2
    exit 1
fi
if [ -e "$TARGET" ] && [ ! -f "$TARGET/$MARKER" ]; then
    say "refusing to replace $TARGET: it was not installed by podbridge" >&2
    exit 1
fi
mkdir -p "$(dirname "$TARGET")"
# Staged beside the target (a name Cockpit skips: it has no manifest yet), then moved.
stage=$(mktemp -d "$(dirname "$TARGET")/.podbridge.XXXXXX")
cp -r "$DIST/assets" "$stage/assets"
cp "$DIST/cockpit.html" "$stage/index.html"
cp frontend/cockpit/manifest.json "$stage/manifest.json"
echo "installed from $(pwd -P)" >"$stage/$MARKER"
chmod -R u=rwX,go=rX "$stage"
rm -rf "$TARGET"
mv "$stage" "$TARGET"
say "installed $TARGET: podbridge is in Cockpit's menu (log in to Cockpit again to see it)."
say "the page talks to podbridge serve --listen unix:/run/podbridge/podbridge.sock"
