#!/usr/bin/env bash
# Set up (.venv with the test extras, Azurite), lint (ruff, import contracts), and run the whole test suite against the
# sandbox (real HTTP, real Azurite). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check .
.venv/bin/lint-imports  # the layer contracts in pyproject.toml (docs/architecture.md)
.venv/bin/python -m pytest "$@"
