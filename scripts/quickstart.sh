#!/usr/bin/env bash
# Set up, then run the quickstart notebook against the local sandbox (no Azure account needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh notebook
out="${AZMODELS_OUTPUT_DIR:-artifacts}"
.venv/bin/python -m jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb \
  --output-dir "$out" --ExecutePreprocessor.timeout=600
# What the notebook printed, so the terminal shows the run too.
.venv/bin/python - "$out/quickstart.ipynb" <<'PY'
import sys

import nbformat

for cell in nbformat.read(sys.argv[1], as_version=4).cells:
    for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            print(output["text"], end="")
PY
echo "Executed notebook: $out/quickstart.ipynb (open it in Jupyter to see the tables and the chart)"
