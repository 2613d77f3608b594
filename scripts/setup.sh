#!/usr/bin/env bash
# Install everything azmodels needs on a fresh machine: the package with its test extras, and
# Azurite (the Azure Storage emulator the sandbox runs) from npm. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # the browser test drives Debian's Chromium, never a download
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ ! -x node_modules/.bin/azurite-blob ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Debian's Chromium for tests/test_browser.py (as root; elsewhere that test says it is skipped).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  command -v chromium >/dev/null 2>&1 || (apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
    echo "setup: could not install chromium; the browser test will be skipped" >&2
fi
