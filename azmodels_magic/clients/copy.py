"""BlobCopy: a server-side copy of one remote file into a blob, with Put Block From URL.

Storage fetches every byte itself: the blob is staged as blocks, each a `stage_block_from_url`
of one range of the source (in parallel, on `max_workers` threads), then the block list is
committed in order. No weight byte passes through this machine.

- Every block is conditional on the source's ETag (x-ms-source-if-match), so a source that
  changes during the copy fails the next block (SourceConditionNotMet), never mixes versions.
- Resumable. Block ids name the source's identity (its ETag, or a content digest it declares),
  the block size and the block's index; a re-run lists the blocks the blob holds
  (`get_block_list("all")`: uncommitted ones, and committed ones should a kill have come between
  the commit and its record) and stages only the missing ones. A block of another source
  version has another id, so it is never reused. Without any identity nothing is reused.
- A pre-signed source URL may expire during a long copy: the source may be given as a callable,
  asked for the URL before each block (a hub source re-resolves it when it is old).
- The block size is `clients.blob`'s (`file_blocks`): the same 50,000-block and 4,000 MiB limits,
  and a file over them is refused before anything is staged.
- Retries and timeouts are the planes' (`TransportSettings`, through `open_container`).
- Secrets: the destination's SAS and the source URL (pre-signed, a SAS) stay in local variables;
  failures are one redacted line.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import AzModelsError, UploadError
from ..http.backoff import TransportSettings
from .blob import DEFAULT_BLOCK_SIZE, default_workers, file_blocks
from .storage import open_container, storage_error

SOURCE_CHANGED = "SourceChanged"  # the code of the error a changed source fails a copy with
# The service checks a source block of up to this size (Put Block From URL's own limit).
MAX_COPY_BLOCK = 4000 * 1024 * 1024


@dataclass(frozen=True)
class CopyResult:
    blob: str
    size: int
    blocks: int  # committed blocks (0: an empty file, committed as an empty block list)
    blocks_staged: int  # staged by this run
    blocks_reused: int  # already staged by an earlier run, not fetched again
    bytes_copied: int  # fetched by storage in this run
    bytes_reused: int


def block_ids(identity: str | None, size: int, block_size: int, blocks: int) -> list[str]:
    """Every block id of the copy, fixed width: a digest of (identity, size, block size) and the
    index. No identity: a fresh prefix each run, so nothing of another run is reused."""
    import secrets

    key = f"{identity}|{size}|{block_size}" if identity else secrets.token_hex(16)
    prefix = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
    return [f"{prefix}-{i:08d}" for i in range(blocks)]


class BlobCopy:
    """Copies remote files into a container (destination: a container SAS URL)."""

    def __init__(
        self,
        *,
        block_size: int | None = None,
        max_workers: int | None = None,
        settings: TransportSettings | None = None,
    ) -> None:
        self.max_workers = max(1, max_workers or default_workers())
        self.block_size = block_size or 2 * DEFAULT_BLOCK_SIZE
        if not 0 < self.block_size <= MAX_COPY_BLOCK:
            raise ValueError(f"block size must be between 1 byte and {MAX_COPY_BLOCK} bytes")
        self.settings = settings or TransportSettings()

    def __repr__(self) -> str:
        return f"BlobCopy(block_size={self.block_size}, max_workers={self.max_workers})"

    def plan(self, size: int) -> tuple[int, int]:
        """(block size, blocks) for a file of `size` bytes: what `--dry-run` shows."""
        block, count = file_blocks(size, self.block_size)
        return block, count if size else 0

    def copy(
        self,
        sas_url: str,
        blob_name: str,
        source_url: str | Callable[[], str],
        size: int,
        *,
        source_etag: str | None = None,
        identity: str | None = None,
        source_authorization: str | None = None,
        metadata: dict[str, str] | None = None,
        shown: str | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_skip: Callable[[int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> CopyResult:
        """Copy `size` bytes at `source_url` (or at what it returns, asked per block) into
        `blob_name` of the container at `sas_url`.

        `source_etag`: every block is conditional on it. `identity`: what names the source's
        content for a resume (default: the ETag). `source_authorization`: "Bearer ..." when
        storage must present the user's Entra token to read an Azure source. `metadata`: set on
        the blob at commit. `on_skip(bytes)` once, before any progress, for the bytes an
        earlier run staged; `on_progress(delta)` per staged block, serialised. `should_stop`:
        asked before each block; when true, the copy stops uncommitted (resumable). Raises
        UploadError, one redacted line.
        """
        shown = shown or blob_name
        block_size, count = file_blocks(size, self.block_size) if size else (self.block_size, 0)
        if size and count == 0:
            count = 1  # a file of up to one block: one block all the same (no Put Blob here)
        ids = block_ids(identity or source_etag, size, block_size, count)
        lengths = [min(block_size, size - i * block_size) for i in range(count)]
        conditions = _source_conditions(source_etag)

        container = open_container(sas_url, settings=self.settings)
        try:
            blob = container.get_blob_client(blob_name)
            present = self._staged(blob, identity or source_etag)
            todo = [i for i in range(count) if present.get(ids[i]) != lengths[i]]
            reused = count - len(todo)
            reused_bytes = sum(lengths) - sum(lengths[i] for i in todo)
            if on_skip and reused_bytes:
                on_skip(reused_bytes)
            copied = self._stage(
                blob,
                source_url,
                ids,
                lengths,
                block_size,
                todo,
                conditions,
                source_authorization,
                on_progress,
                should_stop,
            )
            if should_stop and should_stop():
                raise UploadError(f"The copy of {shown} was stopped; run it again to resume.")
            blob.commit_block_list(ids, metadata=metadata)
        except AzModelsError:
            raise
        except Exception as error:
            raise _copy_error(error, shown) from None
        finally:
            container.close()
        return CopyResult(blob_name, size, count, len(todo), reused, copied, reused_bytes)

    @staticmethod
    def _staged(blob: Any, identity: str | None) -> dict[str, int]:
        """id -> size of the blocks the blob holds (none reused without an identity)."""
        from azure.core.exceptions import ResourceNotFoundError

        if not identity:
            return {}
        try:
            committed, uncommitted = blob.get_block_list("all")
        except ResourceNotFoundError:
            return {}
        # The commit takes the uncommitted block of an id over a committed one ("latest").
        present = {b.id: b.size for b in committed}
        present.update({b.id: b.size for b in uncommitted})
        return present

    def _stage(
        self,
        blob: Any,
        source_url: str | Callable[[], str],
        ids: list[str],
        lengths: list[int],
        block_size: int,
        todo: list[int],
        conditions: Any,
        source_authorization: str | None,
        on_progress: Callable[[int], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> int:
        lock = threading.Lock()
        copied = [0]
        failed = threading.Event()

        def stage(index: int) -> None:
            if failed.is_set() or (should_stop and should_stop()):
                return
            options: dict[str, Any] = {}
            if conditions is not None:
                options["source_modified_access_conditions"] = conditions
            if source_authorization:
                options["source_authorization"] = source_authorization
            try:
                blob.stage_block_from_url(
                    ids[index],
                    source_url() if callable(source_url) else source_url,
                    source_offset=index * block_size,
                    source_length=lengths[index],
                    **options,
                )
            except BaseException:
                failed.set()
                raise
            with lock:
                copied[0] += lengths[index]
                if on_progress:
                    on_progress(lengths[index])

        with ThreadPoolExecutor(self.max_workers, thread_name_prefix="azmodels-copy") as pool:
            futures = [pool.submit(stage, i) for i in todo]
            try:
                for future in futures:
                    future.result()  # the first failure, in block order
            except BaseException:  # Ctrl-C too: the blocks not started yet are not staged
                failed.set()
                raise
        return copied[0]


def _source_conditions(etag: str | None) -> Any:
    """x-ms-source-if-match for each block. `stage_block_from_url` passes its keywords to the
    generated operation, whose parameter group this is (the public signature names none)."""
    if not etag:
        return None
    from azure.storage.blob._generated.models import SourceModifiedAccessConditions

    return SourceModifiedAccessConditions(source_if_match=etag)


def _copy_error(error: BaseException, shown: str) -> UploadError:
    """One line for a failed copy, naming the source's side when storage could not read it."""
    code = getattr(error, "error_code", None)
    status = getattr(error, "status_code", None)
    if code == "SourceConditionNotMet" or (status == 412 and code is None):
        return UploadError(
            f"The source of {shown} changed during the copy (its ETag no longer matches): "
            "nothing was registered. Run the same upload again to copy the new version.",
            code=SOURCE_CHANGED,
        )
    if code == "CannotVerifyCopySource":
        if status == 404:
            return UploadError(
                f"Storage could not find the source of {shown} (404): it was removed or the "
                "address is wrong."
            )
        if status in (401, 403):
            return UploadError(
                f"Storage was refused reading the source of {shown} ({status}): its link or "
                "SAS expired or lacks read permission. Get a fresh one and run again (staged "
                "blocks are kept)."
            )
        return UploadError(
            f"Storage could not read the source of {shown} ({status}); run again to resume."
        )
    return storage_error(error, "the copy", f" of {shown}")
