"""The server-side half of an upload from a remote source (issue 19): a file storage can read
itself (its source hands a `copy_url`) is copied with Put Block From URL (`clients.copy.BlobCopy`),
so none of its bytes passes through this machine; the rest (a hub file that needs the hub's token)
go through `BlobTransfer` as local files do.

What is verified is said plainly. Sizes always (the listing's, then storage's). A copied file's
SHA-256 is the one its source declares (a hub's LFS digest, a blob's `sha256` metadata), recorded
on the blob with `sha256_basis` "declared"; a file nobody declared a digest for has none recorded
(never one made up). `verify_stored` (`upload --verify`) streams the stored bytes back through
SHA-256, a block at a time, checks them against a declared digest, and records the computed one
("computed").
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..clients.blob import BlobTransfer, FileDigest, UploadResult
from ..clients.copy import BlobCopy
from ..clients.storage import open_container, storage_error
from ..errors import AzModelsError, UploadError
from ..wording import escaped

if TYPE_CHECKING:
    from ..http.backoff import TransportSettings
    from ..progress_protocol import TransferProgress
    from ..sources import Source, SourceFile
    from ..uploadstate import UploadJournal

DECLARED, COMPUTED = "declared", "computed"


def copied_files(source: Source, files: Sequence[SourceFile]) -> list[SourceFile]:
    """The files storage copies itself (their source hands a URL for it)."""
    return [f for f in files if source.copy_url(f) is not None]


def copy_metadata(file: SourceFile) -> dict[str, str]:
    """What a copied blob records: its size and, when its source declares one, the SHA-256 it
    declares, said to be declared."""
    metadata = {"size": str(file.size)}
    if file.declared_sha256:
        metadata.update(sha256=file.declared_sha256, sha256_basis=DECLARED)
    return metadata


class _OnceSkipped:
    """TransferProgress wants skipped bytes once, before any update: each copy tells its own, so
    the first copy's go to `skip` and later ones count as done."""

    def __init__(self, progress: TransferProgress | None) -> None:
        self._progress = progress
        self._updated = False
        self._lock = threading.Lock()

    def skip(self, nbytes: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            if self._updated:
                self._progress.update(nbytes)
            else:
                self._progress.skip(nbytes)

    def update(self, nbytes: int) -> None:
        if self._progress is None:
            return
        with self._lock:
            self._updated = True
            self._progress.update(nbytes)


def copy_transfer(
    source: Source,
    files: Sequence[SourceFile],
    sas_url: str,
    *,
    transfer: BlobTransfer,
    block_size: int,
    journal: UploadJournal,
    progress: TransferProgress | None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[UploadResult, dict[str, str]]:
    """Every file of a remote source into the slot at `sas_url`: copied server side where
    storage can read it, else sent through `transfer`. Returns the result (a file's sha256 ""
    when nobody declared or computed one) and each file's digest basis (relative -> "declared",
    "computed" or "" for none).

    Resumable: a copy's block ids name its source's identity (ETag or declared digest), so a
    re-run stages only the blocks storage does not hold yet."""
    copied = {f.relative for f in copied_files(source, files)}
    through = [f for f in files if f.relative not in copied]
    counter = _OnceSkipped(progress)
    if progress is not None:
        progress.start(sum(f.size for f in files))
    if journal.status != "uploading":
        journal.set_status("uploading")
    started = time.monotonic()
    copier = BlobCopy(
        block_size=block_size, max_workers=transfer.max_workers, settings=transfer.settings
    )
    authorization = getattr(source, "copy_authorization", lambda: None)()
    etag_of = getattr(source, "copy_etag", None)
    digests: list[FileDigest] = []
    basis: dict[str, str] = {}
    sent = skipped = 0
    for file in files:
        if file.relative not in copied:
            continue
        result = copier.copy(
            sas_url,
            file.relative,
            lambda file=file: source.copy_url(file),
            file.size,
            source_etag=etag_of(file) if etag_of else file.version,
            identity=file.version or file.declared_sha256,
            source_authorization=authorization,
            metadata=copy_metadata(file),
            shown=escaped(file.relative),
            on_progress=counter.update,
            on_skip=counter.skip,
            should_stop=should_stop,
        )
        skipped += result.bytes_reused
        if file.declared_sha256:  # what a re-run that finds it registered compares
            journal.mark_committed(file.relative, file.declared_sha256)
        digests.append(
            FileDigest(file.relative, file.size, file.declared_sha256 or "", result.blocks)
        )
        basis[file.relative] = DECLARED if file.declared_sha256 else ""
    if through:
        # Through this machine (no journal: these are the few small files a hub serves itself
        # behind its token; a re-run sends them again).
        result = transfer.upload(
            sas_url, source, through, on_progress=counter.update, on_skip=counter.skip
        )
        sent += result.bytes_sent
        digests += result.files
        for done in result.files:
            journal.mark_committed(done.relative, done.sha256)
        basis.update({f.relative: COMPUTED for f in result.files})
    journal.set_status("uploaded")
    order = {f.relative: i for i, f in enumerate(files)}
    digests.sort(key=lambda d: order[d.relative])
    return (
        UploadResult(digests, sent, skipped, max(time.monotonic() - started, 0.0)),
        basis,
    )


def verify_stored(
    sas_url: str,
    files: Sequence[SourceFile],
    digests: dict[str, str],
    settings: TransportSettings,
) -> dict[str, str]:
    """Stream each stored file back through SHA-256 (a block at a time: memory stays bounded),
    check it against the digest known (declared or computed while sending), and record the
    computed one on the blob. Returns relative -> computed SHA-256; a mismatch is one line."""
    computed: dict[str, str] = {}
    container = open_container(sas_url, settings=settings)
    try:
        for file in files:
            blob = container.get_blob_client(file.relative)
            digest = hashlib.sha256()
            size = 0
            for chunk in blob.download_blob(max_concurrency=1).chunks():
                digest.update(chunk)
                size += len(chunk)
            found = digest.hexdigest()
            expected = digests.get(file.relative) or None
            if size != file.size or (expected and found != expected):
                what = "size" if size != file.size else "SHA-256"
                raise UploadError(
                    f"Storage holds {escaped(file.relative)} with another {what} than was "
                    "declared or computed for it: nothing was registered. Check the source, then "
                    "run the upload again."
                )
            blob.set_blob_metadata(
                {"sha256": found, "size": str(file.size), "sha256_basis": COMPUTED}
            )
            computed[file.relative] = found
    except AzModelsError:
        raise
    except Exception as error:
        raise storage_error(error, "verifying the stored files") from None
    finally:
        container.close()
    return computed
