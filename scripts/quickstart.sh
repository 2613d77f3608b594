#!/usr/bin/env bash
# Set up, then run the quickstart notebook against the local sandbox (no Azure account needed),
# and say how to open the tutorials in JupyterLab (installed with the notebook extra).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh notebook
out="${AZMODELS_OUTPUT_DIR:-artifacts}"
echo "quickstart: running notebooks/quickstart.ipynb against a local sandbox (about 15 s)..."
# The kernel runs on loopback for this one run: its "TCP without encryption" warning is noise.
.venv/bin/python -m jupyter nbconvert --to notebook --execute notebooks/quickstart.ipynb \
  --output-dir "$out" --ExecutePreprocessor.timeout=600 --log-level=ERROR \
  2> >(grep -v -e "without encryption" -e "^\s*$" >&2)
# What the notebook printed, so the terminal shows the run too.
.venv/bin/python - "$out/quickstart.ipynb" <<'PY'
import sys

import nbformat

for cell in nbformat.read(sys.argv[1], as_version=4).cells:
    for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            print(output["text"], end="")
PY
echo "Executed notebook: $out/quickstart.ipynb"
echo "Open the tutorials (tables, cards, charts, forms) in JupyterLab:"
echo "  .venv/bin/jupyter lab notebooks/"
