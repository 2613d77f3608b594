"""SandboxProcess.start leaves no orphan child; stop_remembered signals only our own sandbox."""

from __future__ import annotations

import _thread
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sandbox_support import PAGE_SIZE, PROVISION_SECONDS

from azmodels_magic.errors import AzModelsError
from azmodels_magic.sandbox_launcher import (
    SandboxInfo,
    SandboxProcess,
    discover,
    remember,
    remembered,
    stop_remembered,
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.05)
    return path.read_text()


class FakeServer(SandboxProcess):
    """Runs `script` instead of the sandbox; the child first writes its pid to `pid_file`."""

    def __init__(self, script: str, pid_file: Path) -> None:
        super().__init__()
        self.script = script
        self.pid_file = pid_file

    def command(self) -> list[str]:
        prelude = f"import os, time; open({str(self.pid_file)!r}, 'w').write(str(os.getpid()))\n"
        return [sys.executable, "-c", prelude + self.script]


def test_malformed_line_fails_cleanly_and_leaves_no_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    server = FakeServer("print('{not json', flush=True); time.sleep(60)", pid_file)
    with pytest.raises(AzModelsError) as caught:
        server.start(timeout=30)
    assert caught.value.code == "SandboxStartFailed"
    assert "unreadable line" in str(caught.value)
    assert not _alive(int(pid_file.read_text()))
    assert not server.running and server.info is None
    assert server.data_dir is None  # the temporary data dir it created is gone too


def test_interrupted_start_leaves_no_child(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    server = FakeServer("time.sleep(60)", pid_file)
    data_dirs: list[Path] = []

    def interrupt() -> None:
        _wait_for(pid_file)
        data_dirs.append(server.data_dir)
        _thread.interrupt_main()  # as a Ctrl-C in the notebook or terminal would

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        server.start(timeout=30)
    assert not _alive(int(pid_file.read_text()))
    assert not server.running
    assert data_dirs and not data_dirs[0].exists()


def test_stop_remembered_spares_a_process_that_is_not_our_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path))
    stranger = subprocess.Popen(["sleep", "30"])
    try:
        # The remembered pid now belongs to an unrelated process; nothing listens at the address.
        remember(
            SandboxInfo(
                arm_endpoint=f"http://127.0.0.1:{_free_port()}",
                project_endpoint="",
                subscription_id="",
                resource_group="",
                account="",
                project="",
                location="",
                token="",
                reader_token="",
                blob_endpoint="",
                data_dir=str(tmp_path),
                pid=stranger.pid,
            )
        )
        assert remembered() is not None
        assert stop_remembered(timeout=2) is False
        time.sleep(0.2)
        assert stranger.poll() is None, "an unrelated process was signalled"
        assert remembered() is None  # the stale note is forgotten
    finally:
        stranger.kill()
        stranger.wait()


def test_stop_remembered_stops_a_detached_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "cache"))
    sandbox = SandboxProcess(
        data_dir=tmp_path / "data",
        provision_seconds=PROVISION_SECONDS,
        page_size=PAGE_SIZE,
        detach=True,
    )
    info = sandbox.start(timeout=60)
    process = sandbox._process
    assert process is not None
    try:
        assert remembered() is not None and remembered()["pid"] == info.pid
        # The sandbox is our child here, so reap it as soon as it exits (else it lingers as a
        # zombie that os.kill(pid, 0) still finds); a terminal's detached sandbox has no parent.
        reaper = threading.Thread(target=process.wait, daemon=True)
        reaper.start()
        assert stop_remembered(timeout=15) is True
        reaper.join(15)
        assert process.poll() is not None and not _alive(info.pid)
        assert remembered() is None
    finally:
        sandbox.stop()


@pytest.mark.parametrize(
    "address",
    [
        "http://10.0.0.1\\@127.0.0.1:{port}",  # urlsplit reads 127.0.0.1, urllib3 goes to 10.0.0.1
        "10.0.0.1\\@127.0.0.1:{port}",
    ],
)
def test_discover_connects_only_where_it_checked(monkeypatch, address):
    """A sandbox address two URL parsers read differently is refused before any connect."""
    seen: list[str] = []
    real_connect = socket.socket.connect

    def recording_connect(self, target):
        seen.append(str(target[0] if isinstance(target, tuple) else target))
        return real_connect(self, target)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    with pytest.raises(AzModelsError, match="backslash") as refused:
        discover(address.format(port=_free_port()), timeout=2)
    assert refused.value.code == "SandboxNotFound"
    assert seen == []
