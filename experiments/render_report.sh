#!/usr/bin/env bash
# Render a day-ahead report.html in headless Chromium: save a screenshot and, optionally, the DOM
# after the page's scripts ran (plotly draws each chart as SVG into its <div>, so the dumped DOM
# shows whether every chart drew).
#
#   experiments/render_report.sh outputs/2008-06-30/report.html [screenshot.png [dom.html]]
#
# REPORT_WINDOW=1400,2400 sets the window (the screenshot is the window, not the whole page).
# Needs Debian's `chromium` package (apt-get install -y chromium; `make browser`). The report is
# self-contained: network access is disabled here, so anything it tried to fetch would show up as
# a broken element.
set -euo pipefail
report="${1:?usage: $0 REPORT.html [SCREENSHOT.png [DOM.html]]}"
shot="${2:-${report%.html}.png}"
dom="${3:-}"
window="${REPORT_WINDOW:-1400,2400}"
command -v chromium >/dev/null || { echo "chromium is not installed (apt-get install -y chromium)" >&2; exit 2; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --proxy-server=127.0.0.1:9 --proxy-bypass-list='<-loopback>'
  --user-data-dir="$profile" --window-size="$window" --virtual-time-budget=20000)
url="file://$(realpath "$report")"
chromium "${flags[@]}" --screenshot="$(realpath -m "$shot")" "$url" 2>/dev/null
echo "screenshot: $shot"
if [[ -n "$dom" ]]; then
  chromium "${flags[@]}" --dump-dom "$url" 2>/dev/null >"$dom"
  echo "dom: $dom"
fi
