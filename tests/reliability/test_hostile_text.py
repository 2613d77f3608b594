"""Hostile text (issue 9, class 11): descriptions, tags and GGUF metadata carrying terminal control
sequences never reach a terminal or HTML with them, and one very long value is cut in tables
(whole in `show`), never padding every row.

Each test checks every place a user sees the text: the stored DataFrame, the notebook HTML, the
terminal table, the card (text and HTML) and the CLI's real stdout.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from reliability_support import start_app

from azmodels_magic.presentation.cards import card_for
from azmodels_magic.presentation.display import frame_html
from azmodels_magic.presentation.tables import frame_text
from azmodels_magic.sample_weights import write_gguf, write_safetensors

# Clear the screen, retitle the window, a hyperlink, an 8-bit CSI, a bidi override that
# reverses what follows, a carriage return that overwrites the line, a bell, a NUL.
HOSTILE = (
    "fine\x1b[2J\x1b[H\x1b]0;pwned\x07 \x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\"
    " \x9b31m red \u202etxt.exe\r overwritten\x07\x00 end"
)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
LONG = "long " * 3000


def _controls(text: str) -> list[str]:
    return sorted({repr(ch) for ch in CONTROL.findall(text.replace("\n", ""))})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    app = start_app()
    try:
        safetensors = write_safetensors(folder / "w.safetensors", {"w": ("F16", (4, 4))})
        app.uploads.upload(weight_type="DraftModel", source=str(safetensors), name="hostile",
                           description=HOSTILE, tags={"team": HOSTILE[:200]},
                           progress=False)  # fmt: skip
        gguf = write_gguf(folder / "g.gguf", architecture="llama\x1b[2J\x1b]0;x\x07",
                          name="gg\x1b[31mred")  # fmt: skip
        app.uploads.upload(
            weight_type="DraftModel", source=str(gguf), name="hostile-gguf", progress=False
        )
        app.uploads.upload(weight_type="DraftModel", source=str(safetensors), name="long-one",
                           description=LONG, version="2", progress=False)  # fmt: skip
        yield app
    finally:
        app.close()


def test_service_text_has_no_control_sequences_in_frames_or_html(world):
    for frame in (world.list_models(), world.list_models(type="custom")):
        stored = frame.to_json(date_format="iso")
        row = frame[frame["name"] == "hostile"].iloc[0]
        assert row["description"].startswith("fine") and "end" in row["description"]
        for shown in (frame_text(frame, width=400), frame_html(frame), stored):
            assert _controls(shown) == [], _controls(shown)
        assert "pwned" not in frame_text(frame, width=400)


def test_cards_of_hostile_models_are_clean(world):
    for name in ("hostile", "hostile-gguf"):
        card = card_for(world.show(name))
        for shown in (card.text(), card.html()):
            assert _controls(shown) == [], (name, _controls(shown))
    text = card_for(world.show("hostile-gguf")).text()
    assert "llama" in text  # the architecture is still shown, only cleaned


def test_the_dry_run_plan_of_hostile_weights_is_clean(world, tmp_path):
    gguf = write_gguf(tmp_path / "p.gguf", architecture="llama\x1b]0;x\x07", name="n\x1b[5m")
    plan = world.uploads.plan(weight_type="DraftModel", source=str(gguf), name="plan-only")
    for shown in (card_for(plan).text(), card_for(plan).html()):
        assert _controls(shown) == [], _controls(shown)


def _cli(world, *argv: str, columns: int = 120) -> str:
    env = {**os.environ, "AZMODELS_SANDBOX": world.sandbox_info.arm_endpoint,
           "COLUMNS": str(columns)}  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "azmodels_magic.cli", *argv], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_cli_output_is_clean(world):
    for argv in (["list"], ["list", "--type", "custom", "--wide"], ["show", "hostile"],
                 ["show", "hostile-gguf"], ["uploads", "list"]):  # fmt: skip
        out = _cli(world, *argv)
        assert _controls(out) == [], (argv, _controls(out))


def test_one_long_value_is_cut_in_tables_and_whole_in_show(world):
    out = _cli(world, "list", "--type", "custom", columns=120)
    lines = out.splitlines()
    assert max(map(len, lines)) <= 120, max(map(len, lines))
    rows = [line for line in lines if line.startswith(("hostile ", "hostile-gguf "))]
    assert len(rows) == 2 and not any(line.endswith(" ") for line in rows)  # no padding
    # The times whole: in each row, or said once when the same on every row.
    assert all(re.search(r" \d{4}-\d\d-\d\d \d\d:\d\d( |$)", line) for line in rows) or re.search(
        r"created \d{4}-\d\d-\d\d \d\d:\d\d[;)]", out
    )
    assert any("long long" in line and line.endswith("…") for line in lines), out
    shown = _cli(world, "show", "long-one")
    assert LONG.strip() in " ".join(shown.split())


def test_messages_that_repeat_service_text_are_clean(world):
    outcome = world.execute(["update", "--name", "hostile", "--version", "1", "--set-tag", "x=y"])
    assert "team=fine" in outcome.message and "x=y" in outcome.message
    assert _controls(outcome.message) == [], _controls(outcome.message)
