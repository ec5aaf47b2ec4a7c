#!/usr/bin/env bash
# Make a local Debian bookworm image with Python 3.11, for building Dockerfile.worker and
# Dockerfile.app where Docker Hub (and so the official python:3.11 image) cannot be reached.
# It is made only from Debian's packages: debootstrap (minbase) -> tar -> `podman import`.
#
# Usage: scripts/make_base_image.sh [IMAGE]     (default localhost/recommender-base:bookworm-py311)
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian), FORCE=1 rebuilds an existing
# image. Needs root (debootstrap, rootful podman). Prints the image name on its last line.
#
# Differences from python:3.11-slim-bookworm that matter to the Dockerfiles: Python is Debian's
# 3.11 at /usr/bin/python3 (python-is-python3 gives `python`), venv comes from python3-venv;
# groupadd/useradd are there (passwd is part of minbase).
set -euo pipefail
IMAGE="${1:-localhost/recommender-base:bookworm-py311}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$IMAGE"; then
  echo "base image $IMAGE already exists (FORCE=1 rebuilds it)" >&2
  echo "$IMAGE"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }

ROOTFS="$(mktemp -d /var/tmp/recommender-base.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
echo "debootstrap bookworm ($PACKAGES) into $ROOTFS ..." >&2
nice -n 10 debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOTFS" "$MIRROR" >&2
# Keep the image small and reproducible-ish: no apt lists, caches, docs or man pages.
chroot "$ROOTFS" apt-get clean
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/*.bin "$ROOTFS"/usr/share/doc/* \
  "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/var/log/*.log \
  "$ROOTFS"/tmp/* "$ROOTFS"/usr/share/locale/*
# The official image's defaults that the Dockerfiles and health checks rely on.
tar -C "$ROOTFS" --numeric-owner -c . \
  | podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'CMD ["python3"]' \
      - "$IMAGE" >&2
echo "$IMAGE"
