"""Deprecated name of `azmodels_magic.sample_weights` (kept so older notebooks still import)."""

from __future__ import annotations

from .sample_weights import (
    DEFAULT_GGUF_TENSORS,
    llama_tensors,
    make_model_folder,
    write_gguf,
    write_safetensors,
)

__all__ = [
    "DEFAULT_GGUF_TENSORS",
    "llama_tensors",
    "make_model_folder",
    "write_gguf",
    "write_safetensors",
]
