"""README's two commands in a fresh copy of the checkout, as a newcomer on a PEP 668 Python.

pip refuses every install outside a virtual environment (PIP_REQUIRE_VIRTUALENV=1, as an
externally managed Python does), and an `apt-get` first on PATH fails the test if anything calls
it. The quickstart must set up .venv inside the copy and run the notebook; the test command must
add the test extras and run tests (a narrow selection here: the whole suite would run this test
again). Re-running set-up must install nothing. It downloads packages (pip and npm caches make a
second run quicker), so it runs when AZMODELS_SETUP_TEST=1, as .ci/run sets.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from checkout_support import clean_env, copy_checkout, run

pytestmark = [
    pytest.mark.timeout(1500),
    pytest.mark.skipif(
        os.environ.get("AZMODELS_SETUP_TEST") != "1",
        reason="replays README's set-up in a fresh copy (minutes, downloads): "
        "set AZMODELS_SETUP_TEST=1 (CI does)",
    ),
]


def test_readme_commands_set_up_inside_the_project_only(tmp_path: Path) -> None:
    repo = copy_checkout(tmp_path / "repo")
    readme = (repo / "README.md").read_text()
    assert "bash scripts/quickstart.sh" in readme and "bash scripts/test.sh" in readme

    guard = tmp_path / "guard"
    guard.mkdir()
    apt_calls = tmp_path / "apt-get-called"
    apt = guard / "apt-get"
    apt.write_text(f'#!/bin/sh\necho "$0 $*" >> {apt_calls}\nexit 100\n')
    apt.chmod(apt.stat().st_mode | stat.S_IXUSR)
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(
        PATH=f"{guard}{os.pathsep}{os.environ.get('PATH', '')}",
        PIP_REQUIRE_VIRTUALENV="1",
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        IPYTHONDIR=str(tmp_path / "ipython"),
        MPLBACKEND="Agg",
        AZMODELS_OUTPUT_DIR=str(tmp_path / "out"),
    )

    quick = run(["bash", "scripts/quickstart.sh"], cwd=repo, env=env, timeout=900)
    assert "Executed notebook" in quick.stdout
    # It says what it is doing, ends with the command that opens the tutorials, and that
    # command's program is there; the kernel's loopback TCP warning is not shown.
    assert "running notebooks/quickstart.ipynb" in quick.stdout
    assert quick.stdout.rstrip().endswith(".venv/bin/jupyter lab notebooks/")
    assert (repo / ".venv" / "bin" / "jupyter-lab").exists()
    assert "without encryption" not in quick.stdout + quick.stderr
    assert (tmp_path / "out" / "quickstart.ipynb").is_file()
    venv_python = repo / ".venv" / "bin" / "python"
    assert venv_python.exists()
    assert (repo / "node_modules" / ".bin" / "azurite-blob").exists()
    # The quickstart installs what it runs, not the test tools.
    assert not (repo / ".venv" / "bin" / "pytest").exists()

    tests = run(
        ["bash", "scripts/test.sh", "tests/test_grammar.py", "-q", "-p", "no:cacheprovider"],
        cwd=repo,
        env=env,
        timeout=900,
    )
    assert " passed" in tests.stdout
    assert (repo / ".venv" / "bin" / "pytest").exists()

    again = run(["bash", "scripts/setup.sh", "test"], cwd=repo, env=env, timeout=300)
    assert "installing" not in again.stdout + again.stderr
    assert not apt_calls.exists(), apt_calls.read_text()
