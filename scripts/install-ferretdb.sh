#!/usr/bin/env bash
# Build the pinned FerretDB into .tools/bin/ferretdb (idempotent).
#
# `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` does not work
# here: the module proxy refuses the version list it consults for deprecation
# notices, and a binary built with FerretDB as its main module panics at start
# because the published module leaves build/version/version.txt empty. So we
# download exactly that module version (checksum-verified by the go command),
# write version.txt as FerretDB's own panic message instructs, and build it.
set -euo pipefail

version=v1.24.2
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin/ferretdb"
src="$root/.tools/src/ferretdb-$version"

# Readers that take all their input (grep without -q, sed): with pipefail, one that
# quits early can fail the pipeline by SIGPIPE (exit 141) while ferretdb still writes.
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep "version: $version" >/dev/null; then
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "install-ferretdb: Go is needed to build FerretDB (or set MONGO_URI to use another MongoDB server)" >&2
  exit 1
fi

echo "Building FerretDB $version (first time only; takes a few minutes)..."
module_dir=$(go mod download -json "github.com/FerretDB/FerretDB@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
rm -rf "$src"
mkdir -p "$(dirname "$src")" "$(dirname "$bin")"
cp -r "$module_dir" "$src"
chmod -R u+w "$src"
echo "$version" > "$src/build/version/version.txt"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -o "$bin" ./cmd/ferretdb)
"$bin" --version | sed -n 1p
