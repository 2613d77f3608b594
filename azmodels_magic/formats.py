"""Model-weight formats: recognise them from the bytes and read their headers, never the tensors.

`%azmodels upload` (and its --dry-run) and `show` call `inspect_source`; what it raises is shown
to the user as one line, so every failure is a `ValidationError` that names the file, says what is
wrong and what to do. File extensions are never trusted: a format is what the first bytes say.

Only the standard library is used, so importing this module stays cheap.
"""

from __future__ import annotations

import json
import math
import mmap
import os
import pickletools
import re
import stat
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .errors import ValidationError
from .records import WeightFile
from .sizes import human_size

SUPPORTED_FORMATS = ("safetensors", "gguf", "onnx", "pytorch")

_FORMATS_TEXT = ", ".join(SUPPORTED_FORMATS)
_HEAD = 64 * 1024  # detection reads at most this much from the start of a file
_MAX_SAFETENSORS_HEADER = 100_000_000  # the limit the safetensors library itself enforces
_MAX_KEPT_STRING = 64 * 1024  # longer GGUF strings (templates, licences) are skipped, not kept

# Extensions that only weights carry: a file named so whose bytes are not weights is an error even
# in a folder with other weights, rather than being uploaded as an "extra" and breaking the model.
_STRONG_SUFFIXES = {".safetensors", ".gguf", ".onnx"}
# Extensions of files that are weights when present; an empty one means an unfinished download.
_WEIGHT_SUFFIXES = _STRONG_SUFFIXES | {".bin", ".pt", ".pth", ".ckpt"}
# Trainer checkpoints keep these torch.save files next to the weights; they are not weights.
_AUXILIARY_PICKLE = re.compile(
    r"^(training_args\.bin|optimizer\.(pt|bin)|scheduler\.pt|scaler\.pt|rng_state(_\d+)?\.pth)$"
)
_SKIP_NAMES = {"__pycache__"}

_PICKLE_OPCODES = frozenset(op.code.encode("latin-1")[0] for op in pickletools.opcodes)

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
_GGUF_FILE_TYPES = {
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

# GGUF metadata value types: fixed-size ones as struct formats; 8 = string, 9 = array
_GGUF_SCALARS = {
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
_GGUF_STRING, _GGUF_ARRAY = 8, 9

# ModelProto field number -> protobuf wire type (0 varint, 2 length-delimited)
_ONNX_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
_ONNX_STRINGS = {2, 3, 4, 6}
_ONNX_NAMES = {2: "producer_name", 3: "producer_version", 4: "domain", 6: "doc_string"}

_CONFIG_KEYS = (
    "architectures",
    "model_type",
    "torch_dtype",
    "num_hidden_layers",
    "hidden_size",
    "vocab_size",
)


@dataclass(frozen=True)
class WeightsInfo:
    """What `inspect_source` learnt about a model's weights, without loading a tensor."""

    source: Path  # what the user gave (file or folder), absolute
    format: str  # one of SUPPORTED_FORMATS
    files: tuple[WeightFile, ...]  # every file to upload, weights and the rest, by relative path
    weight_files: tuple[str, ...]  # relative paths of the files in `format`
    total_size: int  # bytes of all `files`
    details: dict[str, Any] = field(default_factory=dict)  # what the headers tell; JSON-ready

    def summary(self) -> str:
        """One line, e.g. "safetensors, 3 files, 1.2 GB, 124,439,808 parameters (F16, F32)"."""
        d = self.details
        count = len(self.files)
        parts = [
            self.format,
            f"{count} file{'' if count == 1 else 's'}",
            human_size(self.total_size),
        ]
        if "parameter_count" in d:
            kinds = d.get("dtypes") or ([d["quantization"]] if d.get("quantization") else [])
            text = f"{d['parameter_count']:,} parameters"
            parts.append(f"{text} ({', '.join(kinds)})" if kinds else text)
        if d.get("opset") is not None:
            parts.append(f"opset {d['opset']}")
        if d.get("producer_name"):
            parts.append(f"from {d['producer_name']}")
        if d.get("container"):
            parts.append(f"{d['container']} container")
        architecture = ", ".join(d.get("architectures") or []) or d.get("architecture")
        if architecture:
            parts.append(f"architecture {architecture}")
        return ", ".join(parts)


# --------------------------------------------------------------------------------------------
# Collecting files


def collect_files(source: str | Path) -> tuple[WeightFile, ...]:
    """The files to upload for `source`: the file itself, or every regular file below a folder.

    Hidden files and folders (.git, .cache, ...) and __pycache__ are skipped; symlinked files are
    followed (a Hugging Face cache snapshot is all symlinks), symlinked folders are not.
    """
    root = _absolute(source)
    try:
        st = os.stat(root)
    except FileNotFoundError:
        if os.path.islink(root):
            raise ValidationError(
                f"{root} is a broken symbolic link: point --source at the weights file or folder "
                "it should lead to."
            ) from None
        raise ValidationError(
            f"{root} does not exist: check --source (a relative path starts from {Path.cwd()})."
        ) from None
    except OSError as exc:
        raise ValidationError(f"Cannot read {root}: {_reason(exc)}. {_FIX_ACCESS}") from None

    if stat.S_ISDIR(st.st_mode):
        files = _walk(root)
        if not files:
            raise ValidationError(
                f"{root} has no files to upload (hidden files and folders are skipped): point "
                "--source at the model's folder or at its weights file."
            )
    elif stat.S_ISREG(st.st_mode):
        _check_readable(root, root.name)
        if st.st_size == 0:
            raise ValidationError(_empty_message(root.name))
        files = [
            WeightFile(path=root, relative=root.name, size=st.st_size, mtime_ns=st.st_mtime_ns)
        ]
    else:
        raise ValidationError(
            f"{root} is not a regular file or a folder ({_kind(st.st_mode)}): point --source at "
            "the weights file or the model's folder."
        )
    return tuple(sorted(files, key=lambda f: f.relative))


_FIX_ACCESS = "Make it readable (e.g. chmod +r) or move it out of the model's folder."


def _absolute(source: str | Path) -> Path:
    text = os.fspath(source)
    if not str(text).strip():
        raise ValidationError("--source is empty: give the path of a weights file or a folder.")
    return Path(os.path.abspath(os.path.expanduser(text)))


def _walk(root: Path) -> list[WeightFile]:
    found: list[WeightFile] = []
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            where = folder.relative_to(root).as_posix() + "/" if folder != root else str(root)
            raise ValidationError(f"Cannot list {where}: {_reason(exc)}. {_FIX_ACCESS}") from None
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIP_NAMES:
                continue
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            if entry.is_dir(follow_symlinks=False):
                pending.append(path)
                continue
            try:
                st = entry.stat()  # follows a symlinked file to what it points at
            except FileNotFoundError:
                raise ValidationError(
                    f"{relative} in {root} is a broken symbolic link: fix it or remove it, then "
                    "upload again."
                ) from None
            except OSError as exc:
                raise ValidationError(
                    f"Cannot read {relative}: {_reason(exc)}. {_FIX_ACCESS}"
                ) from None
            if stat.S_ISDIR(st.st_mode):
                continue  # a symlinked folder: may loop or lead outside the model
            if not stat.S_ISREG(st.st_mode):
                raise ValidationError(
                    f"{relative} in {root} is not a regular file ({_kind(st.st_mode)}): remove it "
                    "from the folder, then upload again."
                )
            _check_readable(path, relative)
            if st.st_size == 0 and path.suffix.lower() in _WEIGHT_SUFFIXES:
                raise ValidationError(_empty_message(relative))
            found.append(
                WeightFile(path=path, relative=relative, size=st.st_size, mtime_ns=st.st_mtime_ns)
            )
    return found


def _check_readable(path: Path, shown: str) -> None:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ValidationError(f"Cannot read {shown}: {_reason(exc)}. {_FIX_ACCESS}") from None


def _empty_message(shown: str) -> str:
    return (
        f"{shown} is empty (0 bytes): its download or copy did not finish. Get the file again, "
        "then upload."
    )


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower()


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


# --------------------------------------------------------------------------------------------
# Detection


@dataclass(frozen=True)
class _Probe:
    format: str | None
    problem: str | None = None  # why the bytes are not (usable) weights, when we can tell
    damaged: bool = False  # weights that are broken: an error even among other weights


def detect_format(path: str | Path) -> str | None:
    """The weights format of a file from its first bytes, or None when it is none of them.

    Reads at most the first 64 KiB (a zip's central directory too, when its first entry is not
    torch's data.pkl). Raises ValidationError only when the file can't be read.
    """
    return _probe(Path(path), Path(path).name).format


def _probe(path: Path, shown: str) -> _Probe:
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(_HEAD)
            return _probe_bytes(fh, head, size)
    except IsADirectoryError:
        raise ValidationError(f"{shown} is a folder: give the path of a file.") from None
    except OSError as exc:
        raise ValidationError(f"Cannot read {shown}: {_reason(exc)}. {_FIX_ACCESS}") from None


def _probe_bytes(fh: BinaryIO, head: bytes, size: int) -> _Probe:
    if len(head) >= 9:
        (n,) = struct.unpack_from("<Q", head)
        if 2 <= n <= _MAX_SAFETENSORS_HEADER and head[8:9] == b"{":
            if n + 8 <= size:
                return _Probe("safetensors")
            return _Probe(
                None,
                f"is truncated: its safetensors header needs {n:,} bytes but the file has only "
                f"{size - 8:,} after the length prefix; download or save it again",
                damaged=True,
            )
    if head[:4] == b"GGUF" and len(head) >= 8:
        (version,) = struct.unpack_from("<I", head, 4)
        if version in (2, 3):
            return _Probe("gguf")
        return _Probe(
            None,
            f"is GGUF version {version}, but only versions 2 and 3 are supported: convert it again "
            "with a current llama.cpp",
            damaged=True,
        )
    if head[:4] == b"PK\x03\x04":
        if _zip_is_torch(fh, head):
            return _Probe("pytorch")
        return _Probe(None, "is a zip archive without data.pkl, so not a torch.save() checkpoint")
    if len(head) >= 3 and head[0] == 0x80 and 2 <= head[1] <= 5 and head[2] in _PICKLE_OPCODES:
        return _Probe("pytorch")
    if head[:1] == b"\x08":
        looks_like, problem = _scan_onnx_head(head, size)
        if looks_like and problem is None:
            return _Probe("onnx")
        if looks_like:
            return _Probe(
                None,
                f"looks like an ONNX model but {problem}; export or download it again",
                damaged=True,
            )
    if head.startswith(b"version https://git-lfs."):
        return _Probe(
            None,
            "is a Git LFS pointer, not the weights: run `git lfs pull` in its repository (or "
            "download the file again)",
            damaged=True,
        )
    start = head[:512].lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return _Probe(None, "is an HTML page, not weights (a failed download?)")
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return _Probe(None, "is HDF5 (Keras/TensorFlow); export the model to ONNX or safetensors")
    return _Probe(None)


def _zip_is_torch(fh: BinaryIO, head: bytes) -> bool:
    def is_pickle(name: str) -> bool:
        return name == "data.pkl" or name.endswith("/data.pkl")

    # torch.save writes "<archive>/data.pkl" first, so the first local header usually tells.
    if len(head) >= 30:
        (name_len,) = struct.unpack_from("<H", head, 26)
        if is_pickle(head[30 : 30 + name_len].decode("utf-8", "replace")):
            return True
    try:
        fh.seek(0)
        with zipfile.ZipFile(fh) as archive:
            return any(is_pickle(name) for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error, NotImplementedError):
        return False


# --------------------------------------------------------------------------------------------
# Protobuf (ONNX)


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


def _scan_onnx_head(head: bytes, size: int) -> tuple[bool, str | None]:
    """(does it start like a ModelProto, what is wrong with the structure seen in `head`)."""
    try:
        tag, pos = _varint(head, 0)
        ir_version, pos = _varint(head, pos)
        if tag != 0x08 or not 1 <= ir_version <= 20:
            return False, None
        tag, _ = _varint(head, pos)
    except (_Short, ValueError):
        return False, None
    if _ONNX_FIELDS.get(tag >> 3) != tag & 7:
        return False, None
    # It starts like a ModelProto: every field in `head` must now parse.
    try:
        while pos < len(head):
            tag, pos = _varint(head, pos)
            number, wire = tag >> 3, tag & 7
            if number == 0 or _ONNX_FIELDS.get(number, wire) != wire or wire not in (0, 1, 2, 5):
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
                if number in _ONNX_STRINGS and pos + length <= len(head):
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


def _inspect_onnx(path: Path, shown: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    opsets: dict[str, int] = {}
    seen_graph = False
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        try:
            while fh.tell() < size:
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
                        raise _Corrupt(
                            f"is truncated: field {number} needs {length:,} bytes but only "
                            f"{size - fh.tell():,} remain"
                        )
                    if number in (2, 3, 4) and length <= _MAX_KEPT_STRING:
                        details[_ONNX_NAMES[number]] = fh.read(length).decode("utf-8", "replace")
                    elif number == 8 and length <= _MAX_KEPT_STRING:
                        domain, version = _parse_opset(fh.read(length))
                        opsets[domain] = version
                    else:
                        seen_graph = seen_graph or number == 7
                        fh.seek(length, os.SEEK_CUR)
                else:
                    raise _Corrupt(f"has protobuf wire type {wire} in field {number}")
            if fh.tell() > size:
                raise _Corrupt("is truncated: its last field runs past the end of the file")
        except _Short:
            raise _Corrupt("is truncated: the file ends inside a field") from None
        except ValueError as exc:
            raise _Corrupt(f"is corrupt ({exc})") from None
    if not seen_graph:
        raise _Corrupt("has no graph (a ModelProto without field 7)")
    if details.get("ir_version", 0) >= 3 and not opsets:
        raise _Corrupt("declares no operator set (opset_import is missing; truncated?)")
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


class _Corrupt(Exception):
    """A header problem; the text follows the file's name ("model.gguf <text>")."""


# --------------------------------------------------------------------------------------------
# safetensors


def _inspect_safetensors(path: Path, shown: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        prefix = fh.read(8)
        if len(prefix) < 8:
            raise _Corrupt("is truncated: it is shorter than the 8-byte safetensors prefix")
        (n,) = struct.unpack("<Q", prefix)
        if n > _MAX_SAFETENSORS_HEADER:
            raise _Corrupt(f"is corrupt: its header length {n:,} is over the 100 MB limit")
        if n + 8 > size:
            raise _Corrupt(
                f"is truncated: its header needs {n:,} bytes but the file has only {size - 8:,}"
            )
        raw = fh.read(n)
    try:
        header = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Corrupt("has a corrupt header (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise _Corrupt(
            f"has a corrupt header (invalid JSON: {exc.msg} at byte {exc.pos})"
        ) from None
    if not isinstance(header, dict):
        raise _Corrupt("has a corrupt header (a JSON object was expected)")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not isinstance(metadata, dict):
        raise _Corrupt("has a corrupt header (__metadata__ is not an object)")

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
            raise _Corrupt(f"has a corrupt header (tensor {name!r} is not described properly)")
        if end > data_size:
            raise _Corrupt(
                f"is truncated: tensor {name!r} ends at byte {end:,} of the data, which holds "
                f"only {data_size:,}"
            )
        count = math.prod(shape)
        itemsize = SAFETENSORS_SIZES.get(dtype)
        if itemsize is not None and end - begin != count * itemsize:
            raise _Corrupt(
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


def _merge_safetensors(parts: list[dict[str, Any]]) -> dict[str, Any]:
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


# --------------------------------------------------------------------------------------------
# GGUF


class _GGUFReader:
    """Walks a GGUF header in a memory map; every read is bounds-checked."""

    def __init__(self, buf: mmap.mmap | bytes) -> None:
        self.buf = buf
        self.pos = 0
        self.size = len(buf)

    def take(self, n: int, what: str) -> int:
        if n < 0 or self.pos + n > self.size:
            raise _Corrupt(
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
        if not keep or length > _MAX_KEPT_STRING:
            return None
        return bytes(self.buf[start : start + length]).decode("utf-8", "replace")

    def value(self, kind: int, key: str) -> Any:
        """The value of a metadata pair; arrays are skipped (None), not kept."""
        if kind in _GGUF_SCALARS:
            return self.scalar(_GGUF_SCALARS[kind], f"the value of {key}")
        if kind == _GGUF_STRING:
            return self.string(f"the value of {key}")
        if kind == _GGUF_ARRAY:
            self.skip_array(key)
            return None
        raise _Corrupt(f"is corrupt: metadata {key!r} has unknown value type {kind}")

    def skip_array(self, key: str) -> None:
        kind = self.scalar("<I", f"the array {key}")
        count = self.scalar("<Q", f"the array {key}")
        if kind in _GGUF_SCALARS:
            self.take(count * struct.calcsize(_GGUF_SCALARS[kind]), f"the array {key}")
        elif kind == _GGUF_STRING:
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
        elif kind == _GGUF_ARRAY:
            for _ in range(count):
                self.skip_array(key)
        else:
            raise _Corrupt(f"is corrupt: the array {key!r} has unknown element type {kind}")


def _inspect_gguf(path: Path, shown: str) -> dict[str, Any]:
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return _read_gguf(_GGUFReader(buf))


def _read_gguf(r: _GGUFReader) -> dict[str, Any]:
    r.take(4, "the magic")
    version = r.scalar("<I", "the version")
    tensor_count = r.scalar("<Q", "the tensor count")
    kv_count = r.scalar("<Q", "the metadata count")
    # Each pair takes at least 13 bytes and each tensor info 24: reject absurd counts early.
    if kv_count * 13 + tensor_count * 24 > r.size:
        raise _Corrupt(
            f"is corrupt: it claims {kv_count:,} metadata pairs and {tensor_count:,} tensors, "
            "more than the file can hold"
        )
    kv: dict[str, Any] = {}
    for _ in range(kv_count):
        key = r.string("a metadata key") or ""
        kind = r.scalar("<I", f"the type of {key}")
        value = r.value(kind, key)
        if value is not None:
            kv[key] = value

    parameters = 0
    by_type: dict[str, int] = {}
    data_end = 0
    for index in range(tensor_count):
        name = r.string(f"the name of tensor {index}") or f"#{index}"
        n_dims = r.scalar("<I", f"tensor {name}")
        if n_dims > 8:
            raise _Corrupt(f"is corrupt: tensor {name!r} claims {n_dims} dimensions")
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
        raise _Corrupt(f"is corrupt: general.alignment is {alignment!r}")
    data_start = -(-r.pos // alignment) * alignment
    if tensor_count and data_start + data_end > r.size:
        raise _Corrupt(
            f"is truncated: its tensors need {data_start + data_end:,} bytes but the file has "
            f"{r.size:,}"
        )

    details: dict[str, Any] = {"gguf_version": version}
    architecture = kv.get("general.architecture")
    for key, value in (("architecture", architecture), ("name", kv.get("general.name"))):
        if isinstance(value, str):
            details[key] = value
    file_type = kv.get("general.file_type")
    if isinstance(file_type, int) and file_type in _GGUF_FILE_TYPES:
        details["quantization"] = _GGUF_FILE_TYPES[file_type]
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


def _merge_gguf(parts: list[dict[str, Any]]) -> dict[str, Any]:
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


# --------------------------------------------------------------------------------------------
# PyTorch


def _inspect_pytorch(path: Path, shown: str) -> dict[str, Any]:
    with open(path, "rb") as fh:
        if fh.read(4) != b"PK\x03\x04":
            return {"container": "legacy-pickle"}
        size = os.fstat(fh.fileno()).st_size
        fh.seek(0)
        try:
            with zipfile.ZipFile(fh) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError) as exc:
            # ValueError covers UnicodeDecodeError from a garbled entry name
            raise _Corrupt(f"is a damaged zip archive ({exc}); truncated?") from None
    for info in infos:
        if info.header_offset + info.compress_size > size:
            raise _Corrupt(f"is truncated: zip entry {info.filename!r} runs past the end")
    storages = sum(1 for i in infos if re.search(r"(^|/)data/\d+$", i.filename))
    return {"container": "zip", "entries": len(infos), "storages": storages}


def _merge_pytorch(parts: list[dict[str, Any]]) -> dict[str, Any]:
    containers = sorted({p["container"] for p in parts})
    details: dict[str, Any] = {"container": ", ".join(containers)}
    if "zip" in containers:
        details["entries"] = sum(p.get("entries", 0) for p in parts)
        details["storages"] = sum(p.get("storages", 0) for p in parts)
    details["shards"] = len(parts)
    return details


# --------------------------------------------------------------------------------------------
# The whole source


_INSPECT = {
    "safetensors": (_inspect_safetensors, _merge_safetensors),
    "gguf": (_inspect_gguf, _merge_gguf),
    "onnx": (_inspect_onnx, lambda parts: {**parts[0], "shards": len(parts)}),
    "pytorch": (_inspect_pytorch, _merge_pytorch),
}


def inspect_source(source: str | Path, *, declared_format: str | None = None) -> WeightsInfo:
    """Find the files of `source`, their weights format, and what the headers say.

    A folder may hold config.json, tokenizer files and the like next to the weights; they are
    uploaded too. `declared_format` (from --format) must agree with the bytes.
    """
    declared = None
    if declared_format is not None:
        declared = declared_format.strip().lower()
        if declared not in SUPPORTED_FORMATS:
            raise ValidationError(
                f"--format {declared_format} is not supported: use one of {_FORMATS_TEXT}, or "
                "leave --format out to detect it from the file."
            )
    root = _absolute(source)
    files = collect_files(root)
    is_folder = root.is_dir()

    by_format: dict[str, list[WeightFile]] = {}
    hints: list[str] = []
    for wf in files:
        probe = _probe(wf.path, wf.relative)
        if probe.format is not None:
            if is_folder and probe.format == "pytorch" and _AUXILIARY_PICKLE.match(wf.path.name):
                continue  # trainer state next to the weights, uploaded as an extra
            by_format.setdefault(probe.format, []).append(wf)
            continue
        suffix = wf.path.suffix.lower()
        if probe.damaged:
            raise ValidationError(f"{wf.relative} {probe.problem}.")
        if is_folder and suffix in _STRONG_SUFFIXES:
            # A misnamed or garbled weights file would otherwise be uploaded as an "extra".
            why = f" ({wf.path.name} {probe.problem})" if probe.problem else ""
            raise ValidationError(
                f"{wf.relative} is named like a {suffix[1:]} file, but its bytes are none of the "
                f"supported formats ({_FORMATS_TEXT}){why}. Replace it with the real file or "
                "remove it."
            )
        if probe.problem:
            hints.append(f"{wf.relative} {probe.problem}")

    if not by_format:
        raise ValidationError(_no_weights_message(root, files, is_folder, hints))
    if len(by_format) > 1:
        found = "; ".join(f"{fmt} ({ws[0].relative})" for fmt, ws in sorted(by_format.items()))
        raise ValidationError(
            f"{root} mixes weight formats: {found}. Keep one format in the folder (move the "
            "other files out), then upload again."
        )
    (fmt, weights), *_ = by_format.items()
    if declared is not None and declared != fmt:
        noun = "files" if is_folder else "file"
        raise ValidationError(
            f"--format {declared} contradicts the {noun}: {weights[0].relative} is {fmt}. "
            f"Drop --format or pass --format {fmt}."
        )

    if is_folder:
        _check_indexes(files)
    inspect, merge = _INSPECT[fmt]
    parts = []
    for wf in weights:
        try:
            parts.append(inspect(wf.path, wf.relative))
        except _Corrupt as exc:
            raise ValidationError(
                f"{wf.relative} {exc}. Download or export it again, then upload."
            ) from None
        except OSError as exc:
            raise ValidationError(f"Cannot read {wf.relative}: {_reason(exc)}.") from None
    details = merge(parts)
    if is_folder:
        details.update(_config_details(files))
    return WeightsInfo(
        source=root,
        format=fmt,
        files=files,
        weight_files=tuple(wf.relative for wf in weights),
        total_size=sum(wf.size for wf in files),
        details=details,
    )


def _no_weights_message(
    root: Path, files: tuple[WeightFile, ...], is_folder: bool, hints: list[str]
) -> str:
    hint = f" ({hints[0]})" if hints else ""
    if is_folder:
        return (
            f"{root} holds no weights file in a supported format ({_FORMATS_TEXT}) among its "
            f"{len(files)} file{'' if len(files) == 1 else 's'}{hint}. Point --source at the "
            "model's weights or convert them."
        )
    return (
        f"{files[0].relative} is not a weights file in a supported format ({_FORMATS_TEXT})"
        f"{hint}. Convert the model to one of them, or point --source at its weights."
    )


def _check_indexes(files: tuple[WeightFile, ...]) -> None:
    """A shard index (model.safetensors.index.json) must find every shard it names."""
    present = {wf.relative for wf in files}
    for wf in files:
        if not wf.relative.endswith(".index.json"):
            continue
        index = _load_json(wf)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict):
            continue
        folder = wf.relative.rpartition("/")[0]
        for shard in sorted({v for v in weight_map.values() if isinstance(v, str)}):
            wanted = f"{folder}/{shard}" if folder else shard
            if wanted not in present:
                raise ValidationError(
                    f"{wf.relative} lists {wanted}, which is not in the folder: the download is "
                    "incomplete. Get the missing shard, then upload again."
                )


def _config_details(files: tuple[WeightFile, ...]) -> dict[str, Any]:
    config_file = next((wf for wf in files if wf.relative == "config.json"), None)
    if config_file is None:
        return {}
    config = _load_json(config_file)
    if not isinstance(config, dict):
        return {}
    # Multimodal configs keep the language model's sizes under text_config.
    text_config = config.get("text_config")
    fallback = text_config if isinstance(text_config, dict) else {}
    if "torch_dtype" not in config and "dtype" in config:  # newer transformers renamed it
        config = {**config, "torch_dtype": config["dtype"]}
    found = {}
    for key in _CONFIG_KEYS:
        value = config.get(key, fallback.get(key))
        if value is not None:
            found[key] = value
    return found


def _load_json(wf: WeightFile) -> Any:
    try:
        with open(wf.path, encoding="utf-8") as fh:
            return json.load(fh)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise ValidationError(
            f"{wf.relative} is not valid JSON{where}: fix it or remove it from the folder."
        ) from None
    except OSError as exc:
        raise ValidationError(f"Cannot read {wf.relative}: {_reason(exc)}.") from None
