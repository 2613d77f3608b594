"""Model weights: recognise a format from the bytes and read its header, never the tensors.

The `upload` command (and its --dry-run) and `show` call `inspect_source`; what it raises is shown
to the user as one line, so every failure is a `ValidationError` that names the file, says what is
wrong and what to do. File extensions are never trusted: a format is what the first bytes say.

One module per format (safetensors, gguf, onnx, pytorch), plus detection, what file names tell
and Hugging Face's config.json. Every byte is read through the upload's `sources.Source` (a
seekable reader per file, never a path), so a remote source is inspected the same way. Only the
standard library is used, so importing stays cheap; every parser is bounded in depth, counts and
sizes (a hostile header is "malformed", never a crash).
"""

from __future__ import annotations

from .detect import detect_format
from .safetensors import SAFETENSORS_SIZES
from .source import SUPPORTED_FORMATS, WeightsInfo, inspect_source

__all__ = [
    "SAFETENSORS_SIZES",
    "SUPPORTED_FORMATS",
    "WeightsInfo",
    "detect_format",
    "inspect_source",
]
