"""The "Try it" lines of a deployment card run exactly as each front end prints them, against the
sandbox: in a notebook (the magic's Key line, then the Python snippet in a fresh cell), in a
terminal (bash runs the printed export, curl and Python lines) and in Python (`az.run`). The key
is never shown on a screen: the terminal prints it only into a capture, `$(...)`."""

from __future__ import annotations

import html
import os
import pty
import re
import shutil
import subprocess
import sys

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)

from azmodels_magic.presentation.cards import card_for
from azmodels_magic.results.deployments import KEY_ENV
from azmodels_magic.steps import PYTHON, terminal

CLI = [sys.executable, "-m", "azmodels_magic.cli"]


# A base OpenAI model, a base model of another publisher, and a custom model: the card prints
# the same OpenAI/v1 route for each (EVIDENCE.md section 5), and each answers as printed.
@pytest.fixture(params=["gpt-4o", "Mistral-Large-2411", "custom"])
def deployment(request, app, unique):
    model = request.param
    if model == "custom":
        model = request.getfixturevalue("custom_model").name
    name = unique("try")
    app.deployments.deploy(model=model, deployment_name=name)
    yield name
    app.deployments.delete(name)  # custom ones draw on a small PTU quota


@pytest.fixture(scope="module")
def chat(app):
    """One base deployment, for the terminal and the Python API."""
    app.deployments.deploy(model="gpt-4o-mini", deployment_name="try-chat")
    yield "try-chat"
    app.deployments.delete("try-chat")


@pytest.fixture
def no_key(monkeypatch):
    """$AZURE_AI_API_KEY unset now, and unset again after the test (whatever set it)."""
    monkeypatch.setenv(KEY_ENV, "")
    monkeypatch.delenv(KEY_ENV)


def try_it_blocks(text: str) -> dict[str, str]:
    """The Try it section as printed: each `  Label:` line, then its lines as they are, up to a
    blank line."""
    lines = text.splitlines()
    index = lines.index("Try it") + 1
    blocks = {}
    while index < len(lines) and re.match(r"  \w+:", lines[index]):
        end = next((i for i in range(index + 1, len(lines)) if not lines[i]), len(lines))
        blocks[lines[index].split(":")[0].strip()] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return blocks


def html_blocks(page: str) -> list[str]:
    """The code a notebook user copies from the card's HTML (each <pre>, unescaped)."""
    return [html.unescape(block) for block in re.findall(r"<pre[^>]*>(.*?)</pre>", page, re.S)]


def check_answer(printed: str) -> None:
    assert ("'choices'" in printed or '"choices"' in printed) and "Hello!" in printed, printed


def test_notebook_key_line_then_python_snippet_run_as_printed(
    shell, magics, app, deployment, no_key, capsys
):
    record = shell.run_line_magic("azmodels", f"deployments show --name {deployment}")
    shown = shell.display_formatter.format(record)[0]  # what the notebook displays
    blocks = try_it_blocks(shown["text/plain"])
    assert blocks["Key"] == f"%azmodels deployments key --name {deployment}"  # no comment
    assert html_blocks(shown["text/html"])[:3] == [blocks["Key"], blocks["Python"], blocks["curl"]]
    assert f"puts the key into ${KEY_ENV}, never shown" in shown["text/plain"]

    assert shell.run_cell(blocks["Key"]).error_in_exec is None
    key = os.environ[KEY_ENV]
    out = capsys.readouterr().out
    assert f"${KEY_ENV} now holds" in out and key not in out

    result = shell.run_cell(blocks["Python"])  # a fresh cell, pasted as printed
    assert result.error_in_exec is None, result.error_in_exec
    check_answer(capsys.readouterr().out)
    snippet = blocks["Python"]
    assert "/openai/v1/chat/completions" in snippet and f'"model": "{deployment}"' in snippet
    assert key not in shown["text/plain"] and key not in shown["text/html"]


def _terminal_env(app) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KEY_ENV}
    env["AZMODELS_SANDBOX"] = app.sandbox_info.arm_endpoint
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_terminal_export_curl_and_python_lines_run_as_printed_in_bash(app, chat, no_key):
    env = _terminal_env(app)
    shown = subprocess.run(
        [*CLI, "deployments", "show", "--name", chat], capture_output=True, text=True,
        env=env, timeout=120,
    )  # fmt: skip
    assert shown.returncode == 0, shown.stderr
    blocks = try_it_blocks(shown.stdout)
    assert blocks["Key"] == f'export {KEY_ENV}="$(azmodels deployments key --name {chat})"'
    assert "%azmodels" not in shown.stdout and "%config" not in shown.stdout

    script = (
        f"set -e\n{blocks['Key']}\n{blocks['curl']}\necho\n"
        f"{sys.executable} - <<'PASTED'\n{blocks['Python']}\nPASTED\n"
        f'test -n "${KEY_ENV}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    curl_answer, python_answer = done.stdout.split("\n", 1)
    check_answer(curl_answer)
    check_answer(python_answer)
    assert app.deployments.api_key() not in done.stdout + done.stderr


def test_terminal_key_on_a_screen_says_how_to_capture_it(app, chat):
    reader, screen = pty.openpty()  # the command's stdout is a terminal
    try:
        done = subprocess.run(
            [*CLI, "deployments", "key", "--name", chat], stdout=screen,
            stderr=subprocess.PIPE, text=True, env=_terminal_env(app), timeout=120,
        )  # fmt: skip
        os.close(screen)
        shown = os.read(reader, 65536).decode()
    finally:
        os.close(reader)
    assert done.returncode == 0, done.stderr
    assert app.deployments.api_key() not in shown + done.stderr
    assert f'`export {KEY_ENV}="$(azmodels deployments key --name {chat})"`' in shown
    assert "%azmodels" not in shown and "notebook" not in shown


def test_terminal_key_refuses_an_unknown_deployment_and_prints_nothing(app, chat):
    done = subprocess.run(
        [*CLI, "deployments", "key", "--name", "no-such-deployment"], capture_output=True,
        text=True, env=_terminal_env(app), timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert "no-such-deployment" in done.stderr and "%azmodels" not in done.stderr


def test_python_key_line_then_snippet_run_as_printed(app, chat, no_key, capsys):
    blocks = try_it_blocks(card_for(app.deployments.show(chat), PYTHON.write).text())
    assert blocks["Key"] == f"az.run('deployments key --name {chat}')"
    exec(compile(blocks["Key"], "<key line>", "exec"), {"az": app})
    assert os.environ[KEY_ENV] == app.deployments.api_key()
    exec(compile(blocks["Python"], "<try it>", "exec"), {})  # a fresh namespace
    check_answer(capsys.readouterr().out)


def test_the_key_reaches_no_screen_through_any_front_end(app, chat, no_key, capsys):
    key = app.deployments.api_key()
    on_screen = terminal(stdout_is_terminal=True)
    outcome = app.execute(["deployments", "key", "--name", chat], front_end=on_screen)
    assert key not in outcome.message and KEY_ENV not in os.environ
    assert app.run(f"deployments key --name {chat}").startswith(f"${KEY_ENV} now holds")
    assert key not in capsys.readouterr().out


def test_key_command_refuses_an_unknown_deployment_and_sets_nothing(shell, magics, no_key):
    result = shell.run_cell("%azmodels deployments key --name no-such-deployment")
    assert result.error_in_exec is not None
    assert KEY_ENV not in os.environ
