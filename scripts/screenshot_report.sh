#!/usr/bin/env bash
# A PNG screenshot of a run's report.html in headless Chromium (Debian: apt-get install chromium).
# Usage: scripts/screenshot_report.sh RUN OUT.png [WIDTH,HEIGHT]   (writes RUN/report.html first)
set -euo pipefail
run="$1"; out="$2"; size="${3:-1200,3000}"
evoinit report "$run" >/dev/null
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --host-resolver-rules="MAP * ~NOTFOUND" --user-data-dir="$profile" --hide-scrollbars \
    --window-size="$size" --screenshot="$(realpath -m "$out")" "file://$(realpath "$run")/report.html" 2>/dev/null
echo "wrote $out"
