"""safetensors: an 8-byte little-endian header length, a JSON header, then the tensor bytes.

Only the header is read. Its length is capped as the safetensors library caps it, and JSON nested
deeper than any real header is refused before it can exhaust the stack.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO

from .common import Malformed

MAX_HEADER = 100_000_000  # the limit the safetensors library itself enforces

# safetensors dtype -> bytes per element (sub-byte float types are left out: no size check)
SAFETENSORS_SIZES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E5M2": 1,
    "F8_E4M3": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


def inspect(fh: BinaryIO, size: int) -> dict[str, Any]:
    """The header's details, read from `fh` (a seekable reader; `size`: the file's bytes)."""
    fh.seek(0)
    prefix = fh.read(8)
    if len(prefix) < 8:
        raise Malformed("is truncated: it is shorter than the 8-byte safetensors prefix")
    (n,) = struct.unpack("<Q", prefix)
    if n > MAX_HEADER:
        raise Malformed(f"is malformed: its header length {n:,} is over the 100 MB limit")
    if n + 8 > size:
        raise Malformed(
            f"is truncated: its header needs {n:,} bytes but the file has only {size - 8:,}"
        )
    raw = fh.read(n)
    header = _parse_header(raw)
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise Malformed("has a corrupt header (__metadata__ is not an object)")

    data_size = size - 8 - n
    parameters = 0
    dtypes: set[str] = set()
    for name, info in header.items():
        try:
            dtype = info["dtype"]
            shape = info["shape"]
            begin, end = info["data_offsets"]
            ok = (
                isinstance(dtype, str)
                and isinstance(shape, list)
                and all(type(d) is int and d >= 0 for d in shape)
                and type(begin) is int
                and type(end) is int
                and 0 <= begin <= end
            )
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise Malformed(f"has a corrupt header (tensor {name!r} is not described properly)")
        if end > data_size:
            raise Malformed(
                f"is truncated: tensor {name!r} ends at byte {end:,} of the data, which holds "
                f"only {data_size:,}"
            )
        count = math.prod(shape)
        itemsize = SAFETENSORS_SIZES.get(dtype)
        if itemsize is not None and end - begin != count * itemsize:
            raise Malformed(
                f"has a corrupt header (tensor {name!r} is {dtype} {shape}, {count * itemsize:,} "
                f"bytes, but its offsets span {end - begin:,})"
            )
        parameters += count
        dtypes.add(dtype)
    details: dict[str, Any] = {
        "tensor_count": len(header),
        "parameter_count": parameters,
        "dtypes": sorted(dtypes),
    }
    if metadata:
        details["metadata"] = metadata
    return details


def _parse_header(raw: bytes) -> dict[str, Any]:
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise Malformed("has a corrupt header (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        where = f"{exc.msg} at byte {exc.pos}"
        raise Malformed(f"has a corrupt header (invalid JSON: {where})") from None
    except RecursionError:
        # A real header is three levels deep; the JSON decoder recurses once per level.
        raise Malformed("is malformed: its header nests JSON too deeply") from None
    if not isinstance(header, dict):
        raise Malformed("has a corrupt header (a JSON object was expected)")
    return header


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The details of a sharded model: counts add up, dtypes and metadata are united."""
    metadata: dict[str, Any] = {}
    for part in parts:
        metadata.update(part.get("metadata") or {})
    details: dict[str, Any] = {
        "tensor_count": sum(p["tensor_count"] for p in parts),
        "parameter_count": sum(p["parameter_count"] for p in parts),
        "dtypes": sorted({d for p in parts for d in p["dtypes"]}),
        "shards": len(parts),
    }
    if metadata:
        details["metadata"] = metadata
    return details
