#!/usr/bin/env bash
# Install Debian's redis-server if it is missing (the tests start their own).
set -euo pipefail
command -v redis-server >/dev/null && exit 0
echo "Installing redis-server from Debian's packages..."
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
