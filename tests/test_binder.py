"""Replay mybinder's install steps (binder/) in a fresh virtual environment and run the quickstart.

repo2docker installs binder/requirements.txt, copies the repository in, and runs binder/postBuild
from its root. This test does the same in a plain venv (no system site-packages) on a copy of the
checkout, then executes notebooks/quickstart.ipynb there with nbconvert, and checks that the kernel
ran in that venv, with its Node.js and its Azurite. It downloads packages (pip and npm caches make
a second run quicker), so it runs when AZMODELS_BINDER_TEST=1, as .ci/run sets.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout_support import clean_env, copy_checkout, run

pytestmark = [
    pytest.mark.binder,
    pytest.mark.timeout(1200),
    pytest.mark.skipif(
        os.environ.get("AZMODELS_BINDER_TEST") != "1",
        reason="replays binder's install (minutes, downloads): set AZMODELS_BINDER_TEST=1",
    ),
]


def test_binder_install_runs_the_quickstart(tmp_path: Path) -> None:
    repo = copy_checkout(tmp_path / "repo")
    assert (repo / "binder" / "requirements.txt").is_file()
    assert not (repo / "node_modules").exists()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    bin_dir = venv / "bin"

    # The environment of an activated venv, with the Jupyter and IPython dirs of this test only
    # (a kernelspec in ~/.local/share/jupyter must not send the kernel to another Python).
    env = clean_env(
        PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        MPLBACKEND="Agg",
    )
    python = str(bin_dir / "python")

    # repo2docker's steps: requirements.txt, then postBuild from the repository root.
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--quiet"]
    run([*pip, "-r", "binder/requirements.txt"], cwd=repo, env=env, timeout=900)
    run(["bash", "binder/postBuild"], cwd=repo, env=env, timeout=600)

    assert shutil.which("node", path=env["PATH"]) == str(bin_dir / "node")
    assert (repo / "node_modules" / ".bin" / "azurite-blob").exists()
    kernelspecs = [python, "-m", "jupyter", "kernelspec", "list", "--json"]
    specs = json.loads(run(kernelspecs, cwd=repo, env=env, timeout=120).stdout)["kernelspecs"]
    assert Path(specs["python3"]["resource_dir"]).is_relative_to(venv), specs["python3"]

    # The quickstart as mybinder would run it, plus one cell that says where it ran.
    import nbformat

    book = nbformat.read(repo / "notebooks" / "quickstart.ipynb", as_version=4)
    book.cells.append(
        nbformat.v4.new_code_cell(
            "import shutil, sys, azmodels_magic\n"
            "print('prefix', sys.prefix)\n"
            "print('node', shutil.which('node'))\n"
            "print('package', azmodels_magic.__file__)"
        )
    )
    source = repo / "notebooks" / "binder_check.ipynb"
    nbformat.write(book, source)
    nbconvert = [python, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
    options = ["--ExecutePreprocessor.timeout=600", "--output", "executed.ipynb"]
    run([*nbconvert, *options, source.name], cwd=source.parent, env=env, timeout=900)
    executed = nbformat.read(source.parent / "executed.ipynb", as_version=4)
    text = "\n".join(
        out.get("text", "")
        for cell in executed.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "stream"
    )
    assert not [
        out
        for cell in executed.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert "34 models found (base)" in text
    assert "3 deployments found (3 base, 0 custom)" in text
    assert "Sandbox stopped." in text
    assert f"prefix {venv}" in text
    assert f"node {bin_dir / 'node'}" in text
    assert f"package {repo / 'azmodels_magic'}" in text
