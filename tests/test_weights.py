"""Format detection and header inspection (azmodels_magic.weights) on files written by hand."""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import random
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from azmodels_magic.errors import ValidationError
from azmodels_magic.sample_weights import (
    DEFAULT_GGUF_TENSORS,
    llama_tensors,
    make_model_folder,
    write_gguf,
    write_safetensors,
)
from azmodels_magic.sizes import human_size
from azmodels_magic.sources.local import LocalSource, collect_files
from azmodels_magic.weights import SUPPORTED_FORMATS, WeightsInfo, detect_format
from azmodels_magic.weights import inspect_source as inspect


def inspect_source(path: Path, **options) -> WeightsInfo:
    """What the headers of a local file or folder say, read through its source."""
    follow_symlinks = options.pop("follow_symlinks", False)
    return inspect(LocalSource(path, follow_symlinks=follow_symlinks), **options)


# ------------------------------------------------------------------------------------------
# Hand-made files (independent of azmodels_magic.sample_weights, so a shared bug can't hide)


def safetensors_by_hand(path: Path, arrays: dict[str, np.ndarray], metadata=None) -> Path:
    dtypes = {np.float16: "F16", np.float32: "F32", np.int64: "I64"}
    header, chunks, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, array in arrays.items():
        raw = array.tobytes()
        header[name] = {
            "dtype": dtypes[array.dtype.type],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return path


def gguf_str(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_by_hand(path: Path, *, version: int = 3, file_type: int | None = 15) -> Path:
    """A GGUF file: two tensors (Q4_K 256x4, F32 256), 32-byte alignment, varied metadata."""
    kv = [
        gguf_str("general.architecture") + struct.pack("<I", 8) + gguf_str("qwen2"),
        gguf_str("general.name") + struct.pack("<I", 8) + gguf_str("Tiny Qwen"),
        gguf_str("qwen2.context_length") + struct.pack("<II", 4, 32768),
        gguf_str("qwen2.rope.freq_base") + struct.pack("<If", 6, 1e6),
        gguf_str("general.quantized") + struct.pack("<I?", 7, True),
        gguf_str("general.big") + struct.pack("<Iq", 11, -(2**40)),
        gguf_str("tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, 3)
        + b"".join(gguf_str(t) for t in ("<s>", "</s>", "héllo")),
        gguf_str("tokenizer.ggml.token_type") + struct.pack("<IIQ3i", 9, 5, 3, 1, 1, 1),
        # an array of arrays, which the spec allows
        gguf_str("test.nested")
        + struct.pack("<IIQ", 9, 9, 2)
        + struct.pack("<IQ2H", 2, 2, 7, 8)
        + struct.pack("<IQ", 8, 1)
        + gguf_str("x"),
    ]
    if file_type is not None:
        kv.append(gguf_str("general.file_type") + struct.pack("<II", 4, file_type))
    out = b"GGUF" + struct.pack("<IQQ", version, 2, len(kv)) + b"".join(kv)
    q4k_bytes = (256 * 4) // 256 * 144  # 576, already 32-aligned
    out += gguf_str("blk.0.ffn_up.weight") + struct.pack("<I2QIQ", 2, 256, 4, 12, 0)
    out += gguf_str("output_norm.weight") + struct.pack("<I1QIQ", 1, 256, 0, q4k_bytes)
    out += b"\0" * (-len(out) % 32)
    out += random.Random(1).randbytes(q4k_bytes + 256 * 4)
    path.write_bytes(out)
    return path


def pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_field(number: int, value: int | bytes) -> bytes:
    if isinstance(value, int):
        return pb_varint(number << 3) + pb_varint(value)
    return pb_varint(number << 3 | 2) + pb_varint(len(value)) + value


def onnx_by_hand(path: Path) -> Path:
    """A ModelProto: ir_version 8, producer, a graph with one Relu node, two opset imports."""
    node = pb_field(1, b"x") + pb_field(2, b"y") + pb_field(4, b"Relu")
    initializer = pb_field(1, 4) + pb_field(2, 1) + pb_field(8, b"w") + pb_field(9, bytes(16))
    graph = pb_field(1, node) + pb_field(2, b"g") + pb_field(5, initializer)
    model = (
        pb_field(1, 8)
        + pb_field(2, b"pytorch")
        + pb_field(3, b"2.1.0")
        + pb_field(7, graph)
        + pb_field(8, pb_field(1, b"com.microsoft") + pb_field(2, 1))
        + pb_field(8, pb_field(2, 17))
    )
    path.write_bytes(model)
    return path


def torch_zip_by_hand(path: Path) -> Path:
    """What torch.save writes: a zip of archive/data.pkl, version, byteorder and storages."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}, protocol=2))
        archive.writestr("archive/.format_version", "1")
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", bytes(64))
        archive.writestr("archive/data/1", bytes(32))
        archive.writestr("archive/version", "3\n")
    return path


def error_of(func, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        func(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text, "user-facing errors are one line"
    return text


@pytest.fixture
def st_file(tmp_path: Path) -> Path:
    arrays = {
        "wte.weight": np.arange(12 * 8, dtype=np.float16).reshape(12, 8),
        "ln_f.bias": np.zeros(8, dtype=np.float32),
        "pos": np.arange(3, dtype=np.int64),
    }
    return safetensors_by_hand(tmp_path / "model.safetensors", arrays, {"format": "pt"})


# ------------------------------------------------------------------------------------------
# human_size


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (999, "999 B"),
        (1000, "1.0 KB"),
        (3_400_000, "3.4 MB"),
        (999_960, "1.0 MB"),
        (1_234_567_890, "1.2 GB"),
        (7 * 10**12, "7.0 TB"),
    ],
)
def test_human_size(n, text):
    assert human_size(n) == text


# ------------------------------------------------------------------------------------------
# safetensors


def test_safetensors_detected_and_inspected(st_file: Path):
    assert detect_format(st_file) == "safetensors"
    info = inspect_source(st_file)
    assert isinstance(info, WeightsInfo)
    assert info.format == "safetensors"
    assert info.source.display == str(st_file)
    assert info.weight_files == ("model.safetensors",)
    assert [f.relative for f in info.files] == ["model.safetensors"]
    assert info.files[0].path == st_file and info.files[0].size == st_file.stat().st_size
    assert info.total_size == st_file.stat().st_size
    assert info.details == {
        "tensor_count": 3,
        "parameter_count": 96 + 8 + 3,
        "dtypes": ["F16", "F32", "I64"],
        "metadata": {"format": "pt"},
        "shards": 1,
    }
    assert info.summary().startswith("safetensors, 1 file, ")
    assert "107 parameters (F16, F32, I64)" in info.summary()
    json.dumps(info.details)


def test_sharded_folder_with_config_and_tokenizer(tmp_path: Path):
    folder = make_model_folder(tmp_path / "tiny", shards=3, hidden_size=32, num_hidden_layers=3)
    # things that must not be uploaded
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (folder / ".cache" / "huggingface").mkdir(parents=True)
    (folder / ".cache" / "huggingface" / "x.lock").write_text("")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints" / "README-checkpoint.md").write_text("old")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\x00" * 4)
    (folder / ".DS_Store").write_bytes(b"junk")
    outside = tmp_path / "outside"
    outside.mkdir()
    write_safetensors(outside / "other.safetensors", {"x": ("F32", (2,))})
    (folder / "linked_dir").symlink_to(outside, target_is_directory=True)
    (folder / "README.md").write_text("# tiny\n")

    info = inspect_source(folder)
    shards = tuple(f"model-0000{i}-of-00003.safetensors" for i in (1, 2, 3))
    assert info.format == "safetensors"
    assert info.weight_files == shards
    assert [f.relative for f in info.files] == sorted(
        [
            "README.md",
            "config.json",
            *shards,
            "model.safetensors.index.json",
            "tokenizer.json",
            "tokenizer_config.json",
        ]
    )
    tensors = llama_tensors(hidden_size=32, num_hidden_layers=3, vocab_size=128)
    expected = sum(math.prod(shape) for _, shape in tensors.values())
    assert expected == 2 * 128 * 32 + 3 * (4 * 32 * 32 + 32) + 32
    d = info.details
    assert d["tensor_count"] == len(tensors) == 18
    assert d["parameter_count"] == expected
    assert d["dtypes"] == ["F16"]
    assert d["shards"] == 3
    assert d["architectures"] == ["LlamaForCausalLM"]
    assert d["model_type"] == "llama"
    assert d["torch_dtype"] == "float16"
    assert (d["num_hidden_layers"], d["hidden_size"], d["vocab_size"]) == (3, 32, 128)
    assert info.total_size == sum(f.size for f in info.files)
    assert all(f.path.is_absolute() for f in info.files)
    assert info.summary() == (
        f"safetensors, 8 files, {human_size(info.total_size)}, {expected:,} parameters (F16), "
        "architecture LlamaForCausalLM"
    )


def test_symlinked_files_are_followed(tmp_path: Path):
    # A Hugging Face cache snapshot is symlinks into ../blobs.
    blobs = tmp_path / "blobs"
    blobs.mkdir()
    write_safetensors(blobs / "abc123", {"w": ("BF16", (4, 4))})
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    (snapshot / "model.safetensors").symlink_to(blobs / "abc123")
    info = inspect_source(snapshot, follow_symlinks=True)  # leaving the folder: said so
    assert info.weight_files == ("model.safetensors",)
    assert info.details["dtypes"] == ["BF16"]
    assert info.files[0].size == (blobs / "abc123").stat().st_size


def test_truncated_safetensors_header(st_file: Path):
    raw = st_file.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    st_file.write_bytes(raw[: 8 + n // 2])
    text = error_of(inspect_source, st_file)
    assert text.startswith("model.safetensors is truncated")
    assert f"{n:,} bytes" in text and "again" in text


def test_truncated_safetensors_data(st_file: Path):
    st_file.write_bytes(st_file.read_bytes()[:-5])
    assert detect_format(st_file) == "safetensors"  # the header is whole
    text = error_of(inspect_source, st_file)
    assert "model.safetensors is truncated" in text and "'pos'" in text


def test_safetensors_invalid_json_header(tmp_path: Path):
    header = b'{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'  # no closing brace
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    text = error_of(inspect_source, path)
    assert text.startswith("bad.safetensors has a corrupt header (invalid JSON")


def test_safetensors_offsets_disagree_with_shape(tmp_path: Path):
    header = json.dumps({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + bytes(8))
    assert "tensor 'w' is F32 [3], 12 bytes" in error_of(inspect_source, path)


def test_every_truncation_is_a_clear_error(tmp_path: Path):
    """Cutting a valid file anywhere gives a ValidationError naming it, never a raw exception."""
    sources = {
        "st": write_safetensors(
            tmp_path / "a.safetensors", {"a": ("F16", (8, 4)), "b": ("U8", (5,))}
        ),
        "gguf": gguf_by_hand(tmp_path / "a.gguf"),
        "onnx": onnx_by_hand(tmp_path / "a.onnx"),
    }
    for kind, path in sources.items():
        raw = path.read_bytes()
        cut = tmp_path / f"cut-{kind}{path.suffix}"
        for length in range(1, len(raw)):
            if kind == "onnx" and length == len(raw) - len(pb_field(8, pb_field(2, 17))):
                continue  # protobuf can't tell a cut at a field boundary: this prefix is a model
            cut.write_bytes(raw[:length])
            text = error_of(inspect_source, cut)
            assert cut.name in text, (kind, length, text)


def test_written_safetensors_is_deterministic(tmp_path: Path):
    a = write_safetensors(tmp_path / "a.safetensors", {"w": ("F32", (16,))}, seed=3)
    b = write_safetensors(tmp_path / "b.safetensors", {"w": ("F32", (16,))}, seed=3)
    c = write_safetensors(tmp_path / "c.safetensors", {"w": ("F32", (16,))}, seed=4)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    (n,) = struct.unpack("<Q", a.read_bytes()[:8])
    assert n % 8 == 0  # header padded: tensor data starts 8-byte aligned


# ------------------------------------------------------------------------------------------
# GGUF


def test_gguf_v3_by_hand(tmp_path: Path):
    path = gguf_by_hand(tmp_path / "tiny.gguf")
    assert detect_format(path) == "gguf"
    info = inspect_source(path)
    assert info.format == "gguf"
    assert info.details == {
        "gguf_version": 3,
        "architecture": "qwen2",
        "name": "Tiny Qwen",
        "quantization": "MOSTLY_Q4_K_M",
        "context_length": 32768,
        "tensor_count": 2,
        "parameter_count": 256 * 4 + 256,
    }
    assert info.summary().endswith("1,280 parameters (MOSTLY_Q4_K_M), architecture qwen2")


def test_gguf_v2_and_quantization_from_tensor_types(tmp_path: Path):
    path = gguf_by_hand(tmp_path / "v2.gguf", version=2, file_type=None)
    details = inspect_source(path).details
    assert details["gguf_version"] == 2
    assert details["quantization"] == "Q4_K"  # the tensor type holding most parameters


def test_gguf_unsupported_version(tmp_path: Path):
    path = tmp_path / "old.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<I", 1) + bytes(64))
    assert detect_format(path) is None
    text = error_of(inspect_source, path)
    assert "GGUF version 1" in text and "llama.cpp" in text


def test_gguf_string_past_the_end(tmp_path: Path):
    raw = bytearray(gguf_by_hand(tmp_path / "a.gguf").read_bytes())
    # the first key's length: 24 bytes in (magic, version, two counts)
    raw[24:32] = struct.pack("<Q", 10**12)
    (tmp_path / "a.gguf").write_bytes(raw)
    text = error_of(inspect_source, tmp_path / "a.gguf")
    assert text.startswith("a.gguf is truncated or corrupt: a metadata key needs")


def test_gguf_unknown_value_type(tmp_path: Path):
    raw = bytearray(gguf_by_hand(tmp_path / "a.gguf").read_bytes())
    key_end = 24 + 8 + len("general.architecture")
    raw[key_end : key_end + 4] = struct.pack("<I", 13)
    (tmp_path / "a.gguf").write_bytes(raw)
    assert "unknown value type 13" in error_of(inspect_source, tmp_path / "a.gguf")


def test_gguf_writer_and_big_token_array(tmp_path: Path):
    tokens = [f"tok{i}" for i in range(50_000)]
    path = write_gguf(
        tmp_path / "m.gguf",
        architecture="llama",
        file_type=1,
        context_length=2048,
        tokens=tokens,
        metadata={"llama.block_count": 1, "general.tags": ["a", "b"], "x.f": 0.5, "x.b": False},
    )
    info = inspect_source(path)
    expected = sum(math.prod(dims) for _, dims in DEFAULT_GGUF_TENSORS.values())
    assert info.details["quantization"] == "MOSTLY_F16"
    assert info.details["context_length"] == 2048
    assert info.details["tensor_count"] == len(DEFAULT_GGUF_TENSORS)
    assert info.details["parameter_count"] == expected
    assert info.details["name"] == "tiny-llama"


def test_gguf_alignment_is_honoured(tmp_path: Path):
    path = write_gguf(tmp_path / "m.gguf", alignment=64)
    assert inspect_source(path).details["tensor_count"] == len(DEFAULT_GGUF_TENSORS)
    path.write_bytes(path.read_bytes()[:-1])
    assert "m.gguf is truncated: its tensors need" in error_of(inspect_source, path)


def test_gguf_split_shards_add_up_and_variants_do_not(tmp_path: Path):
    split = tmp_path / "split"
    for i in (1, 2):
        write_gguf(
            split / f"m-0000{i}-of-00002.gguf", metadata={"split.count": 2, "split.no": i - 1}
        )
    per_file = sum(math.prod(dims) for _, dims in DEFAULT_GGUF_TENSORS.values())
    details = inspect_source(split).details
    assert details["parameter_count"] == 2 * per_file and details["shards"] == 2

    variants = tmp_path / "variants"
    write_gguf(variants / "m-Q4_K_M.gguf", file_type=15)
    write_gguf(variants / "m-F16.gguf", file_type=1)
    details = inspect_source(variants).details
    assert details["parameter_count"] == per_file
    assert details["quantization"] == "MOSTLY_F16, MOSTLY_Q4_K_M"
    assert details["variants"] == 2


# ------------------------------------------------------------------------------------------
# ONNX


def test_onnx_by_hand(tmp_path: Path):
    path = onnx_by_hand(tmp_path / "model.onnx")
    assert detect_format(path) == "onnx"
    info = inspect_source(path)
    assert info.format == "onnx"
    assert info.details["ir_version"] == 8
    assert info.details["producer_name"] == "pytorch"
    assert info.details["opset"] == 17  # the default domain, not com.microsoft's 1
    assert "opset 17" in info.summary()


def test_onnx_without_opset_or_graph_is_refused(tmp_path: Path):
    path = tmp_path / "m.onnx"
    path.write_bytes(pb_field(1, 7) + pb_field(2, b"x") + pb_field(7, pb_field(2, b"g")))
    assert "declares no operator set" in error_of(inspect_source, path)
    path.write_bytes(pb_field(1, 7) + pb_field(2, b"x") + pb_field(8, pb_field(2, 13)))
    assert "has no graph" in error_of(inspect_source, path)


@pytest.mark.parametrize(
    "data",
    [
        b"\x08\x05hello world, this is text",  # starts like ir_version, then not protobuf
        b"\x08\x63" + pb_field(2, b"pytorch"),  # ir_version 99 is not plausible
        b"\x08\x07" + b"\x3a\x05ab",  # graph of 5 bytes in a file with 2 left: truncated
        bytes(32),
    ],
)
def test_onnx_lookalikes_are_not_onnx(tmp_path: Path, data: bytes):
    path = tmp_path / "x.bin"
    path.write_bytes(data)
    assert detect_format(path) is None


# ------------------------------------------------------------------------------------------
# PyTorch


def test_torch_zip(tmp_path: Path):
    path = torch_zip_by_hand(tmp_path / "pytorch_model.bin")
    assert detect_format(path) == "pytorch"
    info = inspect_source(path)
    assert info.details == {"container": "zip", "entries": 6, "storages": 2, "shards": 1}


def test_torch_zip_whose_first_entry_is_not_the_pickle(tmp_path: Path):
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/version", "3\n")
        archive.writestr("model/data.pkl", pickle.dumps([1, 2], protocol=2))
    assert detect_format(path) == "pytorch"


def test_zip_without_data_pkl_is_not_pytorch(tmp_path: Path):
    path = tmp_path / "weights.npz"
    buffer = io.BytesIO()
    np.savez(buffer, w=np.zeros(3))
    path.write_bytes(buffer.getvalue())
    assert detect_format(path) is None
    text = error_of(inspect_source, path)
    assert "without data.pkl" in text and all(f in text for f in SUPPORTED_FORMATS)


def test_truncated_torch_zip(tmp_path: Path):
    path = torch_zip_by_hand(tmp_path / "pytorch_model.bin")
    path.write_bytes(path.read_bytes()[:-30])
    assert detect_format(path) == "pytorch"  # the first entry says so
    assert "pytorch_model.bin is a damaged zip archive" in error_of(inspect_source, path)


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_legacy_pickle(tmp_path: Path, protocol: int):
    path = tmp_path / "model.pth"
    path.write_bytes(pickle.dumps({"state_dict": {"w": [1.0, 2.0]}}, protocol=protocol))
    assert detect_format(path) == "pytorch"
    info = inspect_source(path)
    assert info.details == {"container": "legacy-pickle", "shards": 1}
    assert "legacy-pickle container" in info.summary()


def test_trainer_pickles_next_to_safetensors_are_extras(tmp_path: Path):
    folder = make_model_folder(tmp_path / "ckpt", shards=1)
    (folder / "training_args.bin").write_bytes(pickle.dumps({"lr": 1e-4}, protocol=4))
    torch_zip_by_hand(folder / "optimizer.pt")
    info = inspect_source(folder)
    assert info.format == "safetensors"
    assert info.weight_files == ("model.safetensors",)
    assert {"training_args.bin", "optimizer.pt"} <= {f.relative for f in info.files}


# ------------------------------------------------------------------------------------------
# Errors the user meets


def test_wrong_declared_format(st_file: Path):
    text = error_of(inspect_source, st_file, declared_format="onnx")
    assert text == (
        "--format onnx contradicts the file: model.safetensors is safetensors. "
        "Drop --format or pass --format safetensors."
    )
    assert inspect_source(st_file, declared_format="SafeTensors").format == "safetensors"


def test_wrong_declared_format_for_a_folder(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=2)
    text = error_of(inspect_source, folder, declared_format="gguf")
    assert text.startswith("--format gguf contradicts the files: model-00001-of-00002.safetensors")


def test_unsupported_declared_format(st_file: Path):
    text = error_of(inspect_source, st_file, declared_format="tflite")
    assert "--format tflite is not supported" in text
    assert "safetensors, gguf, onnx, pytorch" in text


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("noise.bin", random.Random(7).randbytes(4096)),
        ("pytorch_model.bin", b"these are not the weights you are looking for\n" * 20),
    ],
)
def test_unknown_file_lists_supported_formats(tmp_path: Path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    assert detect_format(path) is None
    text = error_of(inspect_source, path)
    assert text.startswith(f"{name} is not a weights file in a supported format")
    assert "(safetensors, gguf, onnx, pytorch)" in text


def test_git_lfs_pointer(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=2)
    (folder / "model-00002-of-00002.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n"
    )
    text = error_of(inspect_source, folder)
    assert text.startswith("model-00002-of-00002.safetensors is a Git LFS pointer")
    assert "git lfs pull" in text


def test_garbled_file_named_like_weights_in_a_folder(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    (folder / "extra.onnx").write_bytes(b"not onnx at all")
    text = error_of(inspect_source, folder)
    assert text.startswith("extra.onnx is named like a onnx file, but its bytes are none")


def test_folder_without_weights(tmp_path: Path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')
    text = error_of(inspect_source, folder)
    assert "holds no weights file in a supported format (safetensors, gguf, onnx, pytorch)" in text
    assert "among its 2 files" in text


def test_mixed_formats(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    torch_zip_by_hand(folder / "pytorch_model.bin")
    text = error_of(inspect_source, folder)
    assert "mixes weight formats" in text
    assert "pytorch (pytorch_model.bin)" in text and "safetensors (model.safetensors)" in text


def test_missing_shard_named_by_the_index(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=3)
    (folder / "model-00003-of-00003.safetensors").unlink()
    text = error_of(inspect_source, folder)
    assert text.startswith("model.safetensors.index.json lists model-00003-of-00003.safetensors")


def test_invalid_config_json(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    (folder / "config.json").write_text('{"architectures": ["X"],\n')
    assert error_of(inspect_source, folder).startswith("config.json is not valid JSON (line 2")


def test_extension_lies(st_file: Path):
    lying = st_file.rename(st_file.with_name("model.gguf"))
    assert detect_format(lying) == "safetensors"
    info = inspect_source(lying)
    assert info.format == "safetensors" and info.weight_files == ("model.gguf",)


def test_detection_of_text_files(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        assert detect_format(folder / name) is None


# ------------------------------------------------------------------------------------------
# collect_files


def test_missing_path(tmp_path: Path):
    text = error_of(collect_files, tmp_path / "nope")
    assert f"{tmp_path / 'nope'} does not exist" in text and "--source" in text
    assert "does not exist" in error_of(inspect_source, str(tmp_path / "nope"))


def test_empty_folder(tmp_path: Path):
    (tmp_path / "empty" / ".git").mkdir(parents=True)
    (tmp_path / "empty" / ".git" / "config").write_text("[core]\n")
    text = error_of(collect_files, tmp_path / "empty")
    assert "has no files to upload" in text and "hidden" in text


def test_single_file_and_relative_path(tmp_path: Path, st_file: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (files,) = collect_files("model.safetensors")
    assert files.path == st_file and files.relative == "model.safetensors"
    assert files.size == st_file.stat().st_size and files.mtime_ns == st_file.stat().st_mtime_ns


def test_zero_byte_weights_file(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    (folder / "added_tokens.json").write_text("")  # empty, but not weights: fine
    assert inspect_source(folder).weight_files == ("model.safetensors",)
    (folder / "model.safetensors").write_bytes(b"")
    text = error_of(collect_files, folder)
    assert text.startswith("model.safetensors is empty (0 bytes)")
    single = tmp_path / "model.onnx"
    single.write_bytes(b"")
    assert "model.onnx is empty (0 bytes)" in error_of(inspect_source, single)


def test_fifo_in_folder(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    os.mkfifo(folder / "pipe")
    text = error_of(collect_files, folder)
    assert text.startswith("pipe in ") and "not a regular file (a named pipe)" in text


def test_broken_symlink_in_folder(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    (folder / "gone.safetensors").symlink_to(tmp_path / "nowhere")
    text = error_of(collect_files, folder)
    assert text.startswith("gone.safetensors in ") and "broken symbolic link" in text


def test_unreadable_file(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    secret = folder / "model.safetensors"
    secret.chmod(0)
    try:
        try:
            secret.open("rb").close()
            readable = True  # root reads anything: the check can't be made here
        except PermissionError:
            readable = False
        if readable:
            pytest.skip("running as a user who can read a mode-000 file")
        text = error_of(collect_files, folder)
        assert text.startswith("Cannot read model.safetensors: permission denied")
    finally:
        secret.chmod(0o644)


def test_permission_denied_even_as_root(tmp_path: Path, monkeypatch):
    # Root reads mode-000 files, so make open() refuse the way it would for a normal user.
    import builtins

    folder = make_model_folder(tmp_path / "m", shards=1)
    denied = folder / "tokenizer.json"

    def refusing_open(file, *args, **kwargs):
        if Path(file) == denied:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", refusing_open)
    text = error_of(inspect_source, folder)
    assert text.startswith("Cannot read tokenizer.json: permission denied. Make it readable")


def test_corrupted_bytes_never_escape_as_raw_exceptions(tmp_path: Path):
    """Flip random bytes of valid headers: the result is a WeightsInfo or a ValidationError."""
    rng = random.Random(42)
    sources = [
        gguf_by_hand(tmp_path / "a.gguf"),
        onnx_by_hand(tmp_path / "a.onnx"),
        write_safetensors(tmp_path / "a.safetensors", {"a": ("F16", (8, 4)), "b": ("F32", (5,))}),
        torch_zip_by_hand(tmp_path / "a.bin"),
    ]
    for source in sources:
        raw = source.read_bytes()
        target = tmp_path / f"mutated{source.suffix}"
        for _ in range(300):
            mutated = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                mutated[rng.randrange(min(len(raw), 400))] = rng.randrange(256)
            target.write_bytes(mutated)
            try:
                info = inspect_source(target)
            except ValidationError as exc:
                assert "\n" not in str(exc)
            else:
                json.dumps(info.details)


def test_html_download_named_like_weights(tmp_path: Path):
    folder = make_model_folder(tmp_path / "m", shards=1)
    (folder / "model.safetensors").write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    text = error_of(inspect_source, folder)
    assert text.startswith("model.safetensors is named like a safetensors file")
    assert "is an HTML page, not weights (a failed download?)" in text


def test_detect_format_on_a_folder(tmp_path: Path):
    assert "is a folder" in error_of(detect_format, tmp_path)
