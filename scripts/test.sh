#!/usr/bin/env bash
# Set up, lint, and run the whole test suite against the sandbox (real HTTP, real Azurite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
python3 -m ruff check .
python3 -m ruff format --check .
python3 -m pytest "$@"
