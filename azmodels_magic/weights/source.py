"""An upload source as a whole: its files, its one weights format, what the headers say.

Only weight files' headers are read; the other files (tokenizers, configs, READMEs) are uploaded
as bytes, apart from config.json and shard indexes, which are small JSON and checked.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from .. import rules
from ..errors import ValidationError
from ..records import Source, SourceFile, WeightsInfo
from . import gguf, hf_config, onnx, pytorch, safetensors
from .common import FIX_ACCESS, Malformed, reason
from .detect import Probe, probe
from .files import AUXILIARY_PICKLE, STRONG_SUFFIXES

SUPPORTED_FORMATS = rules.FORMATS  # the one list the grammar, forms and API check too
_FORMATS_TEXT = ", ".join(SUPPORTED_FORMATS)

# format -> (read one file's header into details, merge the details of several files)
_PARSERS = {
    "safetensors": (safetensors.inspect, safetensors.merge),
    "gguf": (gguf.inspect, gguf.merge),
    "onnx": (onnx.inspect, onnx.merge),
    "pytorch": (pytorch.inspect, pytorch.merge),
}


def inspect_source(source: Source, *, declared_format: str | None = None) -> WeightsInfo:
    """Find the files of `source`, their weights format, and what the headers say: every byte
    read through `source.open` (a seekable reader), so a remote source is read the same way.

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
    files = source.files()
    is_folder = source.folder
    root = source.display

    by_format: dict[str, list[SourceFile]] = {}
    hints: list[str] = []
    for wf in files:
        found = _probe(source, wf)
        name = PurePosixPath(wf.relative).name
        if found.format is not None:
            if is_folder and found.format == "pytorch" and AUXILIARY_PICKLE.match(name):
                continue  # trainer state next to the weights, uploaded as an extra
            by_format.setdefault(found.format, []).append(wf)
            continue
        suffix = PurePosixPath(name).suffix.lower()
        if found.damaged:
            raise ValidationError(f"{wf.relative} {found.problem}.")
        if is_folder and suffix in STRONG_SUFFIXES:
            # A misnamed or garbled weights file would otherwise be uploaded as an "extra".
            why = f" ({name} {found.problem})" if found.problem else ""
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
        hf_config.check_indexes(source, files)
    read_header, merge = _PARSERS[fmt]
    parts = []
    for wf in weights:
        try:
            with source.open(wf) as reader:
                parts.append(read_header(reader, wf.size))
        except Malformed as exc:
            raise ValidationError(
                f"{wf.relative} {exc}. Download or export it again, then upload."
            ) from None
        except OSError as exc:
            raise ValidationError(f"Cannot read {wf.relative}: {reason(exc)}.") from None
    details = merge(parts)
    if is_folder:
        details.update(hf_config.config_details(source, files))
    return WeightsInfo(
        source=source,
        format=fmt,
        files=files,
        weight_files=tuple(wf.relative for wf in weights),
        total_size=sum(wf.size for wf in files),
        details=details,
    )


def _probe(source: Source, file: SourceFile) -> Probe:
    """What `file`'s first bytes say it is; an unreadable file is one line naming it."""
    try:
        with source.open(file) as reader:
            return probe(reader, file.size)
    except OSError as exc:
        raise ValidationError(f"Cannot read {file.relative}: {reason(exc)}. {FIX_ACCESS}") from None


def _no_weights_message(
    root: str, files: tuple[SourceFile, ...], is_folder: bool, hints: list[str]
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
