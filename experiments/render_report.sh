#!/usr/bin/env bash
# Render a day-ahead report.html in headless Chromium and save a screenshot.
#
#   experiments/render_report.sh outputs/2008-06-30/report.html [screenshot.png]
#
# Needs Debian's `chromium` package (apt-get install -y chromium). The report is self-contained:
# network access is disabled here, so anything it tried to fetch would show up as a broken element.
set -euo pipefail
report="${1:?usage: $0 REPORT.html [SCREENSHOT.png]}"
shot="${2:-${report%.html}.png}"
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install -y chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --window-size=1400,2400 \
  --screenshot="$(realpath -m "$shot")" "file://$(realpath "$report")" 2>/dev/null
echo "screenshot: $shot"
