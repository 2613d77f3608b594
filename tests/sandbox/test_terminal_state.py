"""The terminal's sandbox keeps its state in one per-user folder: the next `azmodels sandbox
start` finds it again, `--reset` starts clean, and nothing is left in the temporary folder.
A notebook's sandbox says it is throwaway, and is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from azmodels_magic.sandbox_launcher import SandboxProcess, terminal_data_dir


def _cli(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", *argv],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def _deployments(env: dict[str, str]) -> list[str]:
    done = _cli("deployments", "list", "--format", "json", env=env)
    assert done.returncode == 0, done.stderr
    return sorted(row["deployment"] for row in json.loads(done.stdout))


@pytest.mark.timeout(600)
def test_terminal_sandbox_state_survives_restart_and_reset_clears_it(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = dict(os.environ)
    env.pop("AZMODELS_SANDBOX", None)
    env.update(
        AZMODELS_DATA_DIR=str(tmp_path / "data"),
        AZMODELS_CACHE_DIR=str(tmp_path / "cache"),
        TMPDIR=str(temp),  # whatever the sandbox would leave in /tmp lands here
    )
    state = tmp_path / "data" / "sandbox"
    try:
        started = _cli("sandbox", "start", "--provision-seconds", "0.2", env=env)
        assert started.returncode == 0, started.stderr
        assert f"its state is kept in {state}" in started.stdout
        assert "--reset" in started.stdout
        deployed = _cli(
            "deploy", "--name", "gpt-4o", "--deployment-name", "kept-dep", "--no-wait", env=env
        )
        assert deployed.returncode == 0, deployed.stderr
        assert _deployments(env) == ["kept-dep"]
        assert _cli("sandbox", "stop", env=env).returncode == 0

        again = _cli("sandbox", "start", "--provision-seconds", "0.2", env=env)
        assert again.returncode == 0, again.stderr
        assert _deployments(env) == ["kept-dep"], "the next start lost the state"

        reset = _cli("sandbox", "start", "--reset", "--provision-seconds", "0.2", env=env)
        assert reset.returncode == 0, reset.stderr
        assert _deployments(env) == []
    finally:
        _cli("sandbox", "stop", env=env)
    assert (state / "sandbox.sqlite3").exists()
    assert list(temp.iterdir()) == [], "the terminal's sandbox left files in the temp folder"


def test_terminal_data_dir_is_per_user_and_overridable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZMODELS_DATA_DIR", str(tmp_path / "d"))
    assert terminal_data_dir() == tmp_path / "d" / "sandbox"
    monkeypatch.delenv("AZMODELS_DATA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert terminal_data_dir() == tmp_path / "xdg" / "azmodels" / "sandbox"
    # a detached sandbox (the terminal's) defaults to it; an attached one to a throwaway folder
    assert SandboxProcess(detach=True).data_dir == tmp_path / "xdg" / "azmodels" / "sandbox"
    assert SandboxProcess().data_dir is None


def test_reset_removes_only_what_a_sandbox_writes(tmp_path: Path) -> None:
    from azmodels_magic.sandbox_launcher import reset_state

    (tmp_path / "azurite").mkdir()
    (tmp_path / "azurite" / "blob").write_text("x")
    (tmp_path / "sandbox.sqlite3").write_text("x")
    (tmp_path / "sandbox.log").write_text("x")
    (tmp_path / "my-notes.txt").write_text("mine")
    reset_state(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-notes.txt"]


def test_notebook_sandbox_says_it_is_throwaway_and_is(shell, tmp_path: Path) -> None:
    from azmodels_magic.api import AzModels

    app = AzModels()
    try:
        outcome = app.execute("sandbox start --provision-seconds 0.2")
        assert "it is throwaway: its state is deleted when it stops" in outcome.message
        folder = Path(app.sandbox_status()["data dir"])
        assert folder.is_dir()
    finally:
        app.stop_sandbox()
    assert not folder.exists()


def test_an_unusable_data_folder_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should go")
    env = dict(os.environ)
    env.pop("AZMODELS_SANDBOX", None)
    env.update(AZMODELS_DATA_DIR=str(blocker), AZMODELS_CACHE_DIR=str(tmp_path / "cache"))
    done = _cli("sandbox", "start", env=env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: Cannot keep the sandbox's state in {blocker}/sandbox: ")
    assert "AZMODELS_DATA_DIR" in lines[0]
    assert blocker.read_text().startswith("a file")
