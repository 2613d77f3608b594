#!/usr/bin/env bash
# Install everything azmodels needs on a fresh machine: the package with its test extras, and
# Azurite (the Azure Storage emulator the sandbox runs) from npm. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if [ ! -x node_modules/.bin/azurite-blob ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
