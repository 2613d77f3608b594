"""The terminal front end never prints a traceback, through real subprocesses.

Help into a closed pipe, a cache folder that cannot hold journals (refused before the service is
asked for an upload slot), a bug (one line, with how to see the traceback); exit status 1 for
errors (not connected included), 2 for usage errors.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_support import make_weights, start_app

CLI = [sys.executable, "-m", "azmodels_magic.cli"]
UNSET = ("AZMODELS_SANDBOX", "AZMODELS_DEBUG", "AZURE_SUBSCRIPTION_ID", "AZURE_PROJECT_ENDPOINT",
         "AZURE_RESOURCE_GROUP_NAME", "AZURE_ACCOUNT_NAME")  # fmt: skip


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in UNSET:
        env.pop(name, None)
    env.update(extra)
    return env


def run(*argv: str, code: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code, *argv] if code else [*CLI, *argv]
    return subprocess.run(command, capture_output=True, text=True, env=_env(**env), timeout=120)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    "argv", [["upload", "--help"], ["help"], ["--help"], ["deployments", "--help"], []]
)
def test_help_into_a_closed_pipe_is_quiet(argv, tmp_path):
    """`azmodels upload --help | head -1`, made certain: the reader is gone before any write."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*CLI, *argv], stdout=write_end, stderr=subprocess.PIPE, text=True,
            env=_env(AZMODELS_CACHE_DIR=str(tmp_path)), timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 0
    assert done.stderr == "", done.stderr


def test_help_through_head_like_a_person_types_it(tmp_path):
    shell = subprocess.run(
        f"{' '.join(CLI)} upload --help | head -1", shell=True, capture_output=True, text=True,
        env=_env(AZMODELS_CACHE_DIR=str(tmp_path)), timeout=120,
    )  # fmt: skip
    assert shell.stdout.startswith("usage: azmodels upload")
    assert shell.stderr == ""


def test_not_connected_is_an_error_not_a_usage_error(tmp_path):
    done = run("deployments", "list", AZMODELS_CACHE_DIR=str(tmp_path))
    no_traceback(done)
    assert done.returncode == 1
    assert done.stderr.startswith("error: Not connected")
    assert len(done.stderr.strip().splitlines()) == 1
    # The commands it names, as a terminal runs them.
    assert "Run `azmodels connect --subscription ... " in done.stderr
    assert "`azmodels sandbox start`" in done.stderr and "%azmodels" not in done.stderr


def test_a_usage_error_exits_2(tmp_path):
    done = run("deployments", "frobnicate", AZMODELS_CACHE_DIR=str(tmp_path))
    no_traceback(done)
    assert done.returncode == 2 and "unknown command 'frobnicate'" in done.stderr


@pytest.fixture(scope="module")
def sandbox_app():
    app = start_app()
    yield app
    app.close()


def _slots(app, name: str) -> int:
    database = Path(app.sandbox_info.data_dir) / "sandbox.sqlite3"
    with sqlite3.connect(database) as conn:
        (count,) = conn.execute(
            "SELECT COUNT(*) FROM pending_uploads WHERE name = ?", (name,)
        ).fetchone()
    return count


def test_a_card_names_its_next_commands_as_the_terminal_runs_them(sandbox_app, tmp_path):
    endpoint = sandbox_app.sandbox_info.arm_endpoint
    done = run("show", "gpt-4.1", AZMODELS_SANDBOX=endpoint, AZMODELS_CACHE_DIR=str(tmp_path))
    no_traceback(done)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("gpt-4.1 (base model)")
    assert "  Deploy: azmodels deploy --name gpt-4.1 --version " in done.stdout
    assert "%azmodels" not in done.stdout
    missing = run("show", "gpt-4oo", AZMODELS_SANDBOX=endpoint, AZMODELS_CACHE_DIR=str(tmp_path))
    assert missing.returncode == 1 and "%azmodels" not in missing.stderr


@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_an_unusable_cache_dir_is_refused_before_any_upload_slot(sandbox_app, tmp_path, kind):
    weights = make_weights(tmp_path)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("I am a file")
    cache = blocker if kind == "a file" else blocker / "cache"
    name = f"cache-test-{len(kind)}"
    done = run(
        "upload", "--source", str(weights), "--name", name, "--no-progress",
        AZMODELS_CACHE_DIR=str(cache), AZMODELS_SANDBOX=sandbox_app.sandbox_info.arm_endpoint,
    )  # fmt: skip
    no_traceback(done)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: The azmodels cache folder")
    assert "AZMODELS_CACHE_DIR" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert _slots(sandbox_app, name) == 0  # the service was never asked for an upload slot


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_cache_dir_is_refused(sandbox_app, tmp_path):
    weights = make_weights(tmp_path)
    cache = tmp_path / "locked"
    (cache / "uploads").mkdir(parents=True)
    (cache / "uploads").chmod(0o500)
    try:
        done = run(
            "upload", "--source", str(weights), "--name", "locked-cache", "--no-progress",
            AZMODELS_CACHE_DIR=str(cache), AZMODELS_SANDBOX=sandbox_app.sandbox_info.arm_endpoint,
        )  # fmt: skip
    finally:
        (cache / "uploads").chmod(0o700)
    no_traceback(done)
    assert done.returncode == 1 and "AZMODELS_CACHE_DIR" in done.stderr
    assert _slots(sandbox_app, "locked-cache") == 0


# A bug, made on purpose in the child only: the grammar blows up with something not ours.
BUG = """
import sys
from azmodels_magic import grammar
def broken(*args, **kwargs):
    raise KeyError("a bug")
grammar.parse = broken
from azmodels_magic.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_bug_is_one_line_with_how_to_see_more(tmp_path):
    done = run("list", code=BUG, AZMODELS_CACHE_DIR=str(tmp_path))
    no_traceback(done)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: KeyError: 'a bug'")
    assert "AZMODELS_DEBUG=1" in lines[0]


def test_debug_on_shows_the_traceback(tmp_path):
    done = run("list", code=BUG, AZMODELS_CACHE_DIR=str(tmp_path), AZMODELS_DEBUG="1")
    assert done.returncode != 0 and "Traceback" in done.stderr and "a bug" in done.stderr


@pytest.mark.parametrize("argv", [["list"], ["list", "--format", "json"], ["deployments", "list"]])
def test_output_into_a_closed_pipe_is_quiet(sandbox_app, argv, tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        env = _env(
            AZMODELS_CACHE_DIR=str(tmp_path),
            AZMODELS_SANDBOX=sandbox_app.sandbox_info.arm_endpoint,
        )
        done = subprocess.run(
            [*CLI, *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, env=env,
            timeout=120,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("argv", [["list"], ["list", "--format", "json"]])
def test_output_onto_a_full_disk_is_one_line_not_a_bug(sandbox_app, argv, tmp_path):
    """`azmodels list > /dev/full`: the write fails; that is said in one line, exit status 1."""
    env = _env(AZMODELS_CACHE_DIR=str(tmp_path),
               AZMODELS_SANDBOX=sandbox_app.sandbox_info.arm_endpoint)  # fmt: skip
    with open("/dev/full", "w") as full:
        done = subprocess.run([*CLI, *argv], stdout=full, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=120)  # fmt: skip
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "bug" not in done.stderr, done.stderr  # (json: its count, too)
    assert "standard output" in errors[0] and "No space left" in errors[0], errors[0]


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_tables_and_cards_on_a_terminal_without_utf8(sandbox_app, encoding, tmp_path):
    """PYTHONIOENCODING=ascii: a cut table and a card's ticks are written in ASCII stand-ins
    of the same width; nothing is 'a bug'."""
    endpoint = sandbox_app.sandbox_info.arm_endpoint
    # 60 columns: the names are cut (at 80 the list's answer columns fit whole).
    env = dict(AZMODELS_SANDBOX=endpoint, AZMODELS_CACHE_DIR=str(tmp_path), COLUMNS="60",
               PYTHONIOENCODING=encoding)  # fmt: skip
    table = run("list", "--type", "base", **env)
    no_traceback(table)
    assert table.returncode == 0 and "bug" not in table.stderr, table.stderr
    rows = table.stdout.splitlines()
    assert "gpt-4o" in table.stdout and "..." in table.stdout, table.stdout
    assert max(map(len, rows)) <= 60, rows  # the stand-in is as wide as the ellipsis
    card = run("show", "gpt-4o", **env)
    assert card.returncode == 0 and "bug" not in card.stderr, card.stderr
    assert "Capabilities" in card.stdout
