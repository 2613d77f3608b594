"""A local file or folder as an upload's source: its files, checked before anything else.

- Which files: the file itself, or every regular file below a folder. Hidden files and folders
  (.git, .cache, ...) and __pycache__ are skipped; symlinked files are followed (a Hugging Face
  cache snapshot is all symlinks).
- A symbolic link whose target lies outside the source folder would upload a file from
  elsewhere (a stray `ln -s ~/.ssh/id_rsa`, or a folder laid out by someone else): refused
  unless the user says --follow-symlinks. A Hugging Face cache snapshot is such a folder (its
  files link to ../../blobs). Links inside the folder are fine. Either way the plan shows
  every link's target. Symlinked folders are followed only with --follow-symlinks (files
  below them count as links); without it they are left out and named in the plan and the
  result.
- A file name becomes a blob name and is printed in plans, tables and errors: control
  characters (which can rewrite a terminal), bytes that are not UTF-8 and whatever storage's
  naming rules forbid or change (a backslash, a part ending in '.', too long, the name of the
  older uploads' manifest: `rules.blob_name_problem`) are refused, the name shown escaped.
- A file changing under the reader: its size and mtime are compared with the listing when it is
  opened, and size, mtime, ctime and inode again after its last byte is read (`check_unchanged`,
  AzCopy's "source modified during transfer"), so a file rewritten meanwhile fails, named,
  rather than being stored as a mix of bytes that never existed together.

Its files are `records.WeightFile`: a `SourceFile`'s relative path and size, plus where the file
is and its mtime (the identity a resumed upload checks). Nothing is declared (no digest: it is
computed while uploading) and nothing is copied server side (`copy_url` is None).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from ..errors import UploadError, ValidationError
from ..records import WeightFile
from ..rules import blob_name_problem
from ..weights.common import FIX_ACCESS, reason
from ..weights.files import WEIGHT_SUFFIXES
from ..wording import escaped

_SKIP_NAMES = {"__pycache__"}


class LocalSource:
    """A weights file or a model's folder on this machine (see the module docstring)."""

    kind = "local"

    def __init__(self, path: str | os.PathLike[str], *, follow_symlinks: bool = False) -> None:
        self.root = absolute(path)
        self.display = str(self.root)
        self.follow_symlinks = follow_symlinks
        self.skipped_folders: list[str] = []  # symlinked folders left out ("x/")
        self.links: dict[str, str] = {}  # relative path -> the file a link leads to
        self._files: tuple[WeightFile, ...] | None = None

    def __repr__(self) -> str:
        return f"LocalSource({self.display!r})"

    def __str__(self) -> str:
        return self.display

    @property
    def folder(self) -> bool:
        return self.root.is_dir()

    def files(self) -> tuple[WeightFile, ...]:
        """Every file to upload, checked (names, links); listed once, on first call."""
        if self._files is None:
            skipped: list[str] = []
            files = collect_files(
                self.root, follow_symlinks=self.follow_symlinks, skipped_folders=skipped
            )
            self.links = check_files(self.root, files, follow_symlinks=self.follow_symlinks)
            self.skipped_folders = skipped
            self._files = files
        return self._files

    def open(self, file: WeightFile) -> BinaryIO:
        """The file, open for reading; refused when it is not the file that was listed."""
        handle = open(file.path, "rb")  # noqa: SIM115 - the caller closes it
        try:
            st = os.fstat(handle.fileno())
            if st.st_size != file.size or st.st_mtime_ns != file.mtime_ns:
                raise UploadError(f"{file.relative} changed since it was listed; run again.")
        except BaseException:
            handle.close()
            raise
        handle.identity = _identity(st)  # type: ignore[attr-defined]
        return handle

    def check_unchanged(self, file: WeightFile, reader: BinaryIO) -> None:
        """Refuse a file that changed while `reader` read it (in place, or replaced at its
        path)."""
        try:
            now = _identity(os.stat(file.path))
        except OSError:
            now = None
        opened = reader.identity  # type: ignore[attr-defined]
        if _identity(os.fstat(reader.fileno())) != opened or now != opened:
            raise UploadError(
                f"{file.relative} changed while it was read (source modified during transfer): "
                "nothing was registered. Run the same upload again once it no longer changes."
            )

    def copy_url(self, file: WeightFile) -> None:
        return None  # the bytes pass through this machine


def _identity(st: os.stat_result) -> tuple[int, ...]:
    """What changes when a file's bytes may have: a write moves mtime and ctime (ctime even
    when mtime is set back), a replacement the inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


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


def check_files(
    root: Path, files: tuple[WeightFile, ...], *, follow_symlinks: bool
) -> dict[str, str]:
    """Refuse hostile names and (unless `follow_symlinks`) links leading out of the folder;
    the links found: relative path -> the file they lead to."""
    for file in files:
        why = blob_name_problem(file.relative)
        if why:
            raise ValidationError(
                f"The file name '{escaped(file.relative)}' {why}: rename it (or move it out of "
                "the folder), then upload again."
            )
    if not root.is_dir():
        return {}  # a single file: the user named it, link or not
    inside = os.path.realpath(root)
    links: dict[str, str] = {}
    outside: list[str] = []
    for file in files:
        # A link, or a file reached through a symlinked folder (followed when asked): either
        # way it is not where its name says, and the same rules hold.
        target = os.path.realpath(file.path)
        if target == os.path.join(inside, *file.relative.split("/")):
            continue
        links[file.relative] = target
        if os.path.commonpath([inside, target]) != inside:
            outside.append(file.relative)
    if outside and not follow_symlinks:
        first = outside[0]
        more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
        raise ValidationError(
            f"{escaped(first)}{more} is a symbolic link to {escaped(links[first])}, outside "
            f"{escaped(str(root))}: pass --follow-symlinks to upload what the links point at "
            "(a Hugging Face cache snapshot is laid out so), or copy the files into the folder."
        )
    return links
