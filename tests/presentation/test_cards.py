"""Cards say times in the reader's terms and show what the catalog knows about a model."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)

from azmodels_magic.api import python_front_end
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.steps import TERMINAL
from azmodels_magic.wording import moment, since

MOMENT = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, (just now|\d+ \w+ ago)"


def test_moments_read_like_people_say_them():
    now = datetime(2026, 11, 27, 23, 57, 10, tzinfo=UTC)
    assert moment("2026-11-27T23:52:01.123456Z", now) == "2026-11-27 23:52 UTC, 5 minutes ago"
    assert moment("2026-11-27T22:57:10+00:00", now) == "2026-11-27 22:57 UTC, 1 hour ago"
    assert moment("2027-06-30T00:00:00Z", now) == "2027-06-30, in 7 months"
    assert moment("2026-11-27T23:57:00Z", now).endswith("just now")
    assert moment("", now) == "" and moment("not a time", now) == "not a time"
    assert since(-3 * 86400) == "in 3 days" and since(400 * 86400) == "13 months ago"


def test_catalog_card_has_context_window_output_tokens_and_a_capabilities_section(app):
    card = card_for(app.show("gpt-4o"))
    sections = dict(card.sections)
    general = dict(sections["General"])
    assert general["Context window"] == "128,000 tokens"
    assert general["Max output"] == "16,384 tokens"
    assert "Capabilities" not in general
    capabilities = dict(sections["Capabilities"])
    assert {"Chat completion", "Tool calling", "JSON object response"} <= set(capabilities)
    # gpt-4o's default version retired in 2026: the row says Retired, with when
    retired = general.get("Retires") or general["Retired"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d, (in )?\d+ \w+( ago)?", retired)
    text = card.text()
    assert "\nCapabilities\n  " in text and "maxContextToken" not in text


def test_catalog_card_leaves_out_what_the_catalog_does_not_say(app):
    without = next(
        m for m in app.models.list(type="base").models
        if "maxOutputToken" not in m.capabilities
    )  # fmt: skip
    general = dict(
        dict(card_for(app.show(without.name, version=without.version)).sections)["General"]
    )
    assert "Max output" not in general


def test_deployment_and_custom_cards_say_when(app, custom_model, unique):
    name = unique("when")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=name)
    general = dict(dict(card_for(app.deployments.show(name)).sections)["General"])
    assert re.fullmatch(MOMENT, general["Created"]), general["Created"]
    custom = dict(dict(card_for(app.show(custom_model.name)).sections)["General"])
    assert re.fullmatch(MOMENT, custom["Uploaded"]), custom["Uploaded"]
    assert not re.search(r"\dT\d", custom["Uploaded"])  # not ISO: the reader's terms


def test_a_record_shows_as_its_card_in_ipython_with_notebook_commands(shell, app):
    details = app.show("gpt-4.1")
    data, _ = shell.display_formatter.format(details)
    assert 'class="azmodels-card"' in data["text/html"]
    assert "%azmodels deploy --name gpt-4.1 --version " in data["text/html"]
    text = data["text/plain"]
    assert text.startswith("gpt-4.1 (base model)"), text
    assert "Its deployments: %azmodels deployments list --model gpt-4.1" in text
    # Each record type the services return for display has a card, in text and HTML.
    plain_text = card_for(details).text()  # outside a front end: the process's (Python's)
    assert "Its deployments: az.run('deployments list --model gpt-4.1')" in plain_text
    assert "%azmodels" not in plain_text
    terminal_text = card_for(details, TERMINAL.write).text()
    assert "Its deployments: azmodels deployments list --model gpt-4.1" in terminal_text


def test_each_front_end_writes_next_steps_in_its_own_syntax(shell, magics, app, capsys):
    from azmodels_magic.errors import NotFoundError

    # The notebook: %azmodels ...
    result = shell.run_cell("%azmodels show no-such-model-anywhere")
    assert result.error_in_exec is not None
    shown = capsys.readouterr()
    assert "Run `%azmodels list` to see them." in shown.out + shown.err
    # Python: an error raised through az.run names az.run(...) even in str(); the terminal's
    # syntax when asked for it.
    with pytest.raises(NotFoundError) as caught:
        app.run("show no-such-model-anywhere")
    assert "Run `az.run('list')` to see them." in str(caught.value)
    assert "Run `azmodels list` to see them." in caught.value.text(TERMINAL.write)
    report = app.execute(
        ["deploy", "--name", "gpt-4o-mini", "--deployment-name", "syntax-chat", "--no-wait"],
        front_end=python_front_end(),
    )
    assert report.message.endswith(
        "Check progress with `az.run('deployments show --name syntax-chat')`."
    )
    data = report.json_data()
    assert data["commands"]["delete"] == "az.run('deployments delete --name syntax-chat')"
    app.run("deployments delete --name syntax-chat --force")


def test_without_the_extension_ipython_shows_records_as_cards_with_python_commands():
    import subprocess
    import sys

    script = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "from azmodels_magic.api import AzModels\n"
        "from azmodels_magic.records import BaseModel\n"
        "from azmodels_magic.results.models import ModelDetails, deploy_step\n"
        "model = BaseModel.from_rest({'model': {'name': 'm', 'version': '1', 'format': 'F'}})\n"
        "details = ModelDetails(model=model, deploy_step=deploy_step(model, what='Deploy'))\n"
        "data, _ = shell.display_formatter.format(details)\n"
        "print(data['text/plain'])\n"
        "assert 'azmodels-card' in data['text/html']\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("m (base model)")
    assert "Deploy: az.run('deploy --name m --version 1 --deployment-name m')" in done.stdout


def test_long_card_values_wrap_inside_the_card(app, custom_model):
    """A sha256 or a blob URL has no space to break at: the card's cells may break it anywhere,
    so the value wraps inside the card instead of running past its right edge."""
    card = card_for(app.show("tiny-custom", type="custom"))
    files = next(rows for heading, rows in card.sections if heading.startswith("Files ("))
    assert any("sha256 " in str(value) for _label, value in files)
    shown = card.html()
    assert "max-width:820px" in shown
    rows = re.findall(r"<tr><td style=\"([^\"]*)\">.*?</td><td style=\"([^\"]*)\">", shown)
    assert rows
    for label, value in rows:  # values may break anywhere; labels only between words
        assert "overflow-wrap:anywhere" in value and "overflow-wrap:break-word" in label
    assert re.search(r"<table style=\"[^\"]*max-width:100%", shown)


def test_terminal_cards_wrap_values_to_80_columns_and_keep_code_whole(app):
    """Through the real CLI at COLUMNS=80: every line but the lines to paste fits, a wrapped
    value continues under its own column, and the curl line stays one line."""
    import os
    import subprocess
    import sys

    app.deployments.deploy(model="gpt-4.1", deployment_name="card-80", wait=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "AZMODELS_"))}
    env.update(AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint, COLUMNS="80")
    shown = {}
    for line in ("show gpt-4o", "deployments show card-80"):
        done = subprocess.run(
            [sys.executable, "-m", "azmodels_magic.cli", *line.split()],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        shown[line] = done.stdout.splitlines()
    model, deployment = shown["show gpt-4o"], shown["deployments show card-80"]
    assert all(len(text) <= 80 for text in model), [t for t in model if len(t) > 80]
    description = next(i for i, text in enumerate(model) if text.startswith("  Description "))
    column = model[description].index(model[description].split()[1])  # where values start
    assert model[description + 1].startswith(" " * column) and model[description + 1].strip()
    curl = [text for text in deployment if text.startswith("curl ")]
    assert len(curl) == 1 and len(curl[0]) > 80  # whole, to paste
    long = [t for t in deployment if len(t) > 80 and not t.startswith(("curl ", "export "))]
    assert not long, long
    auth = next(i for i, text in enumerate(deployment) if text.startswith("  Auth "))
    assert deployment[auth + 1].strip() == "(keyless)"
    app.deployments.delete("card-80", wait=False)
