"""DataFrames are typed, the notebook shows them trimmed, and terminal tables fit the terminal."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)

from azmodels_magic.presentation.display import frame_html
from azmodels_magic.presentation.tables import (
    WIDE,
    deployments_frame,
    frame_text,
    models_frame,
    uploads_frame,
)

UTC_NS = "datetime64[ns, UTC]"


def test_frames_are_typed(app, custom_model, unique):
    base = app.list_models(type="base")
    assert str(base["inference_deprecation"].dtype) == UTC_NS
    assert all(isinstance(v, list) for v in base["skus"]) and "GlobalStandard" in base["skus"][0]
    assert all(isinstance(v, list) for v in base["capabilities"])
    assert base["default_version"].dtype == bool

    custom = app.list_models(type="custom")
    assert str(custom["created"].dtype) == UTC_NS and custom["created"].notna().all()
    assert str(custom["size_bytes"].dtype) == "Int64"

    name = unique("typed")
    app.deployments.deploy(model="gpt-4.1-mini", deployment_name=name, capacity=3)
    deployments = app.list_deployments()
    assert str(deployments["capacity"].dtype) == "Int64" and 3 in set(deployments["capacity"])
    assert str(deployments["created"].dtype) == UTC_NS and deployments["created"].notna().all()

    uploads = uploads_frame(app.uploads.status())
    assert str(uploads["last_activity"].dtype) == UTC_NS


def test_plain_list_says_publisher_once_and_leaves_base_sizes_empty(shell, app, custom_model):
    frame = app.list_models()
    base = frame[frame["type"] == "base"]
    assert (base["format"] == "").all() and (base["publisher"] == "OpenAI").any()
    assert (base["size"] == "").all() and base["size_bytes"].isna().all()
    custom = frame[frame["type"] == "custom"]
    assert (custom["format"] == "safetensors").all()
    html = frame_html(frame)
    assert "&lt;NA&gt;" not in html and "<NA>" not in html and ">nan<" not in html
    text = frame_text(frame, width=200)
    assert "<NA>" not in text and " nan " not in text


def test_notebook_trims_long_text_but_the_frame_keeps_it(shell, app):
    frame = app.list_models(type="base")
    longest = max(frame["description"], key=len)
    assert len(longest) > 60
    html = frame_html(frame)
    assert longest not in html and longest[:31] + "…" in html
    assert "GlobalStandard, Standard" in html  # lists read as lists, not "['GlobalStandard', ..."
    assert "['" not in html
    assert frame["description"].str.len().max() == len(longest)  # stored whole
    frame.attrs[WIDE] = True
    assert longest in frame_html(frame)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 120, 200])
def test_terminal_tables_fit_the_terminal(app, custom_model, width):
    for frame in (app.list_models(), app.list_models(type="base"), app.list_models(type="custom"),
                  uploads_frame(app.uploads.status())):  # fmt: skip
        text = frame_text(frame, width=width)
        lines = text.splitlines()
        assert len(lines) >= len(frame) + 1
        too_long = [line for line in lines if len(line) > width]
        assert not too_long, (width, too_long[:3])
        if len(lines) > len(frame) + 1 and width >= 60:
            assert "--wide or --format json shows all" in lines[-1]


def test_one_very_long_value_is_cut_without_padding_every_row(app):
    rows = list(app.models.list(type="base").models)[:5]
    import dataclasses

    rows[2] = dataclasses.replace(rows[2], description="word " * 2000)
    frame = models_frame(rows, "base")
    lines = frame_text(frame, width=150).splitlines()
    assert max(map(len, lines)) <= 150
    assert len(lines) == 6 or lines[6].startswith("(")  # one line per row, then the notes
    short = [line for i, line in enumerate(lines[1:]) if i != 2]
    assert all(not line.endswith(" ") for line in short)
    assert "…" in lines[3]
    wide = frame_text(frame, wide=True)
    assert ("word " * 2000).strip() in wide


def test_deployments_frame_without_rows_keeps_its_columns():
    frame = deployments_frame([])
    assert list(frame.columns)[:2] == ["deployment", "model"] and frame.empty
    assert frame_text(frame) == "(none)"


def test_cli_tables_fit_columns_and_wide_and_json_show_everything(app, custom_model):
    endpoint = app.sandbox_info.arm_endpoint
    env_base = {"AZMODELS_SANDBOX": endpoint, "COLUMNS": "80", "PATH": "/usr/bin:/bin"}
    import os

    env = {**os.environ, **env_base}

    def cli(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "azmodels_magic.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    fitted = cli("list", "--type", "base")
    assert max(map(len, fitted.splitlines())) <= 80
    assert "--wide or --format json shows all" in fitted
    wide = cli("list", "--type", "base", "--wide")
    assert "inference_deprecation" in wide and max(map(len, wide.splitlines())) > 80
    data = json.loads(cli("list", "--type", "base", "--format", "json"))
    assert isinstance(data[0]["skus"], list) and data[0]["description"]
    assert set(pd.DataFrame(data).columns) >= {"skus", "capabilities", "inference_deprecation"}


def test_base_frame_built_by_columns_is_cell_for_cell_the_row_built_one(app):
    """`list --type base` builds its columns straight from the records (thousands at once): the
    frame must be what the general row path gives, hostile text cleaned the same way."""
    from azmodels_magic.presentation import tables
    from azmodels_magic.records import BaseModel

    hostile = BaseModel.from_rest(
        {
            "kind": "X",
            "description": "bad\x1b[31m red\u202e",
            "model": {
                "name": "evil\x07name",
                "version": "1",
                "format": "X",
                "isDefaultVersion": True,
                "capabilities": {"chat\x1b]0;t\x07": "true", "plain": "true", "off": "false"},
                "deprecation": {"inference": "2030-01-01T00:00:00Z"},
                "skus": [{"name": "Glob\u200balStandard"}, {"name": "Standard"}],
            },
        }
    )
    records = (*app.models.catalog(), hostile)
    tables._LAST_MODELS_FRAME.clear()
    by_columns = models_frame(records, "base")
    by_rows = tables.build_frame([tables._row(m) for m in records], tables.BASE_COLUMNS, "models")
    pd.testing.assert_frame_equal(by_columns, by_rows)
    assert list(by_columns.columns) == tables.BASE_COLUMNS
    last = by_columns.iloc[-1]
    assert last["name"] == "evilname" and last["description"] == "bad red"
    assert last["skus"] == ["GlobalStandard", "Standard"]
    assert last["capabilities"] == ["chat", "plain"]


def table_columns(text: str, first: str) -> dict[str, list[str]]:
    """A printed table's columns by header: the runs of positions that are not a gap of two
    or more spaces on every line (from the header, which starts with `first`, through the rows;
    the lines said before and the notes under the table excluded)."""
    lines = text.splitlines()
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith(first)) :]
    lines = lines[: next((i for i, line in enumerate(lines) if line.startswith("(")), len(lines))]
    width = max(map(len, lines))
    padded = [line.ljust(width) for line in lines]
    blank = [all(line[j] == " " for line in padded) for j in range(width)]
    spans, start = [], None
    for j in range(width + 1):
        gap = j == width or (blank[j] and (j + 1 == width or blank[j + 1] or (j and blank[j - 1])))
        if not gap and start is None:
            start = j
        elif gap and start is not None:
            spans.append((start, j))
            start = None
    return {padded[0][a:b].strip(): [line[a:b].strip() for line in padded[1:]] for a, b in spans}


def test_a_kind_of_table_shows_its_answer_first_and_says_constants_once():
    frame = pd.DataFrame(
        {
            "region": ["eastus", "eastus", "eastus"],
            "usage_name": ["OpenAI.GlobalStandard.gpt-4.1-mini", "OpenAI.Standard.gpt-4.1", "X"],
            "model": ["gpt-4.1-mini", "gpt-4.1", ""],
            "sku": ["GlobalStandard", "Standard", "Standard"],
            "used": pd.array([0, 5, 0], dtype="Int64"),
            "limit": pd.array([1000, 1000, 1000], dtype="Int64"),
            "available": pd.array([1000, 995, 1000], dtype="Int64"),
            "unit": ["Count", "Count", "Count"],
            "note": ["", "", ""],
        }
    )
    frame.attrs["azmodels"] = "quota"
    text = frame_text(frame, width=60)
    columns = table_columns(text, "usage_name")
    assert list(columns)[:4] == ["usage_name", "used", "limit", "available"]
    assert columns["usage_name"][0] == "OpenAI.GlobalStandard.gpt-4.1-mini"  # the answer whole
    assert "region" not in columns and "unit" not in columns and "note" not in columns
    lines = text.splitlines()
    assert "(every row: region eastus; unit Count)" in lines
    notes = " ".join(lines[lines.index("(every row: region eastus; unit Count)") + 1 :])
    assert notes == "(2 more: model, sku; empty: note; --wide or --format json shows all)"
    assert max(map(len, lines)) <= 60
    # The limit is the same on every row too, but it is part of the answer: it stays.
    assert columns["limit"] == ["1000"] * 3
    # --wide: every column, in the frame's order.
    assert list(table_columns(frame_text(frame, wide=True), "region")) == list(frame.columns)
    # One row: nothing is "the same on every row".
    assert "region" in table_columns(frame_text(frame.head(1), width=200), "region")


def test_cli_tables_at_80_columns_show_the_answer_and_no_noise(app, custom_model, unique):
    """The real CLI, COLUMNS=80, against the sandbox: each command's answer columns are there,
    and no column is empty or the same on every row (those are said once under the table)."""
    import os

    app.deployments.deploy(model="gpt-4.1", deployment_name=unique("narrow"), capacity=2)
    env = {**os.environ, "AZMODELS_SANDBOX": app.sandbox_info.arm_endpoint, "COLUMNS": "80"}

    def cli(*argv: str) -> str:
        done = subprocess.run([sys.executable, "-m", "azmodels_magic.cli", *argv], env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    # The answer of each command, and its numbers that may rightly be one value on every row.
    answers = {
        ("list",): ("name", {"name", "version", "status"}, set()),
        ("regions", "--name", "gpt-4.1"): (
            "region", {"region", "sku", "fits", "deployable", "account"}, {"fits", "deployable"}),
        ("quota",): (
            "usage_name", {"usage_name", "used", "limit", "available"},
            {"used", "limit", "available"}),
        ("deployments", "list"): ("deployment", {"deployment", "status", "model"}, set()),
        ("uploads", "list"): ("path", {"path", "state", "progress"}, {"progress"}),
    }  # fmt: skip
    for argv, (first, answer, may_repeat) in answers.items():
        text = cli(*argv)
        table = text[text.index(f"{first} ") :]  # from the header on (the summary is prose)
        assert max(map(len, table.splitlines())) <= 80, (argv, text)
        columns = table_columns(text, first)
        said_once = re.findall(r"(?:\(every row: |; )(\w+) ", table.replace("\n", " "))
        assert answer <= set(columns) | set(said_once), (argv, text)
        rows = len(next(iter(columns.values())))
        for header, cells in columns.items():
            assert any(cells), (argv, header, "empty")
            if rows > 1 and header not in may_repeat:
                assert len(set(cells)) > 1, (argv, header, "the same on every row")
    quota = cli("quota")
    assert "(every row: region " in quota and "unit Count" in quota
    assert "OpenAI.GlobalStandard.gpt-4.1 " in quota + " "  # a usage name whole, not cut
    regions = cli("regions", "--name", "gpt-4.1")
    assert "model_version 2025-04-14" in regions  # the same everywhere: said once


def test_quota_of_a_model_covers_the_regions_its_text_names(app):
    """`quota --all-regions --model`: the regions whose catalog lacks the model are named as
    such, and no row comes from them (their shared pools are not the model's quota)."""
    from azmodels_magic.commands.quota import quota_service

    report = quota_service(app).quota(all_regions=True, model="gpt-4o")
    offering = {r for r in report.regions if r not in report.not_offered}
    assert {u.region for u in report.usages} == offering
    assert report.not_offered, "the sandbox offers gpt-4o in some regions only"
    summary = report.summary()
    assert f"for gpt-4o in {', '.join(sorted(offering))}" in summary
    assert f"not offered in {', '.join(report.not_offered)}" in summary
