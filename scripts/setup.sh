#!/usr/bin/env bash
# Set up azmodels inside this folder only: a virtual environment in .venv (Python 3.11+) with the
# package and the extras asked for, and Azurite (the Azure Storage emulator the sandbox runs) in
# node_modules from package.json. Nothing is installed outside the project; safe to run again
# (nothing is reinstalled when pyproject.toml and the extras are unchanged).
#
#   bash scripts/setup.sh [EXTRAS]    EXTRAS: notebook (the quickstart's needs) or test (default)
#
# AZMODELS_PYTHON=/path/to/python picks the interpreter; AZMODELS_BROWSER_TEST=1 also installs
# Debian's Chromium for tests/test_browser.py (needs root and apt-get; CI sets it).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-test}"

python_ok() { "$1" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }
if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
  py=""
  for candidate in "${AZMODELS_PYTHON:-}" python3.13 python3.12 python3.11 python3 python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$(command -v "$candidate")"; then
      py="$(command -v "$candidate")"
      break
    fi
  done
  if [ -z "$py" ]; then
    echo "setup: azmodels needs Python 3.11 or newer with venv; none was found on PATH." >&2
    echo "setup: install one (e.g. apt-get install python3.11-venv) or set AZMODELS_PYTHON=/path/to/python" >&2
    exit 1
  fi
  rm -rf .venv
  "$py" -m venv .venv
fi

# Reinstall only when what decides the install changed.
stamp=".venv/.azmodels-$extras"
want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1) $extras"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing azmodels[$extras] into .venv"
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # the browser test drives Debian's Chromium, never a download
  PIP_REQUIRE_VIRTUALENV=1 .venv/bin/python -m pip install --quiet --disable-pip-version-check \
    -e ".[$extras]"
  echo "$want" >"$stamp"
fi

# Azurite as package.json pins it: a folder installed for an older pin is brought up to date.
azurite_pin="$(sed -n 's/.*"azurite": "\([^"]*\)".*/\1/p' package.json)"
# (none installed yet on a fresh clone: sed finds no file, which must not stop the set-up)
azurite_have="$(sed -n 's/^  "version": "\([^"]*\)".*/\1/p' node_modules/azurite/package.json 2>/dev/null || true)"
if [ ! -x node_modules/.bin/azurite-blob ] || [ "$azurite_have" != "$azurite_pin" ]; then
  command -v npm >/dev/null 2>&1 || {
    echo "setup: npm (Node.js 20+) is needed for Azurite, the storage emulator: install Node.js" >&2
    exit 1
  }
  npm ci --no-audit --no-fund --loglevel=error
fi

# Debian's Chromium, only when the browser test is asked for.
if [ "${AZMODELS_BROWSER_TEST:-}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
      echo "setup: could not install chromium; the browser test will be skipped" >&2
  else
    echo "setup: AZMODELS_BROWSER_TEST=1 needs Chromium (as root: apt-get install chromium)" >&2
  fi
fi
