#!/usr/bin/env bash
# Runs before `npm test`: the end-to-end tests drive Debian's Chromium (playwright-core downloads no browser).
set -euo pipefail
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
echo "Chromium is not installed at $CHROMIUM; the end-to-end tests need it. Installing Debian's chromium…" >&2
if [ "$(id -u)" = 0 ]; then
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core
elif command -v sudo >/dev/null 2>&1; then
  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core
else
  echo "Install it yourself (apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary, then run npm test again." >&2
  exit 1
fi
