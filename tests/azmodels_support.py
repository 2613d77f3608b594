"""Helpers for tests in every folder (importable by name: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Keywords of SandboxProcess; everything else is an AzModels setting.
SANDBOX_OPTIONS = {
    "data_dir", "port", "fault_rate", "seed", "provision_seconds", "catalog_size", "page_size",
    "extra_args",
}  # fmt: skip


def command_names() -> list[str]:
    """Every command path of the grammar ('list', 'deployments scale', ...), then 'help' (which
    the grammar answers itself): the command table's, as the grammar builds its parser from it."""
    from azmodels_magic.commands import table

    return [*table.commands(), "help"]


def start_app(*, sandbox: dict[str, Any] | None = None, **options: Any):
    """An AzModels connected to a new sandbox: small pages, fast provisioning, quick polls.

    Sandbox options may come in `sandbox` or as keywords (page_size=2); the rest are settings.
    """
    from azmodels_magic import AzModels

    sandbox = {"page_size": 5, "provision_seconds": 0.5, **(sandbox or {})}
    settings = {"progress": False, "poll_interval": 0.1, "retry_backoff": 0.05}
    for key, value in options.items():
        (sandbox if key in SANDBOX_OPTIONS else settings)[key] = value
    app = AzModels(**settings)
    try:
        app.start_sandbox(**sandbox)
    except BaseException:
        app.close()
        raise
    return app


class _Retries(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retry in" in message:
            self.lines.append(message)


@contextmanager
def retries_logged() -> Iterator[list[str]]:
    """The retries the HTTP planes make meanwhile, one line each, as debug logging shows them
    (`METHOD URL: STATUS, retry in S`): what a user sees with debug on, counted."""
    logger = logging.getLogger("azmodels_magic.http.plane")
    handler, level = _Retries(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
