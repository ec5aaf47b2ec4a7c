#!/usr/bin/env bash
# Make sure the container checks can run (scripts/check_containers.py, tests/deployment/test_containers.py):
# Debian's podman (rootful; runc, cgroupfs and no default ulimits come from
# k8s/podman/containers.conf) and debootstrap, which makes the local Debian base image.
# Installs them with apt-get when missing and this runs as root (or with sudo). Without either,
# it says so and exits 0: the container tests then skip, the rest of the suite still runs.
set -euo pipefail
missing=""
command -v podman >/dev/null 2>&1 || missing="$missing podman"
command -v debootstrap >/dev/null 2>&1 || missing="$missing debootstrap"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1 || ! sudo -n true 2>/dev/null; then
    echo "container checks need$missing (apt-get install$missing, as root); skipping them" >&2
    exit 0
  fi
  SUDO="sudo -n"
fi
echo "Installing Debian's$missing for the container checks..."
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
command -v podman >/dev/null
