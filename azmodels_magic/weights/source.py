"""An upload source as a whole: its files, its one weights format, what the headers say.

Only weight files' headers are read; the other files (tokenizers, configs, READMEs) are uploaded
as bytes, apart from config.json and shard indexes, which are small JSON and checked.
"""

from __future__ import annotations

from pathlib import Path

from .. import rules
from ..errors import ValidationError
from ..records import WeightFile, WeightsInfo
from . import gguf, hf_config, onnx, pytorch, safetensors
from .common import Malformed, reason
from .detect import probe
from .files import AUXILIARY_PICKLE, STRONG_SUFFIXES, absolute, collect_files

SUPPORTED_FORMATS = rules.FORMATS  # the one list the grammar, forms and API check too
_FORMATS_TEXT = ", ".join(SUPPORTED_FORMATS)

# format -> (read one file's header into details, merge the details of several files)
_PARSERS = {
    "safetensors": (safetensors.inspect, safetensors.merge),
    "gguf": (gguf.inspect, gguf.merge),
    "onnx": (onnx.inspect, onnx.merge),
    "pytorch": (pytorch.inspect, pytorch.merge),
}


def inspect_source(
    source: str | Path,
    *,
    declared_format: str | None = None,
    files: tuple[WeightFile, ...] | None = None,
) -> WeightsInfo:
    """Find the files of `source`, their weights format, and what the headers say.

    A folder may hold config.json, tokenizer files and the like next to the weights; they are
    uploaded too. `declared_format` (from --format) must agree with the bytes. `files` is
    `collect_files(source)` when the caller has it already (a folder is then walked once).
    """
    declared = None
    if declared_format is not None:
        declared = declared_format.strip().lower()
        if declared not in SUPPORTED_FORMATS:
            raise ValidationError(
                f"--format {declared_format} is not supported: use one of {_FORMATS_TEXT}, or "
                "leave --format out to detect it from the file."
            )
    root = absolute(source)
    if files is None:
        files = collect_files(root)
    is_folder = root.is_dir()

    by_format: dict[str, list[WeightFile]] = {}
    hints: list[str] = []
    for wf in files:
        found = probe(wf.path, wf.relative)
        if found.format is not None:
            if is_folder and found.format == "pytorch" and AUXILIARY_PICKLE.match(wf.path.name):
                continue  # trainer state next to the weights, uploaded as an extra
            by_format.setdefault(found.format, []).append(wf)
            continue
        suffix = wf.path.suffix.lower()
        if found.damaged:
            raise ValidationError(f"{wf.relative} {found.problem}.")
        if is_folder and suffix in STRONG_SUFFIXES:
            # A misnamed or garbled weights file would otherwise be uploaded as an "extra".
            why = f" ({wf.path.name} {found.problem})" if found.problem else ""
            raise ValidationError(
                f"{wf.relative} is named like a {suffix[1:]} file, but its bytes are none of the "
                f"supported formats ({_FORMATS_TEXT}){why}. Replace it with the real file or "
                "remove it."
            )
        if found.problem:
            hints.append(f"{wf.relative} {found.problem}")

    if not by_format:
        raise ValidationError(_no_weights_message(root, files, is_folder, hints))
    if len(by_format) > 1:
        listed = "; ".join(f"{fmt} ({ws[0].relative})" for fmt, ws in sorted(by_format.items()))
        raise ValidationError(
            f"{root} mixes weight formats: {listed}. Keep one format in the folder (move the "
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
        hf_config.check_indexes(files)
    read_header, merge = _PARSERS[fmt]
    parts = []
    for wf in weights:
        try:
            parts.append(read_header(wf.path))
        except Malformed as exc:
            raise ValidationError(
                f"{wf.relative} {exc}. Download or export it again, then upload."
            ) from None
        except OSError as exc:
            raise ValidationError(f"Cannot read {wf.relative}: {reason(exc)}.") from None
    details = merge(parts)
    if is_folder:
        details.update(hf_config.config_details(files))
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
