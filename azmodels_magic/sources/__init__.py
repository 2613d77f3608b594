"""Where an upload's bytes come from: one interface for a local file or folder and for remote
sources (an https URL, another blob, a model hub), so the upload path is written once and a new
source is one module.

A source lists its files with sizes (and what it declares about them), opens any of them for
reading (headers, hashing: a seekable binary reader, local or by ranged HTTP reads) and, when the
storage service can fetch the bytes itself, hands a URL for a server-side copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class SourceFile:
    """One file of a source, named as it will be below the model's folder in storage."""

    relative: str  # '/'-separated path inside the source; becomes the blob name's tail
    size: int  # bytes
    # The SHA-256 the source itself declares (a hub's LFS digest, blob metadata), lowercase hex;
    # None when nobody declared one (local files: their digest is computed while uploading).
    declared_sha256: str | None = None
    # What changes when the file changes (an ETag; locally size and mtime): reads and copies are
    # made conditional on it, so a source changed mid-upload is noticed, never mixed.
    version: str | None = None


class Source(Protocol):
    """An upload's source. Implementations: `sources.local` (this machine); remote ones add a
    module each."""

    kind: str  # "local", "url", "blob", "hub"
    display: str  # how messages name it: never holds a secret (no SAS query, no token)
    # A model's folder (a local folder, a container prefix, a hub repository), not one file:
    # a folder may hold configs and tokenizers next to the weights, and its JSON is checked.
    folder: bool

    def files(self) -> tuple[SourceFile, ...]:
        """Every file to upload, weights and the rest, sorted by relative path."""
        ...

    def open(self, file: SourceFile) -> BinaryIO:
        """A seekable binary reader of `file` (headers are read from it, digests computed)."""
        ...

    def check_unchanged(self, file: SourceFile, reader: BinaryIO) -> None:
        """Raise UploadError when `file` changed while `reader` (from `open`) read it: called
        after its last byte is read, before it may be committed (a source whose reads are
        conditional on `version` may have nothing left to check)."""
        ...

    def copy_url(self, file: SourceFile) -> str | None:
        """A URL the storage service can read `file` from for a server-side copy (Put Block From
        URL), or None when the bytes must pass through this machine (a local file)."""
        ...
