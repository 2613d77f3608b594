"""The "Try it" snippets of a deployment card work as printed, in a fresh cell, against the sandbox:
`%azmodels deployments key` puts the key where they read it, and the key is never shown."""

from __future__ import annotations

import html
import os
import shutil
import subprocess

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)

from azmodels_magic.magics import magic_syntax
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.results.deployments import KEY_ENV


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


def _printed_value(text: str, label: str) -> str:
    """A card row's value as the terminal shows it: the label's line and its indented lines."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"  {label} "))
    indent = len(lines[start]) - len(lines[start][2 + len(label) :].lstrip())
    value = [lines[start][indent:]]
    for line in lines[start + 1 :]:
        if not line.startswith(" " * indent):
            break
        value.append(line[indent:])
    return "\n".join(value)


def _card_rows(card, heading):
    return dict(next(rows for title, rows in card.sections if title == heading))


def test_python_snippet_runs_as_printed_after_the_key_command(
    shell, magics, app, deployment, monkeypatch, capsys
):
    monkeypatch.delenv(KEY_ENV, raising=False)
    card = card_for(app.deployments.show(deployment), magic_syntax)
    rows = _card_rows(card, "Try it")
    key_command = rows["Key"].split("  #")[0]
    assert key_command == f"%azmodels deployments key --name {deployment}"

    result = shell.run_cell(key_command)
    assert result.error_in_exec is None, result.error_in_exec
    key = os.environ[KEY_ENV]
    out = capsys.readouterr().out
    assert f"${KEY_ENV} now holds" in out and key not in out

    # The snippet exactly as the card prints it (in a terminal and in HTML), in a fresh namespace.
    printed_snippet = _printed_value(card.text(), "Python")
    assert html.unescape(rows["Python"]) in html.unescape(card.html())
    assert printed_snippet == rows["Python"]
    namespace: dict = {}
    exec(compile(printed_snippet, "<try it>", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "'choices'" in printed and "Hello!" in printed, printed
    assert "/openai/v1/chat/completions" in printed_snippet
    assert f'"model": "{deployment}"' in printed_snippet
    assert key not in card.text() and key not in card.html()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_snippet_runs_as_printed(app, deployment, monkeypatch):
    monkeypatch.setenv(KEY_ENV, app.deployments.api_key())
    curl = _card_rows(card_for(app.deployments.show(deployment)), "Try it")["curl"]
    done = subprocess.run(["sh", "-c", curl], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and '"choices"' in done.stdout, (done.stdout, done.stderr)


def test_key_command_refuses_an_unknown_deployment_and_sets_nothing(
    shell, magics, monkeypatch, capsys
):
    monkeypatch.delenv(KEY_ENV, raising=False)
    result = shell.run_cell("%azmodels deployments key --name no-such-deployment")
    assert result.error_in_exec is not None
    assert KEY_ENV not in os.environ


def test_key_command_in_a_terminal_says_where_to_run_it(app, deployment, monkeypatch):
    from azmodels_magic.errors import UsageError

    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setattr(app, "detach_sandbox", True)  # what the CLI sets
    with pytest.raises(UsageError, match="run it in a notebook"):
        app.execute(["deployments", "key", "--name", deployment])
    assert KEY_ENV not in os.environ
