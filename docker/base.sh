#!/usr/bin/env bash
# Makes a local Debian image for hosts that reach no container registry: debootstrap (minbase)
# from the Debian mirror, then `podman import`. An image that exists already is kept.
#   docker/base.sh IMAGE SUITE PACKAGES WORKDIR      (PACKAGES comma-separated)
# e.g. the runtime image's base: docker/base.sh localhost/iptf-base:bookworm bookworm
#      python3,python3-venv,ca-certificates build/image-base
set -euo pipefail
[ $# -eq 4 ] || { echo "usage: $0 IMAGE SUITE PACKAGES WORKDIR" >&2; exit 2; }
image=$1 suite=$2 packages=$3 work=$4
if podman image exists "$image"; then
  echo "image $image exists"
  exit 0
fi
rm -rf "$work/rootfs"
mkdir -p "$work"
debootstrap --variant=minbase --include="$packages" "$suite" "$work/rootfs" \
  "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
# Package caches and lists are not needed in the image.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
tar -C "$work/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$image"
rm -rf "$work/rootfs"
