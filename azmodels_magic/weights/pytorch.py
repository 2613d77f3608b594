"""PyTorch: torch.save() files, a zip holding data.pkl (or a legacy bare pickle). Never unpickled.

Before zipfile reads a central directory, its end record is checked: a directory claiming more
entries or bytes than any checkpoint has is malformed, so a hostile zip costs bounded memory.
"""

from __future__ import annotations

import os
import re
import struct
import zipfile
from typing import Any, BinaryIO

from .common import Malformed

MAX_ENTRIES = 1_000_000  # torch.save writes one entry per storage, plus a handful
MAX_DIRECTORY_BYTES = 256 * 1024 * 1024

_ZIP_ERRORS = (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError)
_END, _END64_LOCATOR, _END64 = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06"


def _directory_extent(fh: BinaryIO, size: int) -> tuple[int, int] | None:
    """(entries, central-directory bytes) from the zip's end records; None when there is none."""
    tail_size = min(size, 22 + 0xFFFF)
    fh.seek(size - tail_size)
    tail = fh.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or at + 22 > len(tail):
        return None
    entries, directory = struct.unpack_from("<HI", tail, at + 10)
    if entries == 0xFFFF or directory == 0xFFFFFFFF:  # zip64: the real numbers are elsewhere
        locator = at - 20
        if locator < 0 or tail[locator : locator + 4] != _END64_LOCATOR:
            return None
        (offset,) = struct.unpack_from("<Q", tail, locator + 8)
        if offset + 56 > size:
            return None
        fh.seek(offset)
        record = fh.read(56)
        if record[:4] != _END64:
            return None
        entries, directory = struct.unpack_from("<QQ", record, 32)
    return entries, directory


def open_archive(fh: BinaryIO) -> zipfile.ZipFile:
    """A ZipFile over `fh`, after checking its central directory is of a sane size."""
    size = os.fstat(fh.fileno()).st_size
    extent = _directory_extent(fh, size)
    if extent is not None:
        entries, directory = extent
        if entries > MAX_ENTRIES or directory > min(size, MAX_DIRECTORY_BYTES):
            raise Malformed(
                f"is malformed: its zip directory claims {entries:,} entries in {directory:,} "
                f"bytes (at most {MAX_ENTRIES:,} entries are accepted)"
            )
    fh.seek(0)
    return zipfile.ZipFile(fh)


def is_torch_zip(fh: BinaryIO, head: bytes) -> bool:
    """Whether a zip is a torch.save() checkpoint: it holds a data.pkl."""

    def is_pickle(name: str) -> bool:
        return name == "data.pkl" or name.endswith("/data.pkl")

    # torch.save writes "<archive>/data.pkl" first, so the first local header usually tells.
    if len(head) >= 30:
        (name_len,) = struct.unpack_from("<H", head, 26)
        if is_pickle(head[30 : 30 + name_len].decode("utf-8", "replace")):
            return True
    try:
        with open_archive(fh) as archive:
            return any(is_pickle(name) for name in archive.namelist())
    except (Malformed, OSError, *_ZIP_ERRORS):
        return False


def inspect(fh: BinaryIO, size: int) -> dict[str, Any]:
    """The header's details, read from `fh` (a seekable reader; `size`: the file's bytes)."""
    fh.seek(0)
    if fh.read(4) != b"PK\x03\x04":
        return {"container": "legacy-pickle"}
    try:
        with open_archive(fh) as archive:
            infos = archive.infolist()
    except _ZIP_ERRORS as exc:
        # ValueError covers UnicodeDecodeError from a garbled entry name
        raise Malformed(f"is a damaged zip archive ({exc}); truncated?") from None
    for info in infos:
        if info.header_offset + info.compress_size > size:
            raise Malformed(f"is truncated: zip entry {info.filename!r} runs past the end")
    storages = sum(1 for i in infos if re.search(r"(^|/)data/\d+$", i.filename))
    return {"container": "zip", "entries": len(infos), "storages": storages}


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    containers = sorted({p["container"] for p in parts})
    details: dict[str, Any] = {"container": ", ".join(containers)}
    if "zip" in containers:
        details["entries"] = sum(p.get("entries", 0) for p in parts)
        details["storages"] = sum(p.get("storages", 0) for p in parts)
    details["shards"] = len(parts)
    return details
