"""Fixtures for the sandbox tests: one sandbox child process per session, and its HTTP helper."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from sandbox_support import QUOTA_LIMIT, QUOTA_SKU, Api, start_sandbox

from azmodels_magic.sandbox_launcher import SandboxProcess


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxProcess]:
    process = start_sandbox(extra_args=["--quota", f"{QUOTA_SKU}={QUOTA_LIMIT}"])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def api(sandbox: SandboxProcess) -> Api:
    assert sandbox.info is not None
    return Api(sandbox.info)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names that don't collide across tests sharing the session sandbox."""
    counter = iter(range(1_000_000))
    stamp = str(int(time.time() * 1000))[-6:]
    return lambda prefix: f"{prefix}-{stamp}-{next(counter)}"
