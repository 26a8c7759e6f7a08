#!/bin/sh
# Put the pinned hls.js (installed by `npm ci --no-audit --no-fund` from package-lock.json)
# where the origin serves it, with its licence. The player page loads nothing from the internet.
set -eu
cd "$(dirname "$0")/.."
dist=node_modules/hls.js/dist/hls.min.js
vendor=src/vvtv/origin/static/vendor
if [ ! -f "$dist" ]; then
    echo "vendor_player: $dist is missing; run 'npm ci --no-audit --no-fund' first" >&2
    exit 1
fi
mkdir -p "$vendor"
cp "$dist" "$vendor/hls.min.js"
cp node_modules/hls.js/LICENSE "$vendor/hls.js.LICENSE"
