"""Recognise a weights format from a file's first bytes; extensions are never trusted.

Most files are decided by their first 512 bytes; only what starts like an ONNX protobuf is read
further (64 KiB), and a zip's end records and directory when its first entry is not data.pkl.
"""

from __future__ import annotations

import os
import pickletools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import ValidationError
from . import onnx, pytorch
from .common import FIX_ACCESS, reason
from .safetensors import MAX_HEADER as _MAX_SAFETENSORS_HEADER

_START = 512  # enough for every magic number and for telling HTML and LFS pointers apart
_ONNX_HEAD = 64 * 1024  # an ONNX candidate's fields are checked this far

_PICKLE_OPCODES = frozenset(op.code.encode("latin-1")[0] for op in pickletools.opcodes)


@dataclass(frozen=True)
class Probe:
    format: str | None
    problem: str | None = None  # why the bytes are not (usable) weights, when we can tell
    damaged: bool = False  # weights that are broken: an error even among other weights


def detect_format(path: str | Path) -> str | None:
    """The weights format of a local file from its first bytes, or None when it is none of them.

    Raises ValidationError only when the file can't be read.
    """
    shown = Path(path).name
    try:
        with open(path, "rb") as fh:
            return probe(fh, os.fstat(fh.fileno()).st_size).format
    except IsADirectoryError:
        raise ValidationError(f"{shown} is a folder: give the path of a file.") from None
    except OSError as exc:
        raise ValidationError(f"Cannot read {shown}: {reason(exc)}. {FIX_ACCESS}") from None


def probe(fh: BinaryIO, size: int) -> Probe:
    """What the first bytes of `fh` (a seekable reader of `size` bytes) say it is."""
    fh.seek(0)
    head = fh.read(_START)
    if head[:1] == b"\x08":
        head += fh.read(_ONNX_HEAD - len(head))
    return _probe_bytes(fh, head, size)


def _probe_bytes(fh: BinaryIO, head: bytes, size: int) -> Probe:
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack_from("<Q", head)
        if 2 <= n <= _MAX_SAFETENSORS_HEADER:
            if n + 8 <= size:
                return Probe("safetensors")
            return Probe(
                None,
                f"is truncated: its safetensors header needs {n:,} bytes but the file has only "
                f"{size - 8:,} after the length prefix; download or save it again",
                damaged=True,
            )
    if head[:4] == b"GGUF" and len(head) >= 8:
        (version,) = struct.unpack_from("<I", head, 4)
        if version in (2, 3):
            return Probe("gguf")
        return Probe(
            None,
            f"is GGUF version {version}, but only versions 2 and 3 are supported: convert it again "
            "with a current llama.cpp",
            damaged=True,
        )
    if head[:4] == b"PK\x03\x04":
        if pytorch.is_torch_zip(fh, head):
            return Probe("pytorch")
        return Probe(None, "is a zip archive without data.pkl, so not a torch.save() checkpoint")
    if len(head) >= 3 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[2] in _PICKLE_OPCODES:
        return Probe("pytorch")
    if head[:1] == b"\x08":
        looks_like, problem = onnx.scan_head(head, size)
        if looks_like and problem is None:
            return Probe("onnx")
        if looks_like:
            return Probe(
                None,
                f"looks like an ONNX model but {problem}; export or download it again",
                damaged=True,
            )
    if len(head) >= 9 and head[8:9] == b"{":
        (n,) = struct.unpack_from("<Q", head)
        if _MAX_SAFETENSORS_HEADER < n < 1 << 56:  # a length, not eight bytes of text
            return Probe(
                None,
                f"is malformed: its safetensors header length {n:,} is over the 100 MB limit; "
                "download or save it again",
                damaged=True,
            )
    if head.startswith(b"version https://git-lfs."):
        return Probe(
            None,
            "is a Git LFS pointer, not the weights: run `git lfs pull` in its repository (or "
            "download the file again)",
            damaged=True,
        )
    start = head[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return Probe(None, "is an HTML page, not weights (a failed download?)")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return Probe(None, "is HDF5 (Keras/TensorFlow); export the model to ONNX or safetensors")
    return Probe(None)
