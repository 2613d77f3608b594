"""Start the sandbox as a child process, find one already running, remember a detached one.

The client side of the sandbox: the sandbox itself (`azmodels_magic.sandbox`) knows nothing of
this module; they share only `sandbox.protocol` (how to start it, its ready line, its info route).

Where state lives: a sandbox started for a notebook or a test is throwaway (a temporary folder,
deleted when it stops) unless given a data folder. The terminal's `azmodels sandbox start`
outlives the command, so it keeps its state in one per-user folder (`terminal_data_dir()`),
which the next start reuses; `reset=True` empties it first.

Cheap to import: only the standard library at module level. The child dies with the thread that
started it (PR_SET_PDEATHSIG on Linux), so start it from a long-lived thread such as the main one.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .config import is_loopback
from .environment import DATA_DIR
from .errors import AzModelsError, ValidationError
from .http.origin import origin_of
from .sandbox.protocol import (
    INFO_PATH,
    LOG_NAME,
    PAGE_SIZE,
    PROVISION_SECONDS,
    SERVE_COMMAND,
    SandboxInfo,
)
from .steps import NextStep
from .uploadstate.folders import Shape, cache_dir, read_cache_json

__all__ = [
    "INFO_PATH",
    "SandboxInfo",
    "SandboxProcess",
    "discover",
    "remember",
    "remembered",
    "reset_state",
    "stop_remembered",
    "terminal_data_dir",
]

# What a sandbox keeps in its data folder: what `reset` removes (nothing else in the folder).
_STATE = ("sandbox.sqlite3", "sandbox.sqlite3-wal", "sandbox.sqlite3-shm", "azurite", LOG_NAME)


def terminal_data_dir() -> Path:
    """The per-user folder of the terminal's sandbox (not created)."""
    explicit = DATA_DIR.read()
    if explicit:
        return explicit / "sandbox"
    import platformdirs

    return Path(platformdirs.user_data_dir("azmodels", appauthor=False)) / "sandbox"


def reset_state(folder: Path) -> None:
    """Remove a sandbox's state from `folder` (only the files a sandbox writes there)."""
    for name in _STATE:
        path = folder / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


def discover(url: str, timeout: float = 10) -> SandboxInfo:
    """The SandboxInfo of a sandbox already running at `url` (its ARM or project endpoint)."""
    from urllib.parse import urlsplit

    import requests

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not is_loopback(parts.hostname) or not parts.port:
        raise AzModelsError(
            f"'{url}' is not a sandbox address: give its ARM endpoint, e.g. "
            "http://127.0.0.1:PORT (the sandbox listens on loopback only).",
            code="SandboxNotFound",
        )
    base = f"http://{parts.netloc}"
    try:
        origin_of(base, what="sandbox address")  # urllib3 must connect where urlsplit looked
    except ValidationError as exc:
        raise AzModelsError(exc.message, code="SandboxNotFound") from None
    try:
        with requests.Session() as session:
            # The answer holds the sandbox's tokens: never through a proxy from the environment
            # (which would also keep a user behind one from reaching this machine).
            session.trust_env = False
            response = session.get(base + INFO_PATH, timeout=timeout)
        info = SandboxInfo.from_json(response.text) if response.status_code == 200 else None
    except (requests.RequestException, ValueError, TypeError):
        info = None
    if info is None:
        raise AzModelsError(
            f"No sandbox answers at {base}: start one with {{0}} or "
            "`python -m azmodels_magic.sandbox serve`.",
            code="SandboxNotFound",
            steps=[NextStep.of("sandbox start")],
        )
    return info


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class SandboxProcess:
    """A sandbox server in a child process."""

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike[str] | None = None,
        port: int = 0,
        fault_rate: float = 0.0,
        seed: int | None = None,
        provision_seconds: float = PROVISION_SECONDS,
        catalog_size: int = 0,
        page_size: int = PAGE_SIZE,
        extra_args: Sequence[str] = (),
        detach: bool = False,
        reset: bool = False,
    ) -> None:
        # A detached sandbox (the terminal's) keeps its state in the per-user folder by default.
        if data_dir is None and detach:
            data_dir = terminal_data_dir()
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.reset = reset
        self.port = port
        self.fault_rate = fault_rate
        self.seed = seed
        self.provision_seconds = provision_seconds
        self.catalog_size = catalog_size
        self.page_size = page_size
        self.extra_args = list(extra_args)
        # Detached: outlives this process (the terminal's `azmodels sandbox start`); stopped
        # later by pid, see `stop_remembered`.
        self.detach = detach
        self.info: SandboxInfo | None = None
        self._process: subprocess.Popen[str] | None = None
        self._own_dir = False
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def log_path(self) -> Path | None:
        return self.data_dir / LOG_NAME if self.data_dir else None

    def command(self) -> list[str]:
        assert self.data_dir is not None
        command = [
            sys.executable, *SERVE_COMMAND,
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            "--fault-rate", str(self.fault_rate),
            "--provision-seconds", str(self.provision_seconds),
            "--catalog-size", str(self.catalog_size),
            "--page-size", str(self.page_size),
        ]  # fmt: skip
        if self.seed is not None:
            command += ["--seed", str(self.seed)]
        return command + self.extra_args

    def start(self, timeout: float = 60) -> SandboxInfo:
        """Start the child and wait for its JSON line."""
        with self._lock:
            if self.running and self.info is not None:
                return self.info
            if self.data_dir is None:
                self.data_dir = Path(tempfile.mkdtemp(prefix="azmodels-sandbox-"))
                self._own_dir = True
            log_path = self.data_dir / LOG_NAME
            try:
                # Private from the start: the sandbox keeps tokens and keys in it.
                self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(self.data_dir, 0o700)
                if self.reset and not self._own_dir:
                    reset_state(self.data_dir)
                log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                log_file = open(log_fd, "a")  # noqa: SIM115 - closed right after the spawn
            except OSError as exc:
                raise AzModelsError(
                    f"Cannot keep the sandbox's state in {self.data_dir}: "
                    f"{(exc.strerror or str(exc)).lower()}. Give a writable folder with --data-dir "
                    f"(or set {DATA_DIR.name}).",
                    code="SandboxStartFailed",
                ) from None
            with log_file:
                process = subprocess.Popen(
                    self.command(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=log_file,
                    text=True,
                    preexec_fn=_die_with_parent if os.name == "posix" and not self.detach else None,
                    # A Ctrl-C meant for the notebook or CLI must not take the sandbox down.
                    start_new_session=True,
                )
            self._process = process
            if not self.detach:
                atexit.register(self.stop)
            lines: queue.Queue[str] = queue.Queue()

            def read_stdout() -> None:
                assert process.stdout is not None
                for line in process.stdout:
                    lines.put(line)
                lines.put("")  # end of output

            threading.Thread(target=read_stdout, name="sandbox-stdout", daemon=True).start()
            try:
                self.info = self._wait_for_info(process, lines, log_path, timeout)
                if self.detach:
                    remember(self.info)
                return self.info
            except BaseException:
                # Interrupted (Ctrl-C), unreadable or no JSON line: leave no orphan child behind.
                self._terminate(process)
                self._process = None
                atexit.unregister(self.stop)
                if self._own_dir and self.data_dir is not None:
                    shutil.rmtree(self.data_dir, ignore_errors=True)
                    self.data_dir = None
                    self._own_dir = False
                raise

    def _wait_for_info(
        self,
        process: subprocess.Popen[str],
        lines: queue.Queue[str],
        log_path: Path,
        timeout: float,
    ) -> SandboxInfo:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.05, min(remaining, 0.5)))
            except queue.Empty:
                line = None
            if line and line.strip().startswith("{"):
                try:
                    return SandboxInfo.from_json(line)
                except (ValueError, TypeError) as exc:
                    self._terminate(process)
                    raise AzModelsError(
                        f"The sandbox printed an unreadable line ({exc}): "
                        f"{self._log_tail(log_path)}",
                        code="SandboxStartFailed",
                    ) from None
            if line == "" or remaining <= 0 or (process.poll() is not None and lines.empty()):
                break
        self._terminate(process)
        reason = "exited" if process.returncode not in (None, -9, -15) else "did not start"
        raise AzModelsError(
            f"The sandbox {reason} (within {timeout:.0f}s): {self._log_tail(log_path)}",
            code="SandboxStartFailed",
        )

    @staticmethod
    def _log_tail(path: Path, lines: int = 8) -> str:
        try:
            text = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return " | ".join(text[-lines:]) or "no log"

    @staticmethod
    def _terminate(process: subprocess.Popen[str], timeout: float = 15) -> None:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if process.stdout:
            process.stdout.close()

    def stop(self) -> None:
        """Stop the child (SIGTERM, then SIGKILL); safe to call twice."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None:
                self._terminate(process)
            atexit.unregister(self.stop)
            if self._own_dir and self.data_dir is not None:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self.data_dir = None
                self._own_dir = False

    def kill(self) -> None:
        """SIGKILL the child, as a crash would (Azurite dies with it)."""
        with self._lock:
            process, self._process = self._process, None
            if process is not None and process.poll() is None:
                process.kill()
                process.wait(15)

    def __enter__(self) -> SandboxProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- a detached sandbox, remembered for later terminal commands ----------------------------------


def _state_path() -> Path:
    return cache_dir() / "sandbox.json"


def remember(info: SandboxInfo) -> None:
    """Note where a detached sandbox listens (no token: `discover` asks the sandbox)."""
    path = _state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {"arm_endpoint": info.arm_endpoint, "pid": info.pid, "data_dir": info.data_dir}
    path.write_text(json.dumps(state))


def remembered() -> dict[str, Any] | None:
    """The detached sandbox noted by `remember`, if its process is still alive."""

    def shape(data: object) -> dict[str, Any]:
        note = Shape(data)
        if note.get("pid", int) == 0:  # os.kill(0, ...) would signal our own process group
            raise ValueError("'pid' is 0")
        note.get("arm_endpoint", str)
        note.get("data_dir", str, required=False)
        return data  # type: ignore[return-value]

    state = read_cache_json(_state_path(), shape, "The sandbox note")
    if state is None:
        return None
    try:
        os.kill(state["pid"], 0)
    except (OSError, OverflowError):  # gone (or a pid no process can have)
        return None
    return state


def stop_remembered(timeout: float = 15) -> bool:
    """Stop the detached sandbox (SIGTERM, then SIGKILL); False when none of ours was running."""
    state = remembered()
    _state_path().unlink(missing_ok=True)
    if state is None:
        return False
    pid = int(state["pid"])
    # After a reboot or crash the pid may belong to an unrelated process: signal it only when
    # the sandbox at the remembered address says it is that pid.
    try:
        if discover(str(state["arm_endpoint"])).pid != pid:
            return False
    except Exception:
        return False
    with contextlib.suppress(ProcessLookupError):  # it may exit on its own meanwhile
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    return True
