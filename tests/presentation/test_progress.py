"""Progress of long commands: deploy/scale/delete bars fill by stage and are full exactly when the
operation succeeded; `--no-progress` silences every long command; the upload ends with ✓ lines,
next steps, and the speed its bar ended on."""

from __future__ import annotations

import re

import pytest
from presentation_support import *  # noqa: F403 (the shared fixtures)

from azmodels_magic.presentation.progress import STAGES, ByteProgress, StatusProgress
from azmodels_magic.steps import NOTEBOOK


@pytest.fixture
def progress_on(app, monkeypatch):
    monkeypatch.setattr(app, "progress", True)
    return app


def _last_frames(stderr: str) -> list[str]:
    """What a terminal shows last for each bar: the text after the last carriage return."""
    return [line.rsplit("\r", 1)[-1].strip() for line in stderr.splitlines() if line.strip()]


def _bar_of(frame: str) -> str:
    """The bar part of 'Deploying x: Succeeded ██████ [00:01]'."""
    match = re.search(r": \S+ (.*) \[\d\d:\d\d\]$", frame)
    assert match, frame
    return match.group(1)


def test_deploy_scale_delete_bars_end_full_beside_succeeded(progress_on, unique, capsys):
    app = progress_on
    name = unique("bar")
    app.execute(["deploy", "--name", "gpt-4o-mini", "--deployment-name", name])
    app.execute(["deployments", "scale", "--name", name, "--capacity", "2"])
    app.execute(["deployments", "delete", "--name", name, "--force"])
    frames = _last_frames(capsys.readouterr().err)
    for verb in ("Deploying", "Scaling", "Deleting"):
        last = [f for f in frames if f.startswith(f"{verb} {name}")]
        assert last, (verb, frames)
        bar = _bar_of(last[-1])
        assert bar and set(bar) == {"█"}, f"{verb}: the last bar is not full: {last[-1]!r}"
        assert re.search(r": (Succeeded|Deleted) ", last[-1]), last[-1]


def test_status_bar_fills_by_stage_and_never_shows_succeeded_unfilled(capsys):
    bar = StatusProgress("Deploying x")
    with bar:
        bar("Accepted")
        after_accepted = bar.fraction
        bar("Creating")
        after_creating = bar.fraction
        bar("Creating")
        bar("Accepted")  # an out-of-order answer never moves the bar back
        assert bar.fraction == after_creating
    assert 0 < after_accepted < after_creating < 1
    assert bar.fraction == 1 and bar.states[-1] == "Succeeded"

    failed = StatusProgress("Deploying y")
    with pytest.raises(RuntimeError), failed:
        failed("Creating")
        raise RuntimeError("the service said Failed")
    assert failed.fraction < 1, "a failed operation must not end on a full bar"
    err = capsys.readouterr().err
    assert "Deploying y: Creating" in err


def test_a_refused_deploy_shows_no_bar(progress_on, unique, capsys):
    with pytest.raises(Exception, match="capacity"):
        progress_on.execute(["deploy", "--name", "gpt-4o-mini", "--deployment-name",
                             unique("no"), "--capacity", "999999"])  # fmt: skip
    assert "Deploying" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["deploy", "--name", "gpt-4o-mini", "--deployment-name", "{d}", "--no-progress"],
        ["deployments", "scale", "--name", "{d}", "--capacity", "3", "--no-progress"],
        ["deployments", "delete", "--name", "{d}", "--force", "--no-progress"],
        ["upload", "--base-model", "gpt-4o", "--source", "{w}", "--name", "{d}", "--no-progress"],
    ],
    ids=["deploy", "scale", "delete", "upload"],
)
def test_no_progress_silences_every_long_command(progress_on, unique, weights, capsys, argv):
    app = progress_on
    name = unique("quiet")
    if argv[0] == "deployments":
        app.deployments.deploy(model="gpt-4o-mini", deployment_name=name)
    app.execute([w.format(d=name, w=weights) for w in argv])
    captured = capsys.readouterr()
    assert captured.err == "", captured.err
    assert "█" not in captured.out and "%|" not in captured.out


def test_upload_ends_with_done_lines_next_steps_and_the_bars_speed(progress_on, unique, weights,
                                                                   capsys):  # fmt: skip
    name = unique("done")
    outcome = progress_on.execute(
        ["upload", "--base-model", "gpt-4o", "--source", str(weights), "--name", name],
        front_end=NOTEBOOK,
    )
    lines = outcome.message.splitlines()
    assert lines[0].startswith("✓ Upload complete: 1 file (216 B) in ")
    assert lines[1] == f"✓ Model registered: {name} version 1"
    assert lines[2] == "Next steps"
    assert re.match(rf"  Deploy it: +%azmodels deploy --name {name} --version 1 ", lines[3])
    assert re.match(rf"  Details: +%azmodels show {name} --version 1$", lines[4])
    report = outcome.value
    summary_rate = re.search(r" at (\S+ \S+/s)$", lines[0]).group(1)
    # The bar's final frame shows the same speed (tqdm spells kB; ours KB).
    bar_final = _last_frames(capsys.readouterr().err)[-1]
    assert "216/216" in bar_final or "216B/216B" in bar_final.replace(" ", ""), bar_final
    bar_rate = re.search(r"([\d.]+)\s*([kMG]?)B/s", bar_final)
    assert bar_rate, bar_final
    ours = (
        float(summary_rate.split()[0])
        * {"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9}[summary_rate.split()[1][:-2]]
    )
    theirs = float(bar_rate.group(1)) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9}[bar_rate.group(2)]
    assert abs(ours - theirs) <= 0.06 * max(ours, theirs), (lines[0], bar_final)
    assert report.seconds > 0


def test_byte_progress_clock_is_the_summarys(capsys):
    bar = ByteProgress("m 1")
    bar.start(300)
    bar.skip(100)
    bar.update(100)
    bar.update(100)
    bar.close()
    assert bar.done == 200 and bar.seconds > 0
    assert bar.rate == pytest.approx(200 / bar.seconds)


def test_next_steps_align_and_the_cli_shows_them_as_cli_commands(app, unique, weights):
    import os
    import subprocess
    import sys

    from azmodels_magic.presentation.outcomes import next_steps
    from azmodels_magic.steps import NextStep

    assert next_steps([], str) == []
    steps = [NextStep("list", what="a"), NextStep.of("show", "m", what="long one")]
    assert next_steps(steps, lambda step: f"> {step.line()}") == [
        "Next steps",
        "  a:         > list",
        "  long one:  > show m",
    ]
    name = unique("cli-done")
    env = {**os.environ, "AZMODELS_SANDBOX": app.sandbox_info.arm_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", "upload", "--base-model", "gpt-4o",
         "--source", str(weights), "--name", name, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == f"✓ Model registered: {name} version 1"
    assert re.match(rf"  Deploy it: +azmodels deploy --name {name} ", lines[3]), lines
    assert "%azmodels" not in done.stdout and done.stderr == ""
    assert STAGES > 2


def test_every_frame_of_the_byte_bar_shows_a_true_elapsed_time(capsys):
    """Not only the last frame: each one the user watches (tqdm's elapsed and ETA fields)."""
    import re
    import time

    from azmodels_magic.presentation.progress import ByteProgress

    bar = ByteProgress("upload")
    bar.start(3_000_000)
    for _ in range(3):
        bar.update(1_000_000)
        time.sleep(0.05)
    bar.close()
    frames = [f for f in re.split(r"[\r\n]", capsys.readouterr().err) if "upload" in f]
    assert len(frames) >= 3
    for frame in frames:
        elapsed, remaining = re.search(r"\[([0-9:]+)<([0-9:?]+)", frame).groups()
        assert elapsed.startswith("00:0"), frame  # seconds, not 499002 hours
        assert remaining in ("?", "00:00") or remaining.startswith("00:0"), frame
