"""BlobTransfer: push model weights (often many GB) into an Azure Blob container through a SAS.

Design, and why:

- One pass over each file. A single reader (the calling thread) reads the file sequentially
  once, feeds every byte to SHA-256 in that same pass, and hands blocks to a pool of workers that
  `stage_block` them in parallel; the last one to finish commits the block list in order. The
  digest costs no second read, and the disk sees one sequential stream (the fastest pattern for
  both spinning disks and network file systems).
- Bounded memory. A budget of (workers + 2) x block size bytes gates every block the reader
  loads, and a worker gives its share back once the block is sent: at most that much is ever
  held (workers sending, two read ahead so no worker waits for the disk), whatever the file
  size.
- Block size 16 MiB with up to 4 workers, 8 MiB with more (`default_block_size`). Azure storage
  serves blocks above 4 MiB on its high-throughput path, per-request overhead (headers, auth, a
  round trip) is amortised over the block, and a failed block is cheap to retry; measured on
  Azurite, 16 MiB ingests 10-15% faster than 8 MiB, and the memory bound below stays < 100 MiB.
  50,000 blocks x 8 MiB covers 390 GiB; bigger files get the block size doubled until they fit
  (up to the service's 4,000 MiB per block).
- Workers min(8, 2 x CPUs). Uploads are bound by the network and the service, not the CPU, but
  each worker costs a connection and a block of memory: eight 8 MiB PUTs in flight fill a
  multi-Gbit link; more mostly adds memory and server-side throttling. The HTTP connection pool
  is sized to the workers so no request waits for a socket.
- Small files (up to one block) go up as a single Put Blob, still hashed in the reading pass.
  Their cost is the round trip, not the bytes: with many of them, up to 4 x the workers (at most
  32) send at once, and since the budget counts bytes, hundreds of small files fit where one
  block would. A folder of thousands of small files takes seconds, not minutes.
- Resume. With a journal (uploadstate.journal), each staged block is recorded; a re-run asks
  the service which blocks it really holds (`get_block_list("all")`) and skips only blocks both
  journaled and present with the right size. Skipped blocks are still read to feed SHA-256:
  reading is cheap, sending is not, and the digest is always of the whole file. Each one is
  also compared with the digest the journal recorded when it was staged, and sent again when
  it differs (a source changed in place with the same size and mtime: the SHA-256 must describe
  the stored bytes). Committed files are checked by blob size and the sha256 metadata we set at
  commit, and re-read: their recorded SHA-256 must still be of the bytes there now, else the
  file is sent again.
- Every byte is read through the upload's `Source` (`sources`: a local file or folder now):
  `source.open(file)` gives the reader, and `source.check_unchanged` runs after a file's last
  byte is read, before it may be committed (locally: size, mtime, ctime and inode, AzCopy's
  "source modified during transfer"), so a file rewritten meanwhile fails, named, rather than
  being stored as a mix of bytes that never existed together. A file whose source hands a URL
  (`copy_url`) is not sent from here: the service stages its blocks from that URL itself (Put
  Block From URL: `clients.copy.BlobCopy`, driven by `services.copying`), so such a file given
  here is refused before anything is sent (`_stage_from_url`).
- Secrets. The SAS URL lives only in local variables of `upload`; it never becomes an attribute,
  a repr, a log line (azure-core's header logging goes to a disabled logger, urllib3's request
  lines are redacted) or journal text. Failures surface as one redacted `UploadError` line.
- Retries are azure-storage-blob's own (exponential, on 5xx, 408, 429 and connection errors).

Imports of azure-* are lazy so `%load_ext azmodels_magic` stays fast.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import AzModelsError, UploadError
from ..http.backoff import TransportSettings
from .storage import file_metadata, open_container, storage_error

if TYPE_CHECKING:
    from ..sources import Source, SourceFile
    from ..uploadstate.journal import UploadJournal

MIB = 1024 * 1024
DEFAULT_BLOCK_SIZE = 8 * MIB
MAX_BLOCK_SIZE = 4000 * MIB  # the service's limit per staged block
MAX_BLOCKS = 50_000  # the service's limit of committed blocks per blob
SMALL_FILES_MANY = 16  # from this many single-put files on, more go up at once


def default_workers() -> int:
    return min(8, 2 * (os.cpu_count() or 1))


def default_block_size(workers: int) -> int:
    """16 MiB blocks with up to 4 workers (storage ingests them 10-15% faster than 8 MiB, and
    (4 + 2) x 16 MiB in flight stays under 100 MiB); 8 MiB with more workers, for the same
    memory bound."""
    return 2 * DEFAULT_BLOCK_SIZE if workers <= 4 else DEFAULT_BLOCK_SIZE


def block_size_for(size: int, base: int = DEFAULT_BLOCK_SIZE) -> int:
    """The block size for a file of `size` bytes: `base`, doubled until the file fits in the
    service's 50,000 blocks (capped at 4,000 MiB per block)."""
    if not 0 < base <= MAX_BLOCK_SIZE:
        raise ValueError(f"block size must be between 1 byte and {MAX_BLOCK_SIZE} bytes")
    block = base
    while -(-size // block) > MAX_BLOCKS:
        if block >= MAX_BLOCK_SIZE:
            raise UploadError(
                f"A file of {size} bytes exceeds the largest block blob "
                f"({MAX_BLOCKS} blocks of {MAX_BLOCK_SIZE // MIB} MiB)."
            )
        block = min(block * 2, MAX_BLOCK_SIZE)
    return block


def block_sizes_for(files: Sequence[SourceFile], base: int) -> dict[str, int]:
    """Each file's block size (relative path -> bytes): the layout a journal records."""
    return {f.relative: block_size_for(f.size, base) for f in files}


def file_blocks(size: int, base: int) -> tuple[int, int]:
    """(block size, blocks) of a file of `size` bytes with base block size `base`: what the
    transfer sends and what a plan shows. Up to one block: a single Put Blob (0 blocks)."""
    block = block_size_for(size, base)
    return block, 0 if size <= base else -(-size // block)


def block_digest(data: bytes | memoryview) -> str:
    """The digest the journal records per staged block (BLAKE2b-128: several times faster than
    SHA-256, and as good at noticing changed bytes)."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def block_id(file_index: int, block_index: int) -> str:
    """The id of a block. Fixed width, so every id of a blob has the same length (the service
    requires it); the SDK base64-encodes it on the wire and decodes it in block lists."""
    return f"{file_index:05d}-{block_index:08d}"


@dataclass(frozen=True)
class FileDigest:
    """What was stored for one file."""

    relative: str  # blob name
    size: int
    sha256: str  # hex digest of the whole file
    blocks: int  # committed blocks; 0 when it went up as a single Put Blob


@dataclass(frozen=True)
class UploadResult:
    files: list[FileDigest]
    bytes_sent: int  # payload bytes sent in this run (not counting retries)
    bytes_skipped: int  # bytes the service already held from an earlier run
    seconds: float  # from on_start to the last byte stored: the progress bar's clock

    @property
    def bytes_total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def mb_per_second(self) -> float:
        return self.bytes_sent / 1e6 / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Plan:
    """One file's transfer plan (and, while it runs, its completion state)."""

    index: int
    file: SourceFile
    block_size: int
    ids: list[str]  # every block id in order; empty for a single put
    skip: set[int] = field(default_factory=set)  # block indexes already on the service
    expected: dict[int, str] = field(default_factory=dict)  # their journaled block digests
    done_sha256: str | None = None  # set when the blob is already committed and verified
    sha256: str | None = None
    pending: int = 1  # outstanding blocks + 1 held by the reader until it has read the file
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def single_put(self) -> bool:
        return not self.ids

    def block_length(self, index: int) -> int:
        return min(self.block_size, self.file.size - index * self.block_size)

    @property
    def skipped_bytes(self) -> int:
        if self.done_sha256 is not None:
            return self.file.size
        return sum(self.block_length(i) for i in self.skip)

    def release(self) -> bool:
        """One outstanding part done; True for whoever finishes the file last (it commits)."""
        with self.lock:
            self.pending -= 1
            return self.pending == 0


class _Gate:
    """Room in memory: a budget of `limit` blocks of `block_size` bytes. Each block or small
    file read holds its length until it is sent, so many small files fit where one block would
    (a folder of thousands of small files goes up with many requests in flight) while the
    memory bound stays that of `limit` blocks."""

    def __init__(self, limit: int, block_size: int) -> None:
        self.abort = threading.Event()
        self.block_size = block_size
        self._budget = limit * block_size
        self._cond = threading.Condition()
        self._held = 0

    def cost(self, length: int) -> int:
        return min(max(1, length), self._budget)

    def acquire(self, length: int) -> bool:
        """Wait for room for `length` more bytes; False once the transfer is aborted."""
        need = self.cost(length)
        with self._cond:
            while self._held + need > self._budget:
                if self.abort.is_set():
                    return False
                self._cond.wait(0.2)
            if self.abort.is_set():
                return False
            self._held += need
        return True

    def release(self, length: int) -> None:
        with self._cond:
            self._held -= self.cost(length)
            self._cond.notify_all()


class BlobTransfer:
    """Uploads files into a container through a container SAS URL. See the module docstring."""

    def __init__(
        self,
        *,
        block_size: int | None = None,
        max_workers: int | None = None,
        settings: TransportSettings | None = None,
    ) -> None:
        self.max_workers = max(1, max_workers or default_workers())
        block_size = block_size or default_block_size(self.max_workers)
        block_size_for(0, block_size)  # validates
        self.block_size = block_size
        self.settings = settings or TransportSettings()  # the REST planes' retries and timeout

    def __repr__(self) -> str:
        return (
            f"BlobTransfer(block_size={self.block_size}, max_workers={self.max_workers}, "
            f"max_retries={self.settings.max_retries})"
        )

    # ---------------------------------------------------------------- public

    def upload(
        self,
        sas_url: str,
        source: Source,
        files: Sequence[SourceFile],
        *,
        journal: UploadJournal | None = None,
        on_start: Callable[[int], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        on_skip: Callable[[int], None] | None = None,
    ) -> UploadResult:
        """Upload `files` of `source` (blob name = `relative`) into the container of `sas_url`.

        `on_start(total_bytes)` is called once first; `on_skip(bytes)` once, before any progress,
        with the bytes a resumed upload does not send again (only when there are some);
        `on_progress(delta)` as each block or small file is stored. Callbacks are serialised,
        so they need not be thread-safe themselves. Raises UploadError; the journal then keeps
        every block that was stored, and a re-run with it resumes.
        """
        relatives = [f.relative for f in files]
        if len(set(relatives)) != len(relatives):
            raise ValueError("two weight files have the same relative path")
        _stage_from_url(source, files)
        if journal is not None and len(journal.files) != len(files):
            raise _changed_since_journaled()
        base = journal.block_size if journal is not None else self.block_size
        # Ids number files in name order, so they stay stable whatever order the caller lists.
        order = {rel: i for i, rel in enumerate(sorted(relatives))}
        plans = [self._plan(order[f.relative], f, base, journal) for f in files]

        container = self._container(sas_url, base)
        try:
            if journal is not None:
                self._check_service(container, source, plans, journal)
            skipped = sum(p.skipped_bytes for p in plans)
            started = time.monotonic()  # the progress bar's clock starts here too
            if on_start:
                on_start(sum(f.size for f in files))
            if on_skip and skipped:
                on_skip(skipped)
            if journal is not None and journal.status != "uploading":
                journal.set_status("uploading")
            sent, last_byte = self._run(container, source, plans, journal, on_progress)
        except _FileFailure as failure:
            # Ours already say what failed (a journal's full disk among them): kept as they are.
            if isinstance(failure.error, (AzModelsError, KeyboardInterrupt)):
                raise failure.error from None
            raise _upload_error(failure.error, failure.relative) from None
        except AzModelsError:
            raise
        except Exception as error:
            raise _upload_error(error, None) from None
        finally:
            if journal is not None:
                journal.flush()
            container.close()

        if journal is not None:
            journal.set_status("uploaded")
        digests = [
            FileDigest(
                relative=p.file.relative,
                size=p.file.size,
                sha256=p.done_sha256 or p.sha256 or "",
                blocks=len(p.ids),
            )
            for p in plans
        ]
        return UploadResult(
            files=digests,
            bytes_sent=sent,
            bytes_skipped=sum(p.skipped_bytes for p in plans),  # less any block sent again
            seconds=max((last_byte or started) - started, 0.0),
        )

    def threads_for(self, small_files: int) -> int:
        """Upload threads: the workers, or up to 4 x as many (at most 32) for many small
        files, each a round trip of its own."""
        if small_files < SMALL_FILES_MANY:
            return self.max_workers
        return min(4 * self.max_workers, 32)

    # ---------------------------------------------------------------- planning

    def _plan(
        self, index: int, file: SourceFile, base: int, journal: UploadJournal | None
    ) -> _Plan:
        if journal is not None:
            # The caller checked the journal is of these files (UploadJournal.matches); each
            # file's entry is looked up here anyway, so a mismatch is still refused, not mixed.
            try:
                entry = journal.file(file.relative)
            except KeyError:
                raise _changed_since_journaled() from None
            if (entry.size, entry.version) != (file.size, file.version):
                raise _changed_since_journaled()
            size = entry.block_size
            count = 0 if file.size <= base else -(-file.size // size)
        else:
            size, count = file_blocks(file.size, base)
        return _Plan(index, file, size, [block_id(index, i) for i in range(count)])

    def _check_service(
        self, container: Any, source: Source, plans: list[_Plan], journal: UploadJournal
    ) -> None:
        """Trust the journal only as far as the service confirms it (in parallel: one request
        per file that has something journaled)."""
        from azure.core.exceptions import ResourceNotFoundError

        def check(plan: _Plan) -> None:
            entry = journal.file(plan.file.relative)
            blob = container.get_blob_client(plan.file.relative)
            if entry.committed and entry.sha256:
                try:
                    props = blob.get_blob_properties()
                except ResourceNotFoundError:
                    props = None
                stored_sha = (props.metadata or {}).get("sha256") if props else None
                if (
                    props
                    and props.size == plan.file.size
                    and stored_sha in (None, entry.sha256)
                    # the file may have changed in place since (same size and mtime): its
                    # recorded digest must still describe the bytes there now
                    and file_sha256(source, plan.file) == entry.sha256
                ):
                    plan.done_sha256 = entry.sha256
                    return
                journal.reset_file(plan.file.relative)
                return
            staged = set(entry.block_ids)
            if not staged or plan.single_put:
                return
            try:
                committed, uncommitted = blob.get_block_list("all")
            except ResourceNotFoundError:
                committed, uncommitted = [], []
            # "latest" in the commit takes an uncommitted block over a committed one of the same
            # id, so look at them in that order; committed ones count too (a kill between the
            # commit and its journal write leaves the blocks committed, and they can be reused).
            present = {b.id: b.size for b in committed}
            present.update({b.id: b.size for b in uncommitted})
            digests = entry.block_digests
            plan.skip = {
                i
                for i, bid in enumerate(plan.ids)
                if bid in staged
                and present.get(bid) == plan.block_length(i)
                and bid in digests  # a block of unknown content cannot be verified: resend
            }
            plan.expected = {i: digests[plan.ids[i]] for i in plan.skip}
            journal.reset_file(plan.file.relative, keep={plan.ids[i] for i in plan.skip})

        todo = [p for p in plans if (e := journal.file(p.file.relative)).committed or e.block_ids]
        if not todo:
            return
        errors: list[_FileFailure] = []
        work: queue.SimpleQueue[_Plan] = queue.SimpleQueue()
        for plan in todo:
            work.put(plan)

        def run() -> None:
            while not errors:
                try:
                    plan = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    check(plan)
                except Exception as error:
                    errors.append(_FileFailure(plan.file.relative, error))

        threads = [
            threading.Thread(target=run, name=f"azmodels-check-{i}", daemon=True)
            for i in range(min(self.max_workers, len(todo)))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]

    # ---------------------------------------------------------------- transfer

    def _run(
        self,
        container: Any,
        source: Source,
        plans: list[_Plan],
        journal: UploadJournal | None,
        on_progress: Callable[[int], None] | None,
    ) -> tuple[int, float | None]:
        """Read every file once, stage its blocks through the workers, commit. Returns the
        bytes sent and when the last of them was stored (None when none was sent)."""
        gate = _Gate(self.max_workers + 2, max(p.block_size for p in plans))
        abort = gate.abort
        # Small files are bound by round trips, not bandwidth: more of them in flight (the
        # gate still bounds the memory).
        small = sum(1 for p in plans if p.single_put and p.done_sha256 is None)
        threads_wanted = self.threads_for(small)
        work: queue.Queue[tuple[_Plan, int, bytes] | None] = queue.Queue(self.max_workers + 2)
        errors: list[_FileFailure] = []
        progress_lock = threading.Lock()
        sent = [0]
        last_byte: list[float | None] = [None]

        def finish_file(plan: _Plan) -> None:
            if plan.single_put:
                return  # its one Put Blob already stored and journaled it
            blob = container.get_blob_client(plan.file.relative)
            assert plan.sha256 is not None
            blob.commit_block_list(plan.ids, metadata=file_metadata(plan.sha256, plan.file.size))
            if journal is not None:
                journal.mark_committed(plan.file.relative, plan.sha256)

        def store(plan: _Plan, index: int, data: bytes) -> None:
            blob = container.get_blob_client(plan.file.relative)
            if plan.single_put:
                assert plan.sha256 is not None
                blob.upload_blob(
                    data,
                    length=len(data),
                    overwrite=True,
                    max_concurrency=1,
                    metadata=file_metadata(plan.sha256, plan.file.size),
                )
                if journal is not None:
                    journal.mark_committed(plan.file.relative, plan.sha256)
            else:
                blob.stage_block(plan.ids[index], data, length=len(data))
                if journal is not None:
                    journal.mark_staged(plan.file.relative, plan.ids[index], block_digest(data))
            with progress_lock:
                sent[0] += len(data)
                last_byte[0] = time.monotonic()  # before the callback: a bar's own clock reads
                if on_progress:  # the time as it starts, and drawing it is not transfer time
                    on_progress(len(data))

        def worker() -> None:
            while True:
                item = work.get()
                if item is None:
                    return
                plan, index, data = item
                held = len(data)
                try:
                    if not abort.is_set():
                        store(plan, index, data)
                        del data  # drop the block before the permit lets the reader load another
                        if plan.release():
                            finish_file(plan)
                except BaseException as error:
                    errors.append(_FileFailure(plan.file.relative, error))
                    abort.set()
                finally:
                    item = data = None  # type: ignore[assignment]
                    gate.release(held)

        threads = [
            threading.Thread(target=worker, name=f"azmodels-upload-{i}", daemon=True)
            for i in range(threads_wanted)
        ]
        for thread in threads:
            thread.start()
        try:
            for plan in plans:
                if abort.is_set():
                    break
                if plan.done_sha256 is None:
                    self._read_file(source, plan, work, gate)
                    if not abort.is_set() and plan.release():
                        try:
                            finish_file(plan)  # every block was already on the service
                        except Exception as error:
                            raise _FileFailure(plan.file.relative, error) from None
        except BaseException:
            abort.set()  # workers drop what is queued; the journal keeps what was stored
            raise
        finally:
            for _ in threads:
                work.put(None)
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        return sent[0], last_byte[0]

    def _read_file(
        self,
        source: Source,
        plan: _Plan,
        work: queue.Queue[tuple[_Plan, int, bytes] | None],
        gate: _Gate,
    ) -> None:
        file = plan.file
        digest = hashlib.sha256()
        with source.open(file) as handle:
            _read_sequentially(handle)
            if plan.single_put:
                if not gate.acquire(file.size):
                    return
                data = handle.read(file.size)
                self._check_length(file, data, file.size)
                source.check_unchanged(file, handle)
                digest.update(data)
                plan.sha256 = digest.hexdigest()
                with plan.lock:
                    plan.pending += 1
                work.put((plan, 0, data))
                return
            for index in range(len(plan.ids)):
                length = plan.block_length(index)
                if not gate.acquire(length):
                    return
                data = handle.read(length)
                self._check_length(file, data, length)
                digest.update(data)
                if index in plan.skip:
                    if block_digest(data) == plan.expected.get(index):
                        del data  # already on the service, the same bytes: not sent again
                        gate.release(length)
                        continue
                    # Changed in place since it was staged (same size and mtime): send it again,
                    # so the stored bytes are the ones hashed.
                    plan.skip.discard(index)
                with plan.lock:
                    plan.pending += 1
                work.put((plan, index, data))
                del data
            if handle.read(1):
                raise UploadError(f"{file.relative} grew while it was read; run again.")
            # Before this reader lets the file be committed: blocks read before and after a
            # rewrite would be stored (and hashed) as bytes that never existed together.
            source.check_unchanged(file, handle)
        plan.sha256 = digest.hexdigest()

    @staticmethod
    def _check_length(file: SourceFile, data: bytes, expected: int) -> None:
        if len(data) != expected:
            raise UploadError(f"{file.relative} shrank while it was read; run again.")

    # ---------------------------------------------------------------- client

    def _container(self, sas_url: str, block_size: int) -> Any:
        import requests
        from urllib3.util.retry import Retry

        session = requests.Session()
        # Retries belong to azure-storage-blob's policy, not to urllib3 underneath it.
        adapter = requests.adapters.HTTPAdapter(
            pool_connections=4,
            pool_maxsize=self.threads_for(SMALL_FILES_MANY) + 4,
            max_retries=Retry(total=False, redirect=False, raise_on_status=False),
        )
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        options: dict[str, Any] = {
            "session": session,
            "max_single_put_size": block_size,
            "max_block_size": block_size,
        }
        return open_container(sas_url, settings=self.settings, **options)


def _read_sequentially(handle: Any) -> None:
    """Tell the kernel a local file is read front to back (read-ahead); nothing otherwise."""
    try:
        fileno = handle.fileno()
    except (OSError, AttributeError):  # a reader with no file behind it
        return
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fileno, 0, 0, os.POSIX_FADV_SEQUENTIAL)


def _stage_from_url(source: Source, files: Sequence[SourceFile]) -> None:
    """Refuse files the service can read itself: they are copied server side
    (`clients.copy.BlobCopy`, through `services.copying`), never sent from this machine."""
    if any(source.copy_url(f) is not None for f in files):
        raise UploadError(
            f"{source.display} is copied server side (Put Block From URL), not sent from this "
            "machine."
        )


def file_sha256(source: Source, file: SourceFile) -> str:
    """The SHA-256 of the file's bytes now (unchanged while read), for a committed file a
    resume would otherwise trust."""
    digest = hashlib.sha256()
    with source.open(file) as handle:
        while chunk := handle.read(MIB):
            digest.update(chunk)
        source.check_unchanged(file, handle)
    return digest.hexdigest()


def _changed_since_journaled() -> UploadError:
    return UploadError(
        "The source files changed since the interrupted upload; it must start over "
        "(delete its journal)."
    )


class _FileFailure(Exception):
    """A failure while storing one file, carried from a worker to the caller."""

    def __init__(self, relative: str, error: BaseException) -> None:
        super().__init__(relative)
        self.relative = relative
        self.error = error


def _upload_error(error: BaseException, relative: str | None) -> UploadError:
    return storage_error(error, "the upload", f" of {relative}" if relative else "")
