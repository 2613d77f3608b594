"""The tutorials in notebooks/: what a newcomer opens and follows.

They are committed without outputs (nothing stale to see, nothing for a run or JupyterLab's
autosave to rewrite), nothing but tutorials sits beside them, each runs top to bottom on a copy
in a temporary folder (never in place), and none deploys a model the sandbox's catalog says is
retired, nor do README's examples.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# A model named in a deploy as the tutorials and README write it: magic, terminal or Python.
DEPLOYED = re.compile(r"""(?:\bdeploy\s+--name\s+|\bdeploy\(model=["'])([\w.-]+)""")


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    book = nbformat.read(path, as_version=4)
    return [cell for cell in book.cells if cell.cell_type == "code"]


def test_there_are_tutorials_and_nothing_else_beside_them():
    assert len(NOTEBOOKS) >= 5
    others = [p.name for p in (ROOT / "notebooks").iterdir() if p.suffix != ".ipynb"]
    assert others == [] or set(others) <= {".ipynb_checkpoints"}, others


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_tutorials_carry_no_outputs(path):
    """scripts/strip_notebooks.py stores them so."""
    book = nbformat.read(path, as_version=4)
    assert "widgets" not in book.metadata  # widget state of a run
    for cell in code_cells(path):
        assert cell.outputs == [], (path.name, cell.source[:60])
        assert cell.execution_count is None, (path.name, cell.source[:60])
        assert "execution" not in cell.metadata, (path.name, cell.source[:60])  # timings


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_tutorial_runs_top_to_bottom_on_a_copy(path, tmp_path):
    """Every cell runs without an error, in a copy: the committed notebook is not written."""
    from nbclient import NotebookClient

    before = path.read_bytes()
    book = nbformat.read(path, as_version=4)
    NotebookClient(book, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    nbformat.write(book, tmp_path / path.name)  # kept for a look when it fails
    outputs = [out for cell in book.cells if cell.cell_type == "code" for out in cell.outputs]
    assert outputs, "the run shows something"
    assert not [out for out in outputs if out.output_type == "error"]
    assert path.read_bytes() == before


def test_tutorials_and_readme_deploy_only_live_models(app):
    """Nothing a newcomer follows deploys a model the catalog shows as retired (or about to be:
    its retirement date has passed)."""
    sources = [cell.source for path in NOTEBOOKS for cell in code_cells(path)]
    sources.append((ROOT / "README.md").read_text(encoding="utf-8"))
    deployed = {name for text in sources for name in DEPLOYED.findall(text)}
    assert {"gpt-4.1", "gpt-4.1-mini"} <= deployed, deployed
    catalog = {m.name: m for m in app.models.catalog() if m.is_default_version}
    now = datetime.now(UTC)
    custom = {"tiny-llama", "my-model", "tiny", "tiny-chat"}  # the tutorials' own uploads
    for name in sorted(deployed - custom):
        model = catalog[name]
        assert model.status == "GenerallyAvailable", (name, model.status)
        retires = model.inference_deprecation
        assert not retires or datetime.fromisoformat(retires.replace("Z", "+00:00")) > now, (
            name,
            retires,
        )
