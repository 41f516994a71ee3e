#!/usr/bin/env bash
# Installs Debian's Chromium (the browser harness/report/browser.test.ts renders the
# report page in) when /usr/bin/chromium is missing. Idempotent; needs root and the
# Debian package archive (apt). playwright-core drives it and downloads no browser.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "ensure-chromium: $(/usr/bin/chromium --version 2>/dev/null | head -1) already installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: /usr/bin/chromium is missing and apt-get is not available: install Debian's 'chromium' package" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
echo "ensure-chromium: installing Debian's chromium package"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version 2>/dev/null | head -1
