#!/usr/bin/env bash
# Builds the node into OUT: one static executable without cgo (it needs nothing from the
# system's C library, so only the plugin decides the wheel's manylinux tag, and it
# cross-compiles: GOOS and GOARCH pick the platform), stripped (-s -w), stamped with IPTF's
# version (the Python package's __version__, the one source of it).
#   iptf/go/build.sh OUT
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
case $1 in /*) out=$1 ;; *) out=$PWD/$1 ;; esac
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$here/../python/iptf/__init__.py")
cd "$here"
CGO_ENABLED=0 exec go build -trimpath -ldflags="-s -w -X iptf.io/node/launcher.Version=$version" \
  -o "$out" ./cmd/iptf-node
