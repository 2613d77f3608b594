"""The IPython front end, without a sandbox: fast start, one-line errors, help."""

from __future__ import annotations

import json
import subprocess
import sys

from azmodels_support import command_names

HEAVY = ("pandas", "azure", "ipywidgets", "tqdm", "requests", "numpy")


def test_load_ext_imports_nothing_heavy():
    script = (
        "import sys, json\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "before = set(sys.modules)\n"
        "shell.run_line_magic('load_ext', 'azmodels_magic')\n"
        "assert 'azmodels' in shell.magics_manager.magics['line']\n"
        f"heavy = {HEAVY!r}\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before "
        "if m.split('.')[0] in heavy)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_unknown_command_is_one_red_line(shell, capsys):
    result = shell.run_cell("%azmodels nonsense")
    assert result.error_in_exec is not None
    out = capsys.readouterr()
    text = out.out + out.err
    assert "unknown command 'nonsense'" in text
    assert "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1


def test_debug_shows_the_traceback(shell, capsys):
    shell.run_line_magic("config", "AzModels.debug = True")
    try:
        shell.run_cell("%azmodels nonsense")
    finally:
        shell.run_line_magic("config", "AzModels.debug = False")
    out = capsys.readouterr()
    assert "Traceback" in out.out + out.err


def test_help_prints_text(shell, capsys):
    result = shell.run_cell("%azmodels help")
    assert result.error_in_exec is None
    assert "deployments" in capsys.readouterr().out


def test_every_command_of_the_grammar_has_a_handler():
    from azmodels_magic.commands import handler_for

    for path in command_names():
        if path != "help":  # help is answered by the grammar itself
            assert callable(handler_for(path)), path


def test_config_magic_reaches_the_configurable(shell):
    shell.run_line_magic("config", "AzModels.cache_seconds = 7.5")
    app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    assert app.cache_seconds == 7.5


def test_connect_shows_and_sets_the_connection(shell, capsys):
    shell.run_cell(
        "%azmodels connect --project-endpoint "
        "https://contoso.services.ai.azure.com/api/projects/p1 --subscription s1 "
        "--resource-group rg1"
    )
    out = capsys.readouterr().out
    assert "Connection updated" in out
    assert "contoso" in out
    app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    assert app.project_parts() == ("contoso", "p1")
    result = shell.run_cell("%azmodels connect --project-endpoint http://evil.example/api/x")
    assert result.error_in_exec is not None
    assert app.project_endpoint.startswith("https://contoso")  # unchanged by the bad input


def test_get_app_is_the_object_behind_the_magic(shell):
    from azmodels_magic import get_app

    app = get_app()
    assert app in shell.configurables
    assert type(app).__name__ == "AzModels"


def test_cell_runs_each_line_expands_vars_skips_comments_and_stops_at_first_error(shell, capsys):
    app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    saved = app.subscription_id, app.resource_group
    shell.user_ns["rg_name"] = "rg-from-a-variable"
    try:
        result = shell.run_cell(
            "%%azmodels\n"
            "# set up the connection\n"
            "connect --subscription sub-one --resource-group {rg_name}\n"
            "\n"
            "nonsense --flag\n"
            "connect --subscription never-reached\n"
        )
        assert result.error_in_exec is not None
        assert app.subscription_id == "sub-one"  # the line after the error did not run
        assert app.resource_group == "rg-from-a-variable"
        out = capsys.readouterr()
        assert "unknown command 'nonsense'" in out.out + out.err
        assert "never-reached" not in out.out
    finally:
        app.subscription_id, app.resource_group = saved
