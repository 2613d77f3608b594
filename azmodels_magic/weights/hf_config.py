"""Hugging Face folders: what config.json says about the model, and shard indexes that must match.

These are small JSON files; one larger than MAX_JSON_BYTES is not a model config or index and is
left alone (uploaded as bytes). JSON nested deeper than the decoder's stack allows is malformed.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import ValidationError
from ..sources import Source, SourceFile
from .common import MAX_JSON_BYTES, reason

_CONFIG_KEYS = (
    "architectures",
    "model_type",
    "torch_dtype",
    "num_hidden_layers",
    "hidden_size",
    "vocab_size",
)


def check_indexes(source: Source, files: tuple[SourceFile, ...]) -> None:
    """A shard index (model.safetensors.index.json) must find every shard it names."""
    present = {wf.relative for wf in files}
    for wf in files:
        if not wf.relative.endswith(".index.json"):
            continue
        index = _load_json(source, wf)
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


def config_details(source: Source, files: tuple[SourceFile, ...]) -> dict[str, Any]:
    """architectures, model_type, torch_dtype and sizes from the folder's config.json."""
    config_file = next((wf for wf in files if wf.relative == "config.json"), None)
    if config_file is None:
        return {}
    config = _load_json(source, config_file)
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


def _load_json(source: Source, wf: SourceFile) -> Any:
    """The file's JSON, or None when it is too large to be a config or an index."""
    if wf.size > MAX_JSON_BYTES:
        return None
    try:
        with source.open(wf) as fh:
            return json.loads(fh.read().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise ValidationError(
            f"{wf.relative} is not valid JSON{where}: fix it or remove it from the folder."
        ) from None
    except RecursionError:
        raise ValidationError(
            f"{wf.relative} is malformed: its JSON nests too deeply. Fix it or remove it from "
            "the folder."
        ) from None
    except OSError as exc:
        raise ValidationError(f"Cannot read {wf.relative}: {reason(exc)}.") from None
