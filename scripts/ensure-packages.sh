#!/usr/bin/env bash
# Install the Debian packages the tests use, if missing: redis-server (the tests
# start their own) and jq (the curl walkthrough reads JSON with it).
set -euo pipefail
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
command -v jq >/dev/null || missing+=(jq)
command -v curl >/dev/null || missing+=(curl)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing ${missing[*]} from Debian's packages..."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
