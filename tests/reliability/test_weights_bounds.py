"""Weight-file parsers are bounded: hostile headers (deep nesting, huge counts, huge lengths) give
one clear "malformed" line quickly, never a RecursionError, minutes of work or gigabytes of memory.

Several files are sparse: they claim gigabytes but cost the disk nothing, which is exactly what a
hostile or broken download can do.
"""

from __future__ import annotations

import json
import pickle
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from azmodels_magic.errors import ValidationError
from azmodels_magic.sources.local import LocalSource
from azmodels_magic.weights import WeightsInfo
from azmodels_magic.weights import inspect_source as inspect


def inspect_source(path: Path) -> WeightsInfo:
    """What the headers of a local file or folder say, read through its source."""
    return inspect(LocalSource(path))


GiB = 1 << 30


def gguf_str(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf_header(kv_count: int, tensor_count: int = 0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, tensor_count, kv_count)


def sparse(path: Path, head: bytes, size: int, tail: bytes = b"") -> Path:
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size - len(tail))
        fh.seek(size - len(tail))
        fh.write(tail)
    return path


def malformed_line(source: Path, *, seconds: float = 10) -> str:
    """The one line inspect_source gives, checked to come fast and to say "malformed"."""
    started = time.monotonic()
    with pytest.raises(ValidationError) as info:
        inspect_source(source)
    elapsed = time.monotonic() - started
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(source.name), text
    assert "malformed" in text, text
    assert elapsed < seconds, f"took {elapsed:.1f}s: {text}"
    return text


@pytest.mark.timeout(120)
def test_gguf_arrays_nested_deeper_than_the_stack(tmp_path: Path) -> None:
    depth = 200_000  # each level: element type array, one item
    nested = struct.pack("<IQ", 9, 1) * depth + struct.pack("<IQ", 0, 0)
    data = gguf_header(1) + gguf_str("evil.nested") + struct.pack("<I", 9) + nested
    path = tmp_path / "nested.gguf"
    path.write_bytes(data)
    assert "nests arrays" in malformed_line(path)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("element", ["string", "array"])
def test_gguf_array_with_a_huge_count_is_refused_up_front(tmp_path: Path, element: str) -> None:
    # 2 GiB of zeros reads as empty strings (8 bytes each) or empty u8 arrays (12 bytes each):
    # stepping over them one by one would take minutes.
    kind = 8 if element == "string" else 9
    count = 2 * GiB // 16
    head = gguf_header(1) + gguf_str("evil.list") + struct.pack("<IIQ", 9, kind, count)
    path = sparse(tmp_path / f"{element}s.gguf", head, 2 * GiB)
    assert f"{count:,} items" in malformed_line(path)


@pytest.mark.timeout(120)
def test_gguf_huge_metadata_count_is_refused_up_front(tmp_path: Path) -> None:
    # 100M pairs of (empty key, u8 value) fit in 2 GiB of zeros: minutes of work, a dict per key.
    path = sparse(tmp_path / "pairs.gguf", gguf_header(100_000_000), 2 * GiB)
    assert "100,000,000 metadata pairs" in malformed_line(path)


@pytest.mark.timeout(120)
def test_gguf_keeps_only_the_metadata_it_shows(tmp_path: Path) -> None:
    # 50k distinct 64 KiB-long string values: kept, they would cost 3 GiB of memory.
    long_value = gguf_str("x" * 60_000)
    pairs = b"".join(
        gguf_str(f"junk.{i}") + struct.pack("<I", 8) + long_value for i in range(2_000)
    )
    path = tmp_path / "junk.gguf"
    path.write_bytes(
        gguf_header(2_001) + pairs + gguf_str("general.name") + struct.pack("<I", 8) + gguf_str("m")
    )
    tracemalloc.start()
    try:
        info = inspect_source(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.details["name"] == "m"
    assert peak < 20 * 1024 * 1024, f"peak {peak:,} bytes for a 120 MB header"


def test_safetensors_header_nested_deeper_than_the_stack(tmp_path: Path) -> None:
    header = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    assert "nests JSON too deeply" in malformed_line(path)


def test_safetensors_huge_header_length_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b'{"a": 1}' + bytes(64))
    assert "over the 100 MB limit" in malformed_line(path)


def test_config_json_nested_deeper_than_the_stack(tmp_path: Path) -> None:
    from azmodels_magic.sample_weights import write_safetensors

    folder = tmp_path / "model"
    folder.mkdir()
    write_safetensors(folder / "model.safetensors", {"w": ("F16", (4, 4))})
    (folder / "config.json").write_text('{"a":' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ValidationError) as info:
        inspect_source(folder)
    text = str(info.value)
    assert text.startswith("config.json is malformed"), text


def test_huge_config_json_is_uploaded_as_bytes_not_parsed(tmp_path: Path) -> None:
    from azmodels_magic.sample_weights import write_safetensors

    folder = tmp_path / "model"
    folder.mkdir()
    write_safetensors(folder / "model.safetensors", {"w": ("F16", (4, 4))})
    sparse(folder / "config.json", b'{"model_type": "llama", "pad": "', 1 * GiB, b'"}')
    tracemalloc.start()
    try:
        info = inspect_source(folder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "config.json" in {f.relative for f in info.files}
    assert "model_type" not in info.details
    assert peak < 50 * 1024 * 1024


@pytest.mark.timeout(120)
def test_onnx_with_millions_of_tiny_fields_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "fields.onnx"
    path.write_bytes(b"\x08\x07" * 5_000_000)  # ir_version = 7, five million times
    assert "top-level fields" in malformed_line(path, seconds=5)


def test_torch_zip_with_a_huge_central_directory_is_not_read(tmp_path: Path) -> None:
    small = tmp_path / "small.zip"
    with zipfile.ZipFile(small, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2))
    local = small.read_bytes()
    local = local[: local.index(b"PK\x01\x02")]  # keep the local entry, drop its directory
    size, directory = 400 * 1024 * 1024, 300 * 1024 * 1024
    end = b"PK\x05\x06" + struct.pack("<4H2IH", 0, 0, 1, 1, directory, size - 22 - directory, 0)
    path = sparse(tmp_path / "model.bin", local, size, end)
    tracemalloc.start()
    try:
        text = malformed_line(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "zip directory" in text
    assert peak < 50 * 1024 * 1024, f"peak {peak:,} bytes"


def test_config_and_index_bounds_do_not_reject_real_folders(tmp_path: Path) -> None:
    from azmodels_magic.sample_weights import make_model_folder

    folder = make_model_folder(tmp_path / "m", shards=2)
    info = inspect_source(folder)
    assert info.format == "safetensors"
    assert (
        json.loads((folder / "config.json").read_text())["model_type"] == info.details["model_type"]
    )
