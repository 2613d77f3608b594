"""Store the tutorials without what a run leaves in them: outputs, execution counts, timings
and widget state. Committed notebooks carry none (tests/test_tutorials.py checks): opening one
shows nothing stale, and what a run saves into one is all yours (`git checkout notebooks/`
undoes it).

    .venv/bin/python scripts/strip_notebooks.py            # every notebook in notebooks/
    .venv/bin/python scripts/strip_notebooks.py PATH...    # these
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
RUN_METADATA = ("execution", "collapsed", "scrolled")  # per cell, left by running or viewing


def stripped(book: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in book.cells:
        for key in RUN_METADATA:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    book.metadata.pop("widgets", None)
    return book


def main(paths: list[str]) -> int:
    for path in paths or sorted(NOTEBOOKS.glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        nbformat.write(stripped(book), path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
