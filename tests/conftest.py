"""Shared fixtures: an IPython shell with the extension, and sandboxes over real HTTP; every
request and answer a vendored spec covers is judged by it (see SpecLog)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from azmodels_support import start_app

from azmodels_magic.sandbox.protocol import SPEC_LOG_ENV


class SpecLog:
    """The file every sandbox of the session (child processes, notebooks' too) appends its spec
    violations to: one JSON line {method, path, status, what, messages} each. A test that breaks
    the spec on purpose says so with `expected()`; any other line fails its module and the run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.expected_at: set[int] = set()  # byte offsets of lines a test expected

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def lines(self, start: int = 0) -> list[tuple[int, str]]:
        """(offset, line) of each whole line from byte `start` on."""
        data = self.path.read_bytes()[start:] if self.path.exists() else b""
        out, pos = [], start
        for raw in data.splitlines(keepends=True):
            if raw.endswith(b"\n"):
                out.append((pos, raw.decode("utf-8").rstrip("\n")))
            pos += len(raw)
        return out

    def unexpected(self, start: int = 0) -> list[str]:
        return [line for pos, line in self.lines(start) if pos not in self.expected_at]

    @contextmanager
    def expected(self) -> Iterator[list[dict[str, Any]]]:
        """The violations logged inside the block, for the test to assert on; not failures."""
        start, caught = self.size(), []
        yield caught
        for pos, line in self.lines(start):
            self.expected_at.add(pos)
            caught.append(json.loads(line))


def pytest_configure(config: pytest.Config) -> None:
    # Child processes (sandboxes, CLI runs, scripts, notebook kernels) import this checkout's
    # package, not whichever one the shared virtualenv has installed in editable mode.
    repo = str(Path(__file__).resolve().parents[1])
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if repo not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([repo, *paths])
    # Before any sandbox starts: each inherits the variable from this process.
    if not os.environ.get(SPEC_LOG_ENV):
        fd, name = tempfile.mkstemp(prefix="azmodels-spec-", suffix=".jsonl")
        os.close(fd)
        os.environ[SPEC_LOG_ENV] = name
    config.stash[_SPEC_LOG] = SpecLog(Path(os.environ[SPEC_LOG_ENV]))


_SPEC_LOG = pytest.StashKey[SpecLog]()


def _report(lines: list[str], where: str) -> str:
    shown = "\n".join(lines[:20]) + (f"\n... and {len(lines) - 20} more" if len(lines) > 20 else "")
    return f"{len(lines)} request(s)/answer(s) broke the vendored spec {where}:\n{shown}"


@pytest.fixture(scope="session")
def spec_log(pytestconfig: pytest.Config) -> SpecLog:
    return pytestconfig.stash[_SPEC_LOG]


@pytest.fixture(scope="session", autouse=True)
def _spec_clean_session(spec_log: SpecLog) -> Iterator[None]:
    yield
    lines = spec_log.unexpected()
    if lines:
        pytest.fail(_report(lines, "in this run"), pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def _spec_clean_module(spec_log: SpecLog, request: pytest.FixtureRequest) -> Iterator[None]:
    start = spec_log.size()
    yield
    lines = spec_log.unexpected(start)
    if lines:
        pytest.fail(_report(lines, f"in {request.node.nodeid}"), pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _isolated_user_state(tmp_path_factory):
    """Journals and the terminal sandbox's state go to temp folders; nothing waits for a person."""
    os.environ["AZMODELS_CACHE_DIR"] = str(tmp_path_factory.mktemp("azmodels-cache"))
    os.environ["AZMODELS_DATA_DIR"] = str(tmp_path_factory.mktemp("azmodels-data"))
    os.environ["AZMODELS_INTERACTIVE"] = "0"
    for name in ("AZURE_PROJECT_ENDPOINT", "AZURE_SUBSCRIPTION_ID", "AZURE_RESOURCE_GROUP_NAME",
                 "AZURE_ACCOUNT_NAME", "AZURE_PROJECT_NAME", "AZURE_LOCATION"):  # fmt: skip
        os.environ.pop(name, None)


@pytest.fixture(scope="session")
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    ipython = InteractiveShell.instance()
    ipython.run_line_magic("load_ext", "azmodels_magic")
    return ipython


@pytest.fixture(scope="module")
def app():
    """A fresh sandbox per test module (state does not leak between modules)."""
    az = start_app()
    yield az
    az.close()
