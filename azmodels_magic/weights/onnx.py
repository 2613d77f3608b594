"""ONNX: a protobuf ModelProto. Its top-level fields are read; the graph (field 7) is stepped over.

The number of top-level fields is capped far above what exporters write, so a file of tiny fields
costs bounded time.
"""

from __future__ import annotations

import os
from typing import Any, BinaryIO

from .common import MAX_KEPT_STRING, Malformed

MAX_FIELDS = 100_000  # top-level fields; exporters write a dozen or so (plus metadata_props)

# ModelProto field number -> protobuf wire type (0 varint, 2 length-delimited)
_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
_STRINGS = {2, 3, 4, 6}
_NAMES = {2: "producer_name", 3: "producer_version", 4: "domain", 6: "doc_string"}


class _Short(Exception):
    """The bytes ended inside a protobuf value."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _Short
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")


def scan_head(head: bytes, size: int) -> tuple[bool, str | None]:
    """(does it start like a ModelProto, what is wrong with the structure seen in `head`)."""
    try:
        tag, pos = _varint(head, 0)
        ir_version, pos = _varint(head, pos)
        if tag != 0x08 or not 1 <= ir_version <= 20:
            return False, None
        tag, _ = _varint(head, pos)
    except (_Short, ValueError):
        return False, None
    if _FIELDS.get(tag >> 3) != tag & 7:
        return False, None
    # It starts like a ModelProto: every field in `head` must now parse.
    try:
        while pos < len(head):
            tag, pos = _varint(head, pos)
            number, wire = tag >> 3, tag & 7
            if number == 0 or _FIELDS.get(number, wire) != wire or wire not in (0, 1, 2, 5):
                return True, f"field {number} has the wrong wire type {wire}"
            if wire == 0:
                _, pos = _varint(head, pos)
            elif wire in (1, 5):
                pos += 8 if wire == 1 else 4
            else:
                length, pos = _varint(head, pos)
                if pos + length > size:
                    return True, (
                        f"field {number} runs {pos + length - size:,} bytes past the end of the "
                        "file (truncated?)"
                    )
                if number in _STRINGS and pos + length <= len(head):
                    head[pos : pos + length].decode("utf-8")
                pos += length
    except _Short:
        if len(head) == size:
            return True, "the file ends inside a field (truncated?)"
    except (UnicodeDecodeError, ValueError):
        return True, "a text field is not valid UTF-8"
    if pos > size:
        return True, "the last field runs past the end of the file (truncated?)"
    return True, None


def _read_varint(fh: BinaryIO) -> int:
    result = shift = 0
    while True:
        byte = fh.read(1)
        if not byte:
            raise _Short
        result |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            return result
        shift += 7
        if shift > 63:
            raise ValueError("a varint longer than 10 bytes")


def inspect(fh: BinaryIO, size: int) -> dict[str, Any]:
    """The header's details, read from `fh` (a seekable reader; `size`: the file's bytes)."""
    fh.seek(0)
    details: dict[str, Any] = {}
    opsets: dict[str, int] = {}
    seen_graph = False
    fields = 0
    try:
        while fh.tell() < size:
            fields += 1
            if fields > MAX_FIELDS:
                raise Malformed(f"is malformed: it has more than {MAX_FIELDS:,} top-level fields")
            tag = _read_varint(fh)
            number, wire = tag >> 3, tag & 7
            if wire == 0:
                value = _read_varint(fh)
                if number == 1:
                    details["ir_version"] = value
                elif number == 5:
                    details["model_version"] = value
            elif wire in (1, 5):
                fh.seek(8 if wire == 1 else 4, os.SEEK_CUR)
            elif wire == 2:
                length = _read_varint(fh)
                if fh.tell() + length > size:
                    raise Malformed(
                        f"is truncated: field {number} needs {length:,} bytes but only "
                        f"{size - fh.tell():,} remain"
                    )
                if number in (2, 3, 4) and length <= MAX_KEPT_STRING:
                    details[_NAMES[number]] = fh.read(length).decode("utf-8", "replace")
                elif number == 8 and length <= MAX_KEPT_STRING:
                    domain, version = _parse_opset(fh.read(length))
                    opsets[domain] = version
                else:
                    seen_graph = seen_graph or number == 7
                    fh.seek(length, os.SEEK_CUR)
            else:
                raise Malformed(f"has protobuf wire type {wire} in field {number}")
        if fh.tell() > size:
            raise Malformed("is truncated: its last field runs past the end of the file")
    except _Short:
        raise Malformed("is truncated: the file ends inside a field") from None
    except ValueError as exc:
        raise Malformed(f"is corrupt ({exc})") from None
    if not seen_graph:
        raise Malformed("has no graph (a ModelProto without field 7)")
    if details.get("ir_version", 0) >= 3 and not opsets:
        raise Malformed("declares no operator set (opset_import is missing; truncated?)")
    for domain in ("", "ai.onnx"):
        if domain in opsets:
            details["opset"] = opsets[domain]
            break
    return details


def _parse_opset(buf: bytes) -> tuple[str, int]:
    """OperatorSetIdProto: 1 domain (string), 2 version (int64)."""
    domain, version, pos = "", 0, 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            if number == 2:
                version = value
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if number == 1:
                domain = buf[pos : pos + length].decode("utf-8", "replace")
            pos += length
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise ValueError(f"wire type {wire} in an opset_import")
    if pos != len(buf):
        raise ValueError("an opset_import entry runs past its length")
    return domain, version


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {**parts[0], "shards": len(parts)}
