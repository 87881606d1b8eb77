#!/usr/bin/env bash
# Install the Debian packages Crescent's GUI, validators and test PACS need.
# Installs only what is missing; needs root (or passwordless sudo) to install.
set -euo pipefail
PACKAGES=(xvfb xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 libegl1 libgl1 libglx-mesa0 dicom3tools dcmtk orthanc poppler-utils)
if [ "$#" -gt 0 ]; then PACKAGES=("$@"); fi
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else
  echo "crescent: missing Debian packages: ${missing[*]}" >&2
  echo "crescent: install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "crescent: installing Debian packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# the Debian orthanc package starts a system service on port 4242/8042; tests run their own
if [ -n "$(command -v systemctl)" ] && systemctl is-active --quiet orthanc 2>/dev/null; then
  $SUDO systemctl stop orthanc || true
fi
