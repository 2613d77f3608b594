"""The files of an upload source: the file itself, or every regular file below a folder."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from ..errors import ValidationError
from ..records import WeightFile
from .common import FIX_ACCESS, reason

# Extensions that only weights carry: a file named so whose bytes are not weights is an error even
# in a folder with other weights, rather than being uploaded as an "extra" and breaking the model.
STRONG_SUFFIXES = {".safetensors", ".gguf", ".onnx"}
# Extensions of files that are weights when present; an empty one means an unfinished download.
WEIGHT_SUFFIXES = STRONG_SUFFIXES | {".bin", ".pt", ".pth", ".ckpt"}
# Trainer checkpoints keep these torch.save files next to the weights; they are not weights.
AUXILIARY_PICKLE = re.compile(
    r"^(training_args\.bin|optimizer\.(pt|bin)|scheduler\.pt|scaler\.pt|rng_state(_\d+)?\.pth)$"
)
_SKIP_NAMES = {"__pycache__"}


def collect_files(
    source: str | Path,
    *,
    follow_symlinks: bool = False,
    skipped_folders: list[str] | None = None,
) -> tuple[WeightFile, ...]:
    """The files to upload for `source`: the file itself, or every regular file below a folder.

    Hidden files and folders (.git, .cache, ...) and __pycache__ are skipped; symlinked files are
    followed (a Hugging Face cache snapshot is all symlinks). Symlinked folders are followed
    with `follow_symlinks` (a link back to a folder it lies in is refused: a loop), else left
    out and named in `skipped_folders` ("x/"), so a plan can say so.
    """
    root = absolute(source)
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
        raise ValidationError(f"Cannot read {root}: {reason(exc)}. {FIX_ACCESS}") from None

    if stat.S_ISDIR(st.st_mode):
        files = _walk(root, follow_symlinks, skipped_folders)
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


def absolute(source: str | Path) -> Path:
    """`source` as an absolute path (~ expanded); an empty one is a ValidationError."""
    text = os.fspath(source)
    if not str(text).strip():
        raise ValidationError("--source is empty: give the path of a weights file or a folder.")
    return Path(os.path.abspath(os.path.expanduser(text)))


def _walk(
    root: Path, follow_symlinks: bool = False, skipped_folders: list[str] | None = None
) -> list[WeightFile]:
    found: list[WeightFile] = []
    # Each folder with the identities (device, inode) of the folders it lies in: a followed
    # link to one of them would walk forever.
    pending: list[tuple[Path, frozenset[tuple[int, int]]]] = [(root, frozenset({_ident(root)}))]
    while pending:
        folder, above = pending.pop()
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError as exc:
            where = folder.relative_to(root).as_posix() + "/" if folder != root else str(root)
            raise ValidationError(f"Cannot list {where}: {reason(exc)}. {FIX_ACCESS}") from None
        for entry in entries:
            if entry.name.startswith(".") or entry.name in _SKIP_NAMES:
                continue
            path = Path(entry.path)
            relative = path.relative_to(root).as_posix()
            if entry.is_dir(follow_symlinks=False):
                pending.append((path, above | {_ident(path)}))
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
                    f"Cannot read {relative}: {reason(exc)}. {FIX_ACCESS}"
                ) from None
            if stat.S_ISDIR(st.st_mode):  # a symlinked folder
                if not follow_symlinks:
                    if skipped_folders is not None:
                        skipped_folders.append(relative + "/")
                    continue
                ident = (st.st_dev, st.st_ino)
                if ident in above:
                    raise ValidationError(
                        f"{relative}/ in {root} is a symbolic link to a folder it lies in (a "
                        "loop): remove the link, or upload without --follow-symlinks."
                    )
                pending.append((path, above | {ident}))
                continue
            if not stat.S_ISREG(st.st_mode):
                raise ValidationError(
                    f"{relative} in {root} is not a regular file ({_kind(st.st_mode)}): remove it "
                    "from the folder, then upload again."
                )
            _check_readable(path, relative)
            if st.st_size == 0 and path.suffix.lower() in WEIGHT_SUFFIXES:
                raise ValidationError(_empty_message(relative))
            found.append(
                WeightFile(path=path, relative=relative, size=st.st_size, mtime_ns=st.st_mtime_ns)
            )
    return found


def _ident(folder: Path) -> tuple[int, int]:
    st = os.stat(folder)
    return st.st_dev, st.st_ino


def _check_readable(path: Path, shown: str) -> None:
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ValidationError(f"Cannot read {shown}: {reason(exc)}. {FIX_ACCESS}") from None


def _empty_message(shown: str) -> str:
    return (
        f"{shown} is empty (0 bytes): its download or copy did not finish. Get the file again, "
        "then upload."
    )


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"
