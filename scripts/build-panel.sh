#!/usr/bin/env bash
# Builds the panel (frontend/ -> frontend/dist) when it is missing or older than its sources.
set -euo pipefail
cd "$(dirname "$0")/../frontend"
[ -f package.json ] || { echo "build-panel: no frontend yet; the bridge serves a placeholder"; exit 0; }
# The panel's types of the bridge's events and records, from the bridge's contracts (JSON
# Schema, bridge/contracts.py). Written only when they change, so an unchanged contract
# does not make the panel stale.
../.venv/bin/python -m bridge.contracts --typescript src/generated/contracts.ts
if [ -f dist/index.html ] && [ -z "$(find src index.html cockpit.html cockpit package.json package-lock.json vite.config.* \
        -newer dist/index.html 2>/dev/null | head -1)" ]; then
    exit 0
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
fi
npm run build --silent
