"""Typed records the services return. Presentation turns them into DataFrames, cards and text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WeightFile:
    """One file of a model's weights: where it is on disk and where it goes in the container."""

    path: Path  # absolute path on this machine
    relative: str  # posix path inside the model folder; the blob name
    size: int  # bytes
    mtime_ns: int  # with path and size, the identity a resumed upload checks
