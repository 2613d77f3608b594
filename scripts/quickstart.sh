#!/usr/bin/env bash
# Set up, then run the quickstart against the local sandbox (no Azure account needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -f notebooks/quickstart.ipynb ]; then
  python3 -m jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb \
    --output-dir "${AZMODELS_OUTPUT_DIR:-artifacts}" --ExecutePreprocessor.timeout=600
  echo "Executed notebook: ${AZMODELS_OUTPUT_DIR:-artifacts}/quickstart.ipynb"
else
  python3 -m azmodels_magic.demo
fi
