"""Each front end writes every error and next step in its own syntax, and no other's.

The same commands (refusals, errors, results that name what to do next) are run in the notebook
(the magic in an IPython shell), the terminal (the `azmodels` CLI in a subprocess) and Python
(`az.run`), against one sandbox. The terminal never shows `%azmodels` or `%config` advice; the
notebook never shows `azmodels ...` or `export ...` advice; Python neither.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from azmodels_magic.errors import AzModelsError
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.records import Displayable
from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.steps import PYTHON

CLI = [sys.executable, "-m", "azmodels_magic.cli"]

# What each front end must not show: another front end's way of writing a step.
MAGIC = re.compile(r"%azmodels|%config")
TERMINAL = re.compile(r"(?<![%\w.-])azmodels (?=[a-z])|\bexport [A-Z_]+=")
PYTHON_CALL = re.compile(r"\baz\.(run\(|\w+ = )")
FOREIGN = {"notebook": (TERMINAL, PYTHON_CALL), "terminal": (MAGIC, PYTHON_CALL),
           "python": (MAGIC, TERMINAL)}  # fmt: skip

# How each writes the two kinds of step the deploy --region refusal names.
REGION_ADVICE = {
    "notebook": ("%config AzModels.region_accounts = {'westus': '<account>'}",
                 "`%azmodels accounts list`"),
    "terminal": ("""export AZMODELS_REGION_ACCOUNTS='{"westus": "<account>"}'""",
                 "`azmodels accounts list`"),
    "python": ("az.region_accounts = {'westus': '<account>'}", "`az.run('accounts list')`"),
}  # fmt: skip


def commands(front: str, weights: str) -> list[str]:
    """Refusals, errors, and results that name steps (front: a prefix for unique names)."""
    return [
        "deploy --name gpt-4o-mini --deployment-name fe-region --region westus",
        "uploads delete --path tiny/1",
        "show no-such-model-anywhere",
        "deploy --name gpt-4o-mini",
        "deployments key --name no-such-deployment",
        "deployments show --name no-such-deployment",
        f"deployments delete --name fe-chat-{front}",
        f"deploy --name gpt-4o-mini --deployment-name fe-chat-{front} --no-wait",
        f"deployments show --name fe-chat-{front}",
        "show gpt-4o-mini",
        f"upload --base-model gpt-4o --source {weights} --name fe-up-{front} --no-progress",
        f"show fe-up-{front}",
        "uploads list",
        "sandbox status",
        f"deploy --name gpt-4o --deployment-name fe-big-{front} --capacity 2000",  # fits elsewhere
        f"deployments scale --name fe-chat-{front} --capacity 30001",
        "delete --name no-such-model --force",
        "uploads show --path tiny/1",
        "uploads prune --dry-run",
        "list --type custom",
        "deployments list",
        "quota",
        "regions --name gpt-4o-mini",
        "accounts list",
        "connect",
        "deploy --bogus",  # usage errors name the help to read
        "deplyo",
        "help nope",
    ]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    return str(write_safetensors(path, {"w": ("F16", (4, 8))}))


def _check(front: str, shown: str) -> None:
    for foreign in FOREIGN[front]:
        found = foreign.search(shown)
        assert found is None, f"{front} shows {found.group()!r}:\n{shown}"
    setting, command = REGION_ADVICE[front]
    assert setting in shown and command in shown, shown


def test_the_notebook_writes_steps_as_the_magic_and_config(shell, app, weights, monkeypatch,
                                                           capsys):  # fmt: skip
    magics = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(magics, "app", app)
    capsys.readouterr()
    for line in commands("nb", weights):
        shell.run_cell(f"%azmodels {line}")  # errors show as red lines, values as cards
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "Deploy it:" in shown and "Check progress with `%azmodels deployments show" in shown
    assert "See `%azmodels deploy --help`" in shown
    _check("notebook", shown)


def _cli_env(app, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_SANDBOX"))}
    env.update(AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint, **extra)
    return env


def test_the_terminal_writes_steps_as_the_cli_and_its_variables(app, weights):
    shown = []
    for line in commands("term", weights):
        done = subprocess.run(
            [*CLI, *line.split()], capture_output=True, text=True,
            env=_cli_env(app), timeout=120,
        )  # fmt: skip
        shown.append(done.stdout + done.stderr)
    text = "\n".join(shown)
    assert "Deploy it:" in text and "Check progress with `azmodels deployments show" in text
    assert "See `azmodels deploy --help`" in text
    _check("terminal", text)


def test_the_terminal_reads_the_setting_it_advises(app):
    """The variable the refusal names is the one the CLI reads: with it, the account question is
    settled and the deploy goes on to the next check (the model is not offered in westus)."""
    line = ["deploy", "--name", "gpt-4o-mini", "--deployment-name", "fe-mapped", "--region",
            "westus"]  # fmt: skip
    outcomes = []
    for extra in ({}, {"AZMODELS_REGION_ACCOUNTS": '{"westus": "fe-westus-account"}'}):
        done = subprocess.run(
            [*CLI, *line], capture_output=True, text=True, timeout=120,
            env=_cli_env(app, **extra),
        )  # fmt: skip
        assert done.returncode == 1
        outcomes.append(done.stderr)
    unmapped, mapped = outcomes
    assert "[NoAccountInRegion]" in unmapped and "AZMODELS_REGION_ACCOUNTS" in unmapped
    assert "[NoAccountInRegion]" not in mapped and "[ModelNotOfferedInRegion]" in mapped


def test_a_wrong_setting_variable_is_one_line_naming_it(app):
    done = subprocess.run(
        [*CLI, "list"], capture_output=True, text=True, timeout=120,
        env=_cli_env(app, AZMODELS_REGION_ACCOUNTS="westus=acct"),
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == ""
    [line] = done.stderr.splitlines()
    assert "region_accounts" in line and "$AZMODELS_REGION_ACCOUNTS" in line, line


def test_python_writes_steps_as_az_run_and_attributes(app, weights):
    shown = []
    for line in commands("py", weights):
        try:
            value = app.run(line)
        except AzModelsError as error:
            shown.append(str(error))
            continue
        shown.append(card_for(value, PYTHON.write).text() if isinstance(value, Displayable)
                     else str(value))  # fmt: skip
    text = "\n".join(shown)
    assert "Delete: az.run('deployments delete --name fe-chat-py')" in text  # the card's Next
    assert "See `az.run('deploy --help')`" in text
    _check("python", text)


def test_not_connected_names_connect_in_each_front_ends_syntax(shell, monkeypatch, capsys,
                                                               tmp_path):  # fmt: skip
    from azmodels_magic.api import AzModels

    loose = AzModels()
    magics = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(magics, "app", loose)
    capsys.readouterr()
    shell.run_cell("%azmodels list")
    notebook = "".join(capsys.readouterr())
    assert "`%azmodels sandbox start`" in notebook
    with pytest.raises(AzModelsError) as caught:
        loose.run("list")
    assert "`az.run('sandbox start')`" in str(caught.value)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_SAND"))}
    env["AZMODELS_DATA_DIR"] = str(tmp_path)  # no sandbox left running by an earlier start
    done = subprocess.run([*CLI, "list"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1 and "`azmodels sandbox start`" in done.stderr
    for front, text in (("notebook", notebook), ("python", str(caught.value)),
                        ("terminal", done.stderr)):  # fmt: skip
        for foreign in FOREIGN[front]:
            assert foreign.search(text) is None, (front, text)


def test_python_methods_called_directly_write_steps_as_python(app):
    """Not only `az.run`: an error raised by a method called directly (`az.show`,
    `az.deployments.deploy`, ...) is read through `str()`, in Python's words."""
    calls = [
        lambda: app.show("no-such-model-anywhere"),
        lambda: app.models.show("no-such-model-anywhere"),
        lambda: app.deployments.deploy(
            model="gpt-4o-mini", deployment_name="fe-direct", region="westus"
        ),
        lambda: app.deployments.show("no-such-deployment"),
        lambda: app.quota.regions("no-such-model-anywhere"),
    ]
    shown = []
    for call in calls:
        with pytest.raises(AzModelsError) as caught:
            call()
        shown.append(str(caught.value))
    text = "\n".join(shown)
    assert "`az.run('list')`" in text, text
    assert "az.region_accounts = {'westus': '<account>'}" in text, text
    for foreign in FOREIGN["python"]:
        assert foreign.search(text) is None, text


def test_accepted_and_scale_texts_name_the_check_in_the_front_ends_syntax():
    """Text a result writes names its command as a step: the front end's syntax when one
    writes it, the process's (Python's here) when read directly."""
    from azmodels_magic.records import Deployment
    from azmodels_magic.results.deployments import ScaleReport, accepted_text
    from azmodels_magic.steps import NOTEBOOK, TERMINAL

    text = accepted_text("delete", "chat", "the wait timed out")
    assert "Check with `az.run('deployments show --name chat')` (once it is not" in text
    assert "`azmodels deployments show --name chat`" in accepted_text(
        "deploy", "chat", "r", TERMINAL.write
    )
    chat = Deployment.from_rest({"name": "chat", "sku": {"name": "Standard", "capacity": 2}})
    report = ScaleReport(chat, 1, 2, waited=False)
    assert report.summary().endswith("check with `az.run('deployments show --name chat')`).")
    assert "`%azmodels deployments show --name chat`" in report.summary(NOTEBOOK.write)
