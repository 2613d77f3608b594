"""Deprecated location: the weights formats live in `azmodels_magic.weights` (kept for imports
that predate the split; remove once nothing imports it)."""

from __future__ import annotations

from .sizes import human_size
from .weights import (
    SAFETENSORS_SIZES,
    SUPPORTED_FORMATS,
    WeightsInfo,
    collect_files,
    detect_format,
    inspect_source,
)

__all__ = [
    "SAFETENSORS_SIZES",
    "SUPPORTED_FORMATS",
    "WeightsInfo",
    "collect_files",
    "detect_format",
    "human_size",
    "inspect_source",
]
