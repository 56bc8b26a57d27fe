#!/usr/bin/env bash
# Builds the plugin for the wheel in a Debian bullseye root (glibc 2.31, GCC 10), so that the
# wheel's manylinux tag is older than the build machine's. The root is made once with
# debootstrap and kept as a podman image (docker/base.sh); it builds with no network, against
# the headers and library of the TensorFlow that PYTHON has (mounted read-only).
#   iptf/cpp/build_in_bullseye.sh OUT_SO
# Env: PYTHON (interpreter with tensorflow), PODMAN_GLOBAL_OPTS and PODMAN_RUN_OPTS (the OCI
# runtime and ulimits this host needs), DEBIAN_MIRROR.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 OUT_SO" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
image=localhost/iptf-build:bullseye
read -r -a podman_global <<< "${PODMAN_GLOBAL_OPTS:-}"
read -r -a run_opts <<< "${PODMAN_RUN_OPTS:-}"
podman=(podman "${podman_global[@]}")

root=$(cd "$here/../.." && pwd)
bash "$root/docker/base.sh" "$image" bullseye g++,make,nlohmann-json3-dev "$root/build/plugin-root"

# TensorFlow's folder and minor, as the plugin's Makefile finds them with PYTHON.
python=${PYTHON:?set PYTHON to an interpreter with tensorflow}
[[ $python == */* && $python != /* ]] && python=$PWD/$python  # make runs in iptf/cpp
read -r tf tf_minor < <(make --no-print-directory -s -C "$here" print-tf PYTHON="$python")
out_dir=$(mkdir -p "$(dirname "$1")" && cd "$(dirname "$1")" && pwd)
"${podman[@]}" run --rm --network none "${run_opts[@]}" \
  -v "$here:/src:ro" -v "$tf:/tf:ro" -v "$out_dir:/out" "$image" \
  make --no-print-directory -C /src plugin TF=/tf TF_MINOR="$tf_minor" OBJ=/tmp/obj PLUGIN="/out/$(basename "$1")"
