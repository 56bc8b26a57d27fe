#!/usr/bin/env bash
# Makes a local Debian bookworm base image with Python 3.11 and venv, for hosts that reach no
# container registry: debootstrap from the Debian mirror, then `podman import`. Kept once made.
#   docker/base.sh IMAGE [WORKDIR]
set -euo pipefail
image=${1:?usage: $0 IMAGE [WORKDIR]}
work=${2:-build/image-base}
if podman image exists "$image"; then
  echo "base image $image exists"
  exit 0
fi
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
rm -rf "$work/rootfs"
mkdir -p "$work"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$work/rootfs" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# Package caches and lists are not needed in the image.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image"
rm -rf "$work/rootfs"
