"""The dashboard `%azmodels` shows in a notebook: tables, refresh, and row actions for real."""

from __future__ import annotations

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)
from presentation_support import output_text

from azmodels_magic.presentation.dashboard import Dashboard
from azmodels_magic.presentation.forms import DeployForm
from azmodels_magic.presentation.widgets import ConfirmBox


@pytest.fixture(scope="module")
def chat(app):
    """One running deployment to act on."""
    app.deployments.deploy(model="gpt-4o", deployment_name="dash-chat", capacity=5)
    return "dash-chat"


def test_three_tabs_with_the_tables_and_counts(app, chat, custom_model):
    board = Dashboard(app)
    titles = [board.tabs.get_title(i) for i in range(3)]
    assert titles[0].startswith("Models (") and titles[1].startswith("Deployments (")
    assert titles[2].startswith("Uploads (")
    assert int(titles[0].split("(")[1].rstrip(")")) == len(board.frames["models"])
    assert board.frames["deployments"].attrs["azmodels"] == "deployments"
    deployments_html = board.tables["deployments"].value
    assert "dash-chat" in deployments_html
    assert 'data-status="running"' in deployments_html  # the status in colour
    assert "tiny-custom" in board.tables["models"].value
    assert "models found" in board.summary.value


def test_actions_wait_for_a_row_and_tables_look_like_list(app, chat, shell):
    from azmodels_magic.presentation.display import frame_html

    board = Dashboard(app)
    for kind in ("models", "deployments"):
        board.select_tab(kind)
        assert board.selected_value is None and board.row() is None
        buttons = (board.show_button, board.deploy_button, board.scale_button,
                   board.delete_button)  # fmt: skip
        assert all(b.disabled for b in buttons), kind
        assert "Click a row" in board.pick_hint.value
    board.select("dash-chat")
    assert not board.show_button.disabled and not board.scale_button.disabled
    assert "Selected: <b>dash-chat: gpt-4o (Running" in board.pick_hint.value
    # The same HTML as `%azmodels list` in a notebook, in the classes a notebook output has;
    # only the selected row is marked.
    listed = frame_html(app.execute(["deployments", "list"]).value)
    table = board.tables["deployments"].value
    assert "jp-RenderedHTMLCommon" in table
    picked = table.split('<tr class="azmodels-picked">')
    assert len(picked) == 2 and picked[1].split("</tr>")[0].count("dash-chat") == 1
    assert listed in table.replace(' class="azmodels-picked"', "")


def test_clicking_a_row_selects_it(app, chat, custom_model):
    board = Dashboard(app)
    frame = board.frames["deployments"]
    label = str(frame.index[list(frame["deployment"]).index(chat)])
    table = board.tables["deployments"].value
    assert 'data-kind="deployments"' in table and "onclick=" in table
    assert 'class="azmodels-picked"' not in table
    # What the table's onclick does in the browser: the row's kind and index label, as typed.
    board.clicks.value = f"deployments:{label}"
    assert board.kind == "deployments"  # a row of another tab: that tab is shown
    assert board.selected_value == chat and board.row()["deployment"] == chat
    assert board.clicks.value == ""  # ready for the next click, even on the same row
    assert f"Selected: <b>{chat}:" in board.pick_hint.value
    assert not board.show_button.disabled and not board.delete_button.disabled
    assert (
        f'<tr class="azmodels-picked">\n      <th>{label}</th>' in board.tables["deployments"].value
    )
    # A custom model: Delete is offered; the deployment stays selected on its own tab.
    models = board.frames["models"]
    index = models.index[(models["name"] == "tiny-custom").to_numpy()][0]
    board.clicks.value = f"models:{index}"
    assert board.kind == "models" and board.row()["name"] == "tiny-custom"
    assert not board.delete_button.disabled
    board.select_tab("deployments")
    assert board.selected_value == chat
    board.clicks.value = "deployments:no-such-row"  # a stale click selects nothing new
    assert board.selected_value == chat


def test_typing_a_name_selects_its_row(app, chat):
    board = Dashboard(app)
    assert "gpt-4o 2024-11-20 (base)" in board.find.options  # the current tab's rows
    board.select_tab("deployments")
    label = next(o for o in board.find.options if o.startswith(f"{chat}: gpt-4o ("))
    board.find.value = label
    assert board.selected_value == chat and board.find.value == label
    assert not board.show_button.disabled
    board.find.value = "no such row"  # not a row: nothing changes
    assert board.selected_value == chat
    board.select(None)  # selected another way: the typed text goes
    assert board.find.value == "" and board.show_button.disabled


def test_actions_follow_the_tab(app, chat):
    board = Dashboard(app)
    assert board.kind == "models"
    assert board.deploy_button.layout.display is None
    assert board.scale_button.layout.display == "none"
    board.select_tab("deployments")
    assert board.scale_button.layout.display is None
    assert board.deploy_button.layout.display == "none"
    board.select("dash-chat")
    assert board.scale_capacity.value == board.row()["capacity"]


def test_show_a_deployment(app, chat):
    board = Dashboard(app)
    board.select_tab("deployments")
    board.select(chat)
    board.show_button.click()
    text = output_text(board.output)
    assert text.startswith(f"%azmodels deployments show --name {chat}")
    details = board.last_outcome.value
    assert details.deployment.name == chat and details.endpoint


def test_show_a_model(app):
    board = Dashboard(app)
    board.select("base:gpt-4o:2024-11-20")
    board.show()
    assert board.last_outcome.value.model.version == "2024-11-20"


def test_base_models_cannot_be_deleted(app):
    board = Dashboard(app)
    board.select("base:gpt-4o:2024-11-20")
    assert board.delete_button.disabled
    assert board.delete() is None
    assert "cannot be deleted" in output_text(board.output)


def test_deploy_opens_the_form_preselected_and_it_deploys(app, unique):
    board = Dashboard(app)
    board.select("base:gpt-4o-mini:2024-07-18")
    board.deploy_button.click()
    form = board.last_form
    assert isinstance(form, DeployForm)
    assert form.selected.name == "gpt-4o-mini" and form.selected.version == "2024-07-18"
    assert any("application/vnd.jupyter.widget-view+json" in (o.get("data") or {})
               for o in board.output.outputs)  # fmt: skip
    name = unique("from-dash")
    form.name.value = name
    form.button.click()
    assert app.deployments.get(name).model_name == "gpt-4o-mini"
    assert name in set(board.frames["deployments"]["deployment"])  # the tables followed


def test_scale_from_the_dashboard(app, chat):
    board = Dashboard(app)
    board.select_tab("deployments")
    board.select(chat)
    board.scale_capacity.value = 7
    board.scale_button.click()
    assert app.deployments.get(chat).capacity == 7
    assert "from 5 to 7" in output_text(board.output)
    assert board.row()["capacity"] == 7  # the table was reloaded


def test_a_refused_scale_is_one_line(app, chat):
    board = Dashboard(app)
    board.select_tab("deployments")
    board.select(chat)
    board.scale_capacity.value = 999_999  # beyond GlobalStandard's range
    board.scale()
    last = output_text(board.output).strip().splitlines()[-1]
    assert last.startswith("ValidationError: Cannot scale")


def test_delete_asks_for_the_name_then_deletes(app, unique):
    name = unique("doomed")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=name)
    board = Dashboard(app)
    board.select_tab("deployments")
    board.select(name)
    board.delete_button.click()
    box = board.confirm
    assert isinstance(box, ConfirmBox) and box.button.disabled
    box.button.click()  # nothing typed: nothing happens
    assert app.deployments.get(name)
    box.text.value = "wrong"
    assert box.button.disabled
    box.text.value = name
    assert not box.button.disabled
    box.button.click()
    assert name not in {d.name for d in app.deployments.all(refresh=True)}
    assert f"Deleted deployment '{name}'" in output_text(box.output)
    assert name not in set(board.frames["deployments"]["deployment"])


def test_delete_a_custom_model_version(app, weights, unique):
    name = unique("gone")
    app.uploads.upload(base_model="gpt-4o", source=str(weights), name=name, progress=False)
    board = Dashboard(app)
    board.select(f"custom:{name}:1")
    assert not board.delete_button.disabled
    box = board.delete()
    box.text.value = name
    box.button.click()
    assert f"Deleted custom model '{name}' version 1" in output_text(box.output)
    assert name not in {m.name for m in app.models.custom_models(refresh=True)}


def test_refresh_picks_up_changes_made_elsewhere(app, unique):
    board = Dashboard(app)
    name = unique("elsewhere")
    app.deployments.deploy(model="gpt-4o-mini", deployment_name=name)
    assert name not in set(board.frames["deployments"]["deployment"])
    board.refresh_button.click()
    assert name in set(board.frames["deployments"]["deployment"])


def test_a_failing_refresh_is_one_line(app, monkeypatch):
    board = Dashboard(app)

    def broken(*_args, **_kwargs):
        from azmodels_magic.errors import ServiceError

        raise ServiceError("The service is unavailable.", code="ServiceUnavailable")

    monkeypatch.setattr(app, "execute", broken)
    board.refresh()
    assert output_text(board.output).strip() == (
        "ServiceError: The service is unavailable. [ServiceUnavailable]"
    )


def test_the_magic_alone_is_the_dashboard_in_a_notebook(shell, magics):
    widget = shell.run_line_magic("azmodels", "")
    assert isinstance(widget.dashboard, Dashboard)


def test_the_magic_alone_prints_help_elsewhere(shell, capsys):
    shell.run_line_magic("azmodels", "")
    assert "deployments" in capsys.readouterr().out
