"""GGUF (llama.cpp): magic, version, counts, typed metadata pairs, tensor infos, aligned data.

The header is walked in a memory map with every read bounds-checked. Counts, array lengths and
array nesting are capped far above what llama.cpp writes, so a hostile header costs bounded time,
memory and stack; only the few metadata values shown are kept.
"""

from __future__ import annotations

import math
import mmap
import struct
from typing import Any, BinaryIO

from .common import MAX_KEPT_STRING, Malformed

# Far above real files (dozens of metadata pairs, a few thousand tensors, ~256k-token vocabularies,
# arrays of arrays one level deep), far below what would take minutes to step over.
MAX_METADATA_PAIRS = 1 << 16
MAX_TENSORS = 1 << 20
MAX_ARRAY_ITEMS = 1 << 24  # strings or arrays in all arrays; fixed-size items are skipped at once
MAX_ARRAY_DEPTH = 4

# ggml tensor type id -> (name, elements per block, bytes per block); size None = not checked
_GGML_TYPES: dict[int, tuple[str, int | None, int | None]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 40),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
    34: ("TQ1_0", 256, 54),
    35: ("TQ2_0", 256, 66),
    39: ("MXFP4", 32, 17),
    40: ("NVFP4", None, None),
    41: ("Q1_0", None, None),
    42: ("Q2_0", None, None),
}

# general.file_type (llama_ftype) -> name; gaps are types llama.cpp removed
_FILE_TYPES = {
    0: "ALL_F32",
    1: "MOSTLY_F16",
    2: "MOSTLY_Q4_0",
    3: "MOSTLY_Q4_1",
    4: "MOSTLY_Q4_1_SOME_F16",
    7: "MOSTLY_Q8_0",
    8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1",
    10: "MOSTLY_Q2_K",
    11: "MOSTLY_Q3_K_S",
    12: "MOSTLY_Q3_K_M",
    13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S",
    15: "MOSTLY_Q4_K_M",
    16: "MOSTLY_Q5_K_S",
    17: "MOSTLY_Q5_K_M",
    18: "MOSTLY_Q6_K",
    19: "MOSTLY_IQ2_XXS",
    20: "MOSTLY_IQ2_XS",
    21: "MOSTLY_Q2_K_S",
    22: "MOSTLY_IQ3_XS",
    23: "MOSTLY_IQ3_XXS",
    24: "MOSTLY_IQ1_S",
    25: "MOSTLY_IQ4_NL",
    26: "MOSTLY_IQ3_S",
    27: "MOSTLY_IQ3_M",
    28: "MOSTLY_IQ2_S",
    29: "MOSTLY_IQ2_M",
    30: "MOSTLY_IQ4_XS",
    31: "MOSTLY_IQ1_M",
    32: "MOSTLY_BF16",
    36: "MOSTLY_TQ1_0",
    37: "MOSTLY_TQ2_0",
    38: "MOSTLY_MXFP4_MOE",
}

# metadata value types: fixed-size ones as struct formats; 8 = string, 9 = array
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9


def _kept(key: str) -> bool:
    """The metadata the details show; everything else is stepped over, not stored."""
    return key.startswith(("general.", "split.")) or key.endswith(".context_length")


class _Reader:
    """Walks a GGUF header in a memory map; every read is bounds-checked."""

    def __init__(self, buf: mmap.mmap | bytes, size: int | None = None) -> None:
        self.buf = buf
        self.pos = 0
        # The file's size; `buf` may hold only its first bytes (a remote file's header, read in
        # growing ranges: `inspect`).
        self.size = len(buf) if size is None else size
        self.items_left = MAX_ARRAY_ITEMS  # strings and arrays inside arrays, for the whole header

    def take(self, n: int, what: str) -> int:
        if n < 0 or self.pos + n > self.size:
            raise Malformed(
                f"is truncated or corrupt: {what} needs {n:,} bytes at offset {self.pos:,}, past "
                f"the end of the file ({self.size:,} bytes)"
            )
        start = self.pos
        self.pos += n
        return start

    def scalar(self, fmt: str, what: str) -> Any:
        start = self.take(struct.calcsize(fmt), what)
        return struct.unpack_from(fmt, self.buf, start)[0]

    def string(self, what: str, *, keep: bool = True) -> str | None:
        length = self.scalar("<Q", what)
        start = self.take(length, what)
        if not keep or length > MAX_KEPT_STRING:
            return None
        return bytes(self.buf[start : start + length]).decode("utf-8", "replace")

    def value(self, kind: int, key: str, *, keep: bool) -> Any:
        """The value of a metadata pair (None when not kept); arrays are skipped, not kept."""
        if kind in _SCALARS:
            return self.scalar(_SCALARS[kind], f"the value of {key}")
        if kind == _STRING:
            return self.string(f"the value of {key}", keep=keep)
        if kind == _ARRAY:
            self.skip_array(key)
            return None
        raise Malformed(f"is corrupt: metadata {key!r} has unknown value type {kind}")

    def skip_array(self, key: str) -> None:
        # Iterative, with an explicit stack of (element kind, items left): no recursion.
        stack: list[list[int]] = [self._array_head(key, depth=1)]
        while stack:
            top = stack[-1]
            kind, left = top
            if left == 0:
                stack.pop()
            elif kind in _SCALARS:
                self.take(left * struct.calcsize(_SCALARS[kind]), f"the array {key}")
                stack.pop()
            elif kind == _STRING:
                self._skip_strings(key, left)
                stack.pop()
            else:  # an array of arrays
                top[1] -= 1
                stack.append(self._array_head(key, depth=len(stack) + 1))

    def _array_head(self, key: str, depth: int) -> list[int]:
        if depth > MAX_ARRAY_DEPTH:
            raise Malformed(
                f"is malformed: the array {key!r} nests arrays more than {MAX_ARRAY_DEPTH} deep"
            )
        kind = self.scalar("<I", f"the array {key}")
        count = self.scalar("<Q", f"the array {key}")
        if kind not in _SCALARS and kind not in (_STRING, _ARRAY):
            raise Malformed(f"is corrupt: the array {key!r} has unknown element type {kind}")
        if kind in (_STRING, _ARRAY):
            if count > self.items_left:
                raise Malformed(
                    f"is malformed: the array {key!r} claims {count:,} items (at most "
                    f"{MAX_ARRAY_ITEMS:,} strings or arrays in all arrays are accepted)"
                )
            self.items_left -= count
        return [kind, count]

    def _skip_strings(self, key: str, count: int) -> None:
        # Token lists hold ~150k strings: step over each length prefix without decoding.
        buf, pos, size = self.buf, self.pos, self.size
        for _ in range(count):
            if pos + 8 > size:
                self.pos = pos
                self.take(8, f"the array {key}")
            (length,) = struct.unpack_from("<Q", buf, pos)
            pos += 8 + length
            if pos > size:
                self.pos = pos - length
                self.take(length, f"the array {key}")
        self.pos = pos


def inspect(fh: BinaryIO, size: int) -> dict[str, Any]:
    """The header's details, read from `fh` (a seekable reader; `size`: the file's bytes)."""
    try:
        fileno = fh.fileno()
    except (OSError, AttributeError):  # io.UnsupportedOperation is an OSError
        fileno = None
    if fileno is None:
        return _inspect_ranged(fh, size)
    with mmap.mmap(fileno, 0, access=mmap.ACCESS_READ) as buf:
        return read(_Reader(buf))


FIRST_RANGE = 1 << 20  # a header without a vocabulary fits; one with ~256k tokens takes ~8 MiB


def _inspect_ranged(fh: BinaryIO, size: int) -> dict[str, Any]:
    """A reader with no file behind it (a remote source): the header is parsed from the file's
    first bytes, read again in a range twice as long while it runs past them, so only about
    the header is ever fetched, never the tensor data."""
    wanted = min(size, FIRST_RANGE)
    while True:
        fh.seek(0)
        head = fh.read(wanted)
        reader = _Reader(head, size)
        try:
            details = read(reader)
        except (struct.error, IndexError):  # ran past the bytes read so far
            details = None
        if details is not None and reader.pos <= len(head):
            return details
        if wanted >= size:
            raise Malformed(f"is truncated: its header runs past the {size:,} bytes it has")
        wanted = min(size, wanted * 2)


def read(r: _Reader) -> dict[str, Any]:
    r.take(4, "the magic")
    version = r.scalar("<I", "the version")
    tensor_count = r.scalar("<Q", "the tensor count")
    kv_count = r.scalar("<Q", "the metadata count")
    if kv_count > MAX_METADATA_PAIRS or tensor_count > MAX_TENSORS:
        raise Malformed(
            f"is malformed: it claims {kv_count:,} metadata pairs and {tensor_count:,} tensors "
            f"(at most {MAX_METADATA_PAIRS:,} and {MAX_TENSORS:,} are accepted)"
        )
    # Each pair takes at least 13 bytes and each tensor info 24: reject absurd counts early.
    if kv_count * 13 + tensor_count * 24 > r.size:
        raise Malformed(
            f"is corrupt: it claims {kv_count:,} metadata pairs and {tensor_count:,} tensors, "
            "more than the file can hold"
        )
    kv: dict[str, Any] = {}
    for _ in range(kv_count):
        key = r.string("a metadata key") or ""
        kind = r.scalar("<I", f"the type of {key}")
        keep = _kept(key)
        value = r.value(kind, key, keep=keep)
        if keep and value is not None:
            kv[key] = value

    parameters = 0
    by_type: dict[str, int] = {}
    data_end = 0
    for index in range(tensor_count):
        name = r.string(f"the name of tensor {index}") or f"#{index}"
        n_dims = r.scalar("<I", f"tensor {name}")
        if n_dims > 8:
            raise Malformed(f"is corrupt: tensor {name!r} claims {n_dims} dimensions")
        dims = [r.scalar("<Q", f"tensor {name}") for _ in range(n_dims)]
        kind = r.scalar("<I", f"tensor {name}")
        offset = r.scalar("<Q", f"tensor {name}")
        count = math.prod(dims)
        type_name, block, block_bytes = _GGML_TYPES.get(kind, (f"TYPE_{kind}", None, None))
        nbytes = -(-count // block) * block_bytes if block and block_bytes else 0
        data_end = max(data_end, offset + nbytes)
        parameters += count
        by_type[type_name] = by_type.get(type_name, 0) + count

    alignment = kv.get("general.alignment", 32)
    if not isinstance(alignment, int) or alignment <= 0:
        raise Malformed(f"is corrupt: general.alignment is {alignment!r}")
    data_start = -(-r.pos // alignment) * alignment
    if tensor_count and data_start + data_end > r.size:
        raise Malformed(
            f"is truncated: its tensors need {data_start + data_end:,} bytes but the file has "
            f"{r.size:,}"
        )

    details: dict[str, Any] = {"gguf_version": version}
    architecture = kv.get("general.architecture")
    for key, value in (("architecture", architecture), ("name", kv.get("general.name"))):
        if isinstance(value, str):
            details[key] = value
    file_type = kv.get("general.file_type")
    if isinstance(file_type, int) and file_type in _FILE_TYPES:
        details["quantization"] = _FILE_TYPES[file_type]
    elif by_type:
        details["quantization"] = max(by_type.items(), key=lambda item: item[1])[0]
    context = kv.get(f"{architecture}.context_length")
    if isinstance(context, int):
        details["context_length"] = context
    details["tensor_count"] = tensor_count
    details["parameter_count"] = parameters
    split_count = kv.get("split.count")
    if isinstance(split_count, int) and split_count > 1:
        details["_split"] = split_count
    return details


def merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The details of several GGUF files: shards of one model add up, variants do not."""
    if len(parts) == 1:
        return {k: v for k, v in parts[0].items() if not k.startswith("_")}
    details: dict[str, Any] = {}
    for part in parts:  # shards after the first may lack general.*: take the first value seen
        for key, value in part.items():
            if not key.startswith("_"):
                details.setdefault(key, value)
    if all("_split" in p for p in parts):
        # gguf-split shards of one model: the counts add up
        details["tensor_count"] = sum(p["tensor_count"] for p in parts)
        details["parameter_count"] = sum(p["parameter_count"] for p in parts)
        details["shards"] = len(parts)
    else:
        # separate complete models (e.g. a Q4 and a Q8 of the same weights): counts don't add
        details["tensor_count"] = max(p["tensor_count"] for p in parts)
        details["parameter_count"] = max(p["parameter_count"] for p in parts)
        quantizations = sorted({p["quantization"] for p in parts if "quantization" in p})
        if quantizations:
            details["quantization"] = ", ".join(quantizations)
        details["variants"] = len(parts)
    return details
