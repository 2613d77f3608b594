"""Crashes: kill -9 the uploading process at each point of an upload, then run the same upload
again: it finishes with the right weights and exactly one registration. Restart the sandbox in
the middle of a deploy: the client recovers, or says clearly what happened in one line.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from reliability_support import BLOCK, Raw, file_sha256, make_weights

from azmodels_magic import AzModels
from azmodels_magic.errors import AzModelsError
from azmodels_magic.sandbox_launcher import SandboxProcess
from azmodels_magic.uploadstate import UploadJournal

CHILD = Path(__file__).with_name("crash_child.py")


def run_child(app, source: Path, name: str, point: str, timeout: float = 60) -> None:
    """Start the uploading process and SIGKILL it once it reports being at `point`."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), app.sandbox_info.arm_endpoint, str(source), name, "1", point],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(child.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = found[0] if found else ""
        why = child.stderr.read() if child.poll() is not None else ""
        assert line.strip() == f"PAUSED {point}", f"the child never reached {point}: {why}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(15) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(15)
        child.stdout.close()
        child.stderr.close()


def rerun(app, source: Path, name: str):
    app.uploads.block_size, app.uploads.workers = BLOCK, 2
    return app.uploads.upload(
        base_model="gpt-4o", source=str(source), name=name, version="1", progress=False
    )


def check_registered_once(app, raw: Raw, name: str, source: Path) -> None:
    versions = [m for m in raw.registry() if m["name"] == name]
    assert [(m["version"], m["state"]) for m in versions] == [("1", "Succeeded")]
    stored = raw.download(name, "1")
    assert set(stored) == {source.name}  # the user's files, nothing of ours
    from reliability_support import sha256

    assert sha256(stored[source.name]) == file_sha256(source)
    assert versions[0]["tags"]["azmodels.sha256"] == file_sha256(source)
    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None and journal.status == "registered"


@pytest.mark.parametrize(
    "point",
    ["blocks", "committed", "register", "polling"],
)
def test_kill_during_upload_then_rerun(app, tmp_path, point) -> None:
    raw = Raw(app.sandbox_info)
    name = f"crash-{point}"
    source = make_weights(tmp_path, seed=len(point))
    size = source.stat().st_size

    run_child(app, source, name, point)

    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None, "the killed run left no journal to resume from"
    registered = [m for m in raw.registry() if m["name"] == name]
    # a model is never registered over incomplete weights
    assert registered == [] or point == "polling"

    report = rerun(app, source, name)
    assert report.model.name == name and report.model.version == "1"
    if point == "blocks":
        assert 0 < report.bytes_skipped < size, "the re-run must resume, not start over"
        assert report.bytes_sent < size
    else:
        assert report.bytes_sent == 0, "every byte was stored already: nothing is sent twice"
    assert report.model.ready, f"the re-run returned a model that is {report.model.status}"
    check_registered_once(app, raw, name, source)

    # and a third run is refused cleanly: the version exists now
    with pytest.raises(AzModelsError, match="already exists"):
        rerun(app, source, name)


def test_kill_then_rerun_through_the_cli(app, tmp_path) -> None:
    """The re-run through the terminal front end: exit 0, one summary line."""
    raw = Raw(app.sandbox_info)
    name = "crash-cli"
    source = make_weights(tmp_path, seed=11)
    run_child(app, source, name, "register")
    env = {**os.environ, "AZMODELS_SANDBOX": app.sandbox_info.arm_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", "upload", "--base-model", "gpt-4o",
         "--source", str(source), "--name", name, "--no-progress"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Model registered: crash-cli version 1" in done.stdout
    check_registered_once(app, raw, name, source)


# -- the sandbox restarts in the middle of a deploy -----------------------------------------------


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def _deploy_in_thread(app, name: str) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["details"] = app.deployments.deploy(
                model="gpt-4o", deployment_name=name, capacity=1
            )
        except BaseException as exc:  # handed to the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def _wait_creating(raw: Raw, name: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [d for d in raw.deployments() if d["name"] == name]
        if found and found[0]["state"] in ("Accepted", "Creating"):
            return
        time.sleep(0.05)
    raise AssertionError(f"deployment {name} never started")


def test_sandbox_restart_mid_deploy(tmp_path) -> None:
    """kill -9 the sandbox while a deploy is polled and start it again on the same data dir and
    port: the deploy recovers. Then kill it for good mid-deploy: the service had accepted the
    deploy, so it is not reported as failed: accepted, state unknown, in one line."""
    # The test owns the sandbox's process, to kill it as a crash would and start it again.
    first = SandboxProcess(data_dir=tmp_path / "state", provision_seconds=3)
    new = None
    az = AzModels(
        progress=False, poll_interval=0.1, max_retries=12, retry_backoff=0.25,
        retry_backoff_max=2.0,
    )  # fmt: skip
    try:
        info = first.start()
        az.use_sandbox(info)
        thread, result = _deploy_in_thread(az, "restart-me")
        _wait_creating(Raw(info), "restart-me")
        first.kill()  # a crash: SIGKILL, Azurite dies with it
        new = SandboxProcess(
            data_dir=tmp_path / "state", port=_port(info.arm_endpoint), provision_seconds=3
        )
        again = new.start()
        assert again.arm_endpoint == info.arm_endpoint, "the sandbox must come back on its port"
        assert again.token == info.token
        thread.join(60)
        assert not thread.is_alive()
        assert "error" not in result, f"the deploy did not recover: {result.get('error')!r}"
        deployment = result["details"].deployment
        assert deployment.name == "restart-me" and deployment.status == "Running"
        snap = Raw(again).snapshot()
        assert [(d["name"], d["state"]) for d in snap["deployments"]] == [
            ("restart-me", "Succeeded")
        ]

        # gone for good: the client gives up after its retries, in one line
        az.max_retries = 3
        az.retry_backoff = 0.1
        thread, result = _deploy_in_thread(az, "lost")
        _wait_creating(Raw(again), "lost")
        new.stop()  # SIGTERM this time: a clean stop, and no restart
        thread.join(60)
        assert not thread.is_alive()
        assert "error" not in result, repr(result.get("error"))
        text = result["details"].state_unknown
        # Nothing listens there any more: said as such, in one line (not after every retry).
        assert "\n" not in text and "refused the connection" in text, text
    finally:
        az.close()
        for process in (first, new):
            if process is not None:
                process.stop()
