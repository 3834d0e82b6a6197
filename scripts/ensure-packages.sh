#!/usr/bin/env bash
# Install the Debian packages the tests use, if missing: redis-server (the tests
# start their own), jq and curl (the curl walkthrough), and chromium (the browser
# test drives Debian's Chromium; Playwright never downloads a browser).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
[ -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing ${missing[*]} from Debian's packages..."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
