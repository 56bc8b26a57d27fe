#!/usr/bin/env bash
# Builds the iptf TensorFlow plugin into OUT_SO and, when given, the test binary into TEST_BIN.
#   iptf/cpp/build.sh OUT_SO [TEST_BIN]
# Env: PYTHON (interpreter with tensorflow; default <repo>/.venv/bin/python), OBJ (object dir,
# default <repo>/build/cpp).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 OUT_SO [TEST_BIN]" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
abs() { case $1 in /*) echo "$1";; *) echo "$PWD/$1";; esac; }
# make runs in iptf/cpp: make relative paths absolute first.
if [[ ${PYTHON:-} == */* ]]; then export PYTHON=$(abs "$PYTHON"); fi
if [[ -n ${OBJ:-} ]]; then export OBJ=$(abs "$OBJ"); fi
args=(PLUGIN="$(abs "$1")" plugin)
[ $# -ge 2 ] && args+=(TEST_BIN="$(abs "$2")" test-bin)
exec make --no-print-directory -C "$here" "${args[@]}"
