#!/usr/bin/env bash
# Build the pinned SecantusDB server (secantusd-rs) into .tools/bin (idempotent).
#
# It is GPL-2.0: PaperDesk runs it as a separate process and never imports it.
# The crate asks for rustc 1.98; 1.95 builds it (--ignore-rust-version). The first
# build takes 2 to 5 minutes on two cores; later runs find it and return.
set -euo pipefail

version=0.5.3-beta.193
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin/secantusd-rs"

# Readers that take all their input (sed, grep without -q): under pipefail, one that
# quits early can fail the pipeline by SIGPIPE while the server still writes.
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep "secantusd-rs $version" >/dev/null; then
  exit 0
fi
if ! command -v cargo >/dev/null; then
  echo "install-secantusd: Rust's cargo is needed to build secantusd-rs (or set MONGO_URI to use a MongoDB replica set)" >&2
  exit 1
fi
echo "[setup] Building secantusd-rs $version into .tools/ with cargo (first time only:" \
  "2 to 5 minutes on two cores; cargo shows each crate it compiles)..."
cargo install secantus-mdb --version "$version" --locked --ignore-rust-version \
  --root "$root/.tools"
"$bin" --version | sed -n 1p
