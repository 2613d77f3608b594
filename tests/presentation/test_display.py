"""Notebook display of DataFrames: our frames get status colours, others are left alone."""

from __future__ import annotations

import pandas as pd
import pytest

from azmodels_magic.presentation import display
from azmodels_magic.presentation.cards import status_colour

GREEN, AMBER, RED = status_colour("Running"), status_colour("Creating"), status_colour("Failed")


def ours(kind: str = "deployments", **columns) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    frame.attrs["azmodels"] = kind
    return frame


def html_of(shell, value) -> str:
    data, _metadata = shell.display_formatter.format(value)
    return data.get("text/html", "")


def test_the_formatter_is_registered_by_name_at_load(shell):
    formatter = shell.display_formatter.formatters["text/html"]
    key = (pd.DataFrame.__module__, "DataFrame")  # "pandas" or "pandas.core.frame"
    registered = formatter.deferred_printers.get(key)
    if registered is None:  # already resolved by an earlier display
        registered = formatter.type_printers.get(pd.DataFrame)
    assert registered is display._html_formatter


def test_status_colours_in_our_frames(shell):
    frame = ours(deployment=["a", "b", "c", "d"],
                 status=["Running", "Creating", "Failed", "Stopped"])  # fmt: skip
    text = html_of(shell, frame)
    assert f'color:{GREEN};font-weight:600" data-status="running"' in text
    assert f'color:{AMBER};font-weight:600" data-status="creating"' in text
    assert f'color:{RED};font-weight:600" data-status="failed"' in text
    assert "azmodels-deployments" in text
    # text/plain is pandas' own
    data, _ = shell.display_formatter.format(frame)
    assert data["text/plain"] == repr(frame)


def test_models_ready_and_uploads_state(shell):
    assert f"color:{GREEN}" in html_of(shell, ours("models", name=["m"], status=["Ready"]))
    uploads = ours("uploads", path=["m/1", "m/2"], state=["partial (resumable)", "complete"])
    text = html_of(shell, uploads)
    assert f'color:{AMBER};font-weight:600" data-status="partial (resumable)"' in text
    assert f'color:{GREEN};font-weight:600" data-status="complete"' in text


def test_other_frames_render_as_pandas_does(shell):
    plain = pd.DataFrame({"status": ["Running"], "x": [1]})
    assert html_of(shell, plain) == plain._repr_html_()
    no_status = ours(deployment=["a"], capacity=[1])
    assert html_of(shell, no_status) == no_status._repr_html_()


def test_cells_are_escaped_and_cut_like_pandas_cuts_them(shell):
    frame = ours("models", name=["<script>alert(1)</script>", "b"], status=["Ready", "Ready"],
                 description=["x" * 200, "y"],
                 size_bytes=pd.array([None, 5], dtype="Int64"))  # fmt: skip
    text = html_of(shell, frame)
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "x" * 40 not in text and "x" * 31 + "…" in text
    assert "&lt;NA&gt;" not in text and "<td></td>" in text  # a missing size is just empty


def test_empty_columns_are_left_out_of_the_view_not_the_frame(shell):
    frame = ours("models", name=["a", "b"], status=["Ready", "Ready"], format=["", ""],
                 size_bytes=pd.array([None, None], dtype="Int64"), skus=[[], []],
                 publisher=["OpenAI", ""])  # fmt: skip
    text = html_of(shell, frame)
    assert ">format<" not in text and ">size_bytes<" not in text and ">skus<" not in text
    assert ">publisher<" in text and "OpenAI" in text  # empty in one row only: shown
    assert "Empty, not shown: format, size_bytes, skus (--wide shows them)" in text
    assert f"color:{GREEN}" in text  # still our coloured table
    assert list(frame.columns) == ["name", "status", "format", "size_bytes", "skus", "publisher"]
    frame.attrs["azmodels_wide"] = True
    wide = html_of(shell, frame)
    assert ">format<" in wide and "Empty, not shown" not in wide
    accounts = ours("accounts", account=["a"], note=[""])  # no status column either
    assert ">note<" not in html_of(shell, accounts)
    assert "Empty, not shown: note" in html_of(shell, accounts)


def test_long_frames_are_cut_like_pandas(shell):
    frame = ours(deployment=[f"d{i}" for i in range(500)], status=["Running"] * 500)
    text = html_of(shell, frame)
    assert "d0<" in text and "d499<" in text and "d250<" not in text
    assert "500 rows" in text


def test_a_derived_frame_keeps_the_colours(shell):
    frame = ours(deployment=["a", "b"], status=["Running", "Failed"])
    running = frame[frame["status"] == "Running"]
    assert running.attrs["azmodels"] == "deployments"
    assert f"color:{GREEN}" in html_of(shell, running)


@pytest.fixture
def sandbox_magics(shell, app, monkeypatch):
    registered = shell.magics_manager.registry["AzModelsMagics"]
    monkeypatch.setattr(registered, "app", app)
    app.deployments.deploy(model="gpt-4.1-mini", deployment_name="display-me")
    yield registered
    shell.user_ns.pop("df", None)
    shell.user_ns.pop("stored", None)


def test_assigned_and_stored_results_stay_plain_dataframes(shell, sandbox_magics):
    result = shell.run_cell("df = %azmodels deployments list")
    assert result.error_in_exec is None
    frame = shell.user_ns["df"]
    assert type(frame) is pd.DataFrame
    assert frame.attrs["azmodels"] == "deployments"
    assert "display-me" in set(frame["deployment"])
    assert f"color:{GREEN}" in html_of(shell, frame)  # displayed with colours...
    assert frame.loc[frame["deployment"] == "display-me", "status"].item() == "Running"  # ...data

    result = shell.run_cell("%azmodels deployments list -o stored")
    assert result.result is None  # nothing displayed
    assert type(shell.user_ns["stored"]) is pd.DataFrame
    assert list(shell.user_ns["stored"].columns) == list(frame.columns)


def test_install_is_idempotent_and_uninstall_restores_pandas(shell):
    from IPython.core.interactiveshell import InteractiveShell

    assert display.install(shell) is False  # already there
    display.uninstall(shell)
    try:
        frame = ours(deployment=["a"], status=["Running"])
        assert html_of(shell, frame) == frame._repr_html_()
    finally:
        assert display.install(shell) is True
    assert shell is InteractiveShell.instance()
