"""Small, deterministic model files for tests, tutorials and notebooks (standard library only).

    from azmodels_magic.sample_weights import make_model_folder, write_gguf, write_safetensors

    write_safetensors("tiny.safetensors", {"w": ("F16", (4, 8)), "b": ("F32", (8,))})
    write_gguf("tiny.gguf")                      # a small llama-like Q4_K_M GGUF v3
    make_model_folder("tiny-llama", shards=2)    # config.json, tokenizer.json, 2 shards + index

Tensor bytes are pseudo-random (`random.Random(seed)`), so the same arguments always give the same
bytes (and checksums). The files are real enough for `azmodels_magic.weights` and for the upload
path; they are not models anything could run.
"""

from __future__ import annotations

import json
import math
import random
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .weights import SAFETENSORS_SIZES

__all__ = [
    "DEFAULT_GGUF_TENSORS",
    "llama_tensors",
    "make_model_folder",
    "write_gguf",
    "write_safetensors",
]

_CHUNK = 1 << 20  # write random bytes a MiB at a time, so big test files need little memory

# safetensors dtype -> bytes per element: the table the inspector checks against
_ST_SIZES = SAFETENSORS_SIZES
_TORCH_DTYPES = {"F16": "float16", "BF16": "bfloat16", "F32": "float32"}

# ggml type name -> (type id, elements per block, bytes per block)
_GGML = {
    "F32": (0, 1, 4),
    "F16": (1, 1, 2),
    "Q4_0": (2, 32, 18),
    "Q4_1": (3, 32, 20),
    "Q5_0": (6, 32, 22),
    "Q5_1": (7, 32, 24),
    "Q8_0": (8, 32, 34),
    "Q2_K": (10, 256, 84),
    "Q3_K": (11, 256, 110),
    "Q4_K": (12, 256, 144),
    "Q5_K": (13, 256, 176),
    "Q6_K": (14, 256, 210),
    "BF16": (30, 1, 2),
}

#: The tensors `write_gguf` writes by default: name -> (ggml type, dims in GGUF order, ne0 first).
DEFAULT_GGUF_TENSORS: dict[str, tuple[str, tuple[int, ...]]] = {
    "token_embd.weight": ("Q4_K", (256, 64)),
    "blk.0.attn_norm.weight": ("F32", (256,)),
    "blk.0.attn_q.weight": ("Q4_K", (256, 256)),
    "blk.0.ffn_down.weight": ("Q6_K", (256, 256)),
    "output_norm.weight": ("F32", (256,)),
}


def write_safetensors(
    path: str | Path,
    tensors: Mapping[str, tuple[str, tuple[int, ...]]],
    *,
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write a safetensors file and return its path.

    `tensors` maps a name to (dtype, shape), e.g. {"lm_head.weight": ("F16", (128, 64))}, with
    dtype a safetensors name (F16, BF16, F32, I64, U8, ...). `metadata` becomes "__metadata__"
    (values are turned into strings, as the format requires). Tensors are laid out in the order
    given; their bytes come from random.Random(seed).
    """
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, (dtype, shape) in tensors.items():
        if dtype not in _ST_SIZES:
            raise ValueError(f"unknown safetensors dtype {dtype!r}; use one of {sorted(_ST_SIZES)}")
        nbytes = math.prod(shape) * _ST_SIZES[dtype]
        header[name] = {
            "dtype": dtype,
            "shape": list(shape),
            "data_offsets": [offset, offset + nbytes],
        }
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # like the safetensors library: tensor data starts 8-aligned
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(raw)))
        fh.write(raw)
        _write_random(fh, offset, random.Random(seed))
    return path


def write_gguf(
    path: str | Path,
    *,
    architecture: str = "llama",
    file_type: int | None = 15,
    context_length: int | None = 4096,
    tensors: Mapping[str, tuple[str, tuple[int, ...]]] | None = None,
    name: str = "tiny-llama",
    metadata: Mapping[str, Any] | None = None,
    tokens: Iterable[str] = ("<unk>", "<s>", "</s>", "hello", "world"),
    version: int = 3,
    alignment: int = 32,
    seed: int = 0,
) -> Path:
    """Write a GGUF (v3 by default) file and return its path.

    Metadata: general.architecture, general.name, general.file_type (15 = MOSTLY_Q4_K_M; None
    leaves it out), "{architecture}.context_length" (None leaves it out), tokenizer.ggml.tokens
    (a string array) and tokenizer.ggml.scores, plus `metadata` (str -> string, bool -> bool,
    int -> uint32 or int64, float -> float32, list -> array of the first element's type).
    `tensors` maps a name to (ggml type, dims) with dims in GGUF order (ne0 first; quantized K
    types need ne0 to be a multiple of 256); the default is DEFAULT_GGUF_TENSORS.
    """
    tensors = DEFAULT_GGUF_TENSORS if tensors is None else tensors
    tokens = list(tokens)
    kv: dict[str, Any] = {"general.architecture": architecture, "general.name": name}
    if file_type is not None:
        kv["general.file_type"] = file_type
    if context_length is not None:
        kv[f"{architecture}.context_length"] = context_length
    if alignment != 32:
        kv["general.alignment"] = alignment
    kv["tokenizer.ggml.model"] = "llama"
    kv["tokenizer.ggml.tokens"] = tokens
    kv["tokenizer.ggml.scores"] = [float(-i) for i in range(len(tokens))]
    kv.update(metadata or {})

    out = bytearray(b"GGUF")
    out += struct.pack("<IQQ", version, len(tensors), len(kv))
    for key, value in kv.items():
        out += _gguf_string(key) + _gguf_value(value)
    offsets, offset = [], 0
    for tensor_name, (type_name, dims) in tensors.items():
        type_id, block, block_bytes = _GGML[type_name]
        count = math.prod(dims)
        if count % block:
            raise ValueError(f"{tensor_name}: {type_name} needs a multiple of {block} elements")
        out += _gguf_string(tensor_name) + struct.pack("<I", len(dims))
        out += struct.pack(f"<{len(dims)}Q", *dims) + struct.pack("<IQ", type_id, offset)
        nbytes = count // block * block_bytes
        offsets.append(nbytes)
        offset += nbytes + (-nbytes % alignment)  # each tensor starts aligned
    out += b"\0" * (-len(out) % alignment)  # the data section starts aligned

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(path, "wb") as fh:
        fh.write(out)
        for nbytes in offsets:
            _write_random(fh, nbytes, rng)
            fh.write(b"\0" * (-nbytes % alignment))
    return path


def llama_tensors(
    *, hidden_size: int = 64, num_hidden_layers: int = 2, vocab_size: int = 128, dtype: str = "F16"
) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The tensors of a tiny llama-like model, as `write_safetensors` takes them.

    Embeddings and lm_head (vocab x hidden), per layer q/k/v/o projections (hidden x hidden) and
    an input norm (hidden), and a final norm: 2*V*H + L*(4*H*H + H) + H parameters.
    """
    h = hidden_size
    tensors = {"model.embed_tokens.weight": (dtype, (vocab_size, h))}
    for layer in range(num_hidden_layers):
        prefix = f"model.layers.{layer}"
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            tensors[f"{prefix}.self_attn.{proj}.weight"] = (dtype, (h, h))
        tensors[f"{prefix}.input_layernorm.weight"] = (dtype, (h,))
    tensors["model.norm.weight"] = (dtype, (h,))
    tensors["lm_head.weight"] = (dtype, (vocab_size, h))
    return tensors


def make_model_folder(
    path: str | Path,
    *,
    shards: int = 2,
    architecture: str = "LlamaForCausalLM",
    model_type: str = "llama",
    hidden_size: int = 64,
    num_hidden_layers: int = 2,
    vocab_size: int = 128,
    dtype: str = "F16",
    seed: int = 0,
) -> Path:
    """A Hugging Face-style model folder and return its path.

    Writes config.json, tokenizer.json, tokenizer_config.json and the weights of
    `llama_tensors(...)`: model.safetensors when shards == 1, otherwise
    model-00001-of-0000N.safetensors ... plus model.safetensors.index.json. Shard i uses seed
    `seed + i`.
    """
    if shards < 1:
        raise ValueError("shards must be at least 1")
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = llama_tensors(
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        vocab_size=vocab_size,
        dtype=dtype,
    )
    names = list(tensors)
    per_shard = -(-len(names) // shards)
    weight_map: dict[str, str] = {}
    total = 0
    for i in range(shards):
        chunk = names[i * per_shard : (i + 1) * per_shard]
        file_name = (
            "model.safetensors" if shards == 1 else f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
        )
        write_safetensors(
            folder / file_name,
            {n: tensors[n] for n in chunk},
            seed=seed + i,
            metadata={"format": "pt"},
        )
        weight_map.update(dict.fromkeys(chunk, file_name))
        total += sum(math.prod(tensors[n][1]) * _ST_SIZES[dtype] for n in chunk)
    if shards > 1:
        index = {"metadata": {"total_size": total}, "weight_map": weight_map}
        _write_json(folder / "model.safetensors.index.json", index)
    _write_json(
        folder / "config.json",
        {
            "architectures": [architecture],
            "model_type": model_type,
            "hidden_size": hidden_size,
            "num_hidden_layers": num_hidden_layers,
            "num_attention_heads": max(1, hidden_size // 16),
            "vocab_size": vocab_size,
            "torch_dtype": _TORCH_DTYPES.get(dtype, "float32"),
        },
    )
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"tok{i}": i for i in range(3, vocab_size)})
    _write_json(
        folder / "tokenizer.json",
        {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": []}},
    )
    _write_json(
        folder / "tokenizer_config.json",
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"},
    )
    return folder


def _write_random(fh: Any, nbytes: int, rng: random.Random) -> None:
    while nbytes > 0:
        step = min(nbytes, _CHUNK)
        fh.write(rng.randbytes(step))
        nbytes -= step


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


def _gguf_string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _gguf_value(value: Any) -> bytes:
    """The type id and the encoded value of one GGUF metadata value."""
    kind, payload = _gguf_encode(value)
    return struct.pack("<I", kind) + payload


def _gguf_encode(value: Any) -> tuple[int, bytes]:
    if isinstance(value, bool):  # before int: bool is an int
        return 7, struct.pack("<?", value)
    if isinstance(value, int):
        if 0 <= value < 2**32:
            return 4, struct.pack("<I", value)
        return 11, struct.pack("<q", value)
    if isinstance(value, float):
        return 6, struct.pack("<f", value)
    if isinstance(value, str):
        return 8, _gguf_string(value)
    if isinstance(value, list | tuple):
        encoded = [_gguf_encode(v) for v in value]
        kind = encoded[0][0] if encoded else 4
        if any(k != kind for k, _ in encoded):
            raise ValueError("a GGUF array holds one type")
        return 9, struct.pack("<IQ", kind, len(encoded)) + b"".join(p for _, p in encoded)
    raise TypeError(f"no GGUF type for {type(value).__name__}")
