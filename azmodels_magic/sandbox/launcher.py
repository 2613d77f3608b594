"""Deprecated location: the launcher is client code, now `azmodels_magic.sandbox_launcher`.

Kept only so branches written before the move still import; the import-linter contract
"sandbox imports nothing else of the package" lists this module as its one temporary exception.
Remove it once nothing imports `azmodels_magic.sandbox.launcher`.
"""

from __future__ import annotations

from ..sandbox_launcher import (
    INFO_PATH,
    SandboxInfo,
    SandboxProcess,
    discover,
    remember,
    remembered,
    stop_remembered,
)

__all__ = [
    "INFO_PATH",
    "SandboxInfo",
    "SandboxProcess",
    "discover",
    "remember",
    "remembered",
    "stop_remembered",
]
