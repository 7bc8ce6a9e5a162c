#!/usr/bin/env bash
# Debian's Chromium and ChromeDriver (and a font for the charts' text), for
# the tests that drive a real headless browser (the reporting dashboard).
# Installs them when missing; prints where they are.
#   scripts/infra/browser.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/chromedriver ]] || missing+=(chromium-driver)
dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
if ((${#missing[@]})); then
  apt_install "${missing[@]}"
fi
ok "browser for page tests: $(/usr/bin/chromium --version 2>/dev/null | head -1), $(/usr/bin/chromedriver --version | head -1 | cut -d' ' -f1-2)"
