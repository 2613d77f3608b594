"""The resume journal of an upload: what was staged where, so a re-run resumes.

One JSON file per upload key (see `keys.upload_key`), named by the key's SHA-256, under the
uploads folder (`folders.uploads_dir`). Journals written under the older full-endpoint keys are
moved to their new names on first use.

The journal is a hint, never the truth: the transfer re-checks every journaled block against the
service before skipping it, and re-reads it against the digest recorded when it was staged (a
source changed in place, same size and mtime, must not leave old bytes under a new SHA-256).
So losing the last few entries (a kill -9 between two throttled writes) only costs re-sending
those blocks. Writes are atomic (temp file + os.replace), so a reader never sees half a file.

The block layout is the transfer's (clients.blob): the journal records each file's block size as
it is given, and computes none.

No secret is ever written: the container URL is stored without its query (the SAS), and every
write checks for a signature before it reaches the disk.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..redaction import strip_query
from .folders import Shape, atomic_write, now, read_cache_json, uploads_dir, write_in_cache
from .keys import key_hash, normalize_key

if TYPE_CHECKING:
    from ..sources import SourceFile

STATUSES = ("uploading", "uploaded", "registered", "failed")
_FORMAT = 3  # 2: block digests, port-free keys; 3: a file's version (was its mtime_ns)
# Staged-block writes are throttled: at most one per interval, or one per this many blocks.
SAVE_INTERVAL = 0.5
SAVE_EVERY_BLOCKS = 64


def journal_path(key: str) -> Path:
    return uploads_dir() / f"{key_hash(key)}.json"


_migrated: set[Path] = set()


def _migrate_legacy(folder: Path) -> None:
    """Move journals written under full-endpoint keys to their port-free names (once per
    folder and process; a journal already at the new name wins)."""
    if folder in _migrated or not folder.is_dir():
        return
    _migrated.add(folder)
    for path in folder.glob("*.json"):
        data = read_cache_json(path, _journal_shape, "The upload journal")
        if data is None:
            continue
        key = data["key"]
        target = folder / f"{key_hash(key)}.json"
        if target == path:
            continue
        with contextlib.suppress(OSError):
            if target.exists():
                continue
            data["key"] = normalize_key(key)
            text = json.dumps(data, indent=1)
            atomic_write(target, text)
            path.unlink()


def _journal_shape(data: object) -> dict[str, Any]:
    """A journal's fields, checked: every one the loader reads has the type it needs."""
    top = Shape(data)
    for name in ("key", "name", "version", "source", "container_url"):
        top.get(name, str)
    if top.get("block_size", int) == 0:
        raise ValueError("'block_size' is 0")
    top.get("pending_upload_id", str, required=False)
    top.get("slot_version", str, required=False)
    top.get("base_model", str, required=False)
    top.get("weight_type", str, required=False)
    top.get("created", str, required=False)
    top.get("updated", str, required=False)
    status = top.get("status", str, required=False)
    if status is not None and status not in STATUSES:
        raise ValueError(f"'status' is {status[:40]!r}")
    seen = set()
    for entry in top.get("files", list):
        f = Shape(entry, "a file entry")
        relative = f.get("relative", str)
        if relative in seen:
            raise ValueError(f"file {relative[:80]!r} appears twice")
        seen.add(relative)
        f.get("size", int)
        f.get("version", str, required=False)
        if "version" not in entry:
            f.get("mtime_ns", int)  # a journal of format 2: a local file's mtime
        f.get("block_size", int, required=False)
        f.get("committed", bool, required=False)
        f.get("sha256", str, required=False)
        ids = f.get("block_ids", list, required=False) or []
        digests = f.get("block_digests", dict, required=False) or {}
        if not all(isinstance(i, str) for i in ids):
            raise ValueError("'block_ids' holds something that is not text")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in digests.items()):
            raise ValueError("'block_digests' holds something that is not text")
    return data  # type: ignore[return-value]


@dataclass
class JournalFile:
    """One weight file's progress."""

    relative: str
    size: int
    version: str | None  # the source's `SourceFile.version` when journaled (locally: the mtime)
    block_size: int  # the per-file block size (the journal's, grown for very large files)
    block_ids: list[str] = field(default_factory=list)  # staged so far (SDK-level ids)
    committed: bool = False
    sha256: str | None = None
    # block id -> block_digest of the bytes staged under it (absent in older journals: such a
    # block cannot be verified, so it is sent again)
    block_digests: dict[str, str] = field(default_factory=dict)

    @property
    def bytes_staged(self) -> int:
        # Approximate to within one block: only the last block of a file is short.
        if self.committed:
            return self.size
        return min(self.size, len(self.block_ids) * self.block_size)


class UploadJournal:
    """The resume journal of one upload. Thread-safe: workers mark blocks concurrently."""

    def __init__(
        self,
        *,
        key: str,
        name: str,
        version: str,
        source: str,
        pending_upload_id: str | None,
        container_url: str,
        block_size: int,
        files: dict[str, JournalFile],
        status: str = "uploading",
        created: str | None = None,
        updated: str | None = None,
        path: Path | None = None,
        slot_version: str | None = None,
        base_model: str | None = None,
        weight_type: str | None = None,
    ) -> None:
        self.key = normalize_key(key)
        self.name = name
        self.version = version
        self.source = source
        self.pending_upload_id = pending_upload_id
        # The version the upload slot was asked for: the model's own, or a staging one when an
        # existing version is replaced (the service gives no slot for an existing version).
        self.slot_version = slot_version or version
        # What the upload was asked to register as: the command that resumes it says it again.
        self.base_model = base_model
        self.weight_type = weight_type
        self.container_url = strip_query(container_url)
        self.block_size = block_size
        self.status = status
        self.created = created or now()
        self.updated = updated or self.created
        self.path = path or journal_path(key)
        self._files = files
        self._staged: dict[str, dict[str, str | None]] = {
            rel: {bid: f.block_digests.get(bid) for bid in f.block_ids} for rel, f in files.items()
        }
        self._lock = threading.RLock()
        self._dirty = False
        self._unsaved_blocks = 0
        self._last_save = 0.0
        self._interval = SAVE_INTERVAL

    # ---------------------------------------------------------------- construction

    @classmethod
    def create(
        cls,
        key: str,
        *,
        name: str,
        version: str,
        source: str,
        pending_upload_id: str | None,
        container_url: str,
        block_size: int,
        files: Sequence[SourceFile],
        block_sizes: Mapping[str, int],
        slot_version: str | None = None,
        base_model: str | None = None,
        weight_type: str | None = None,
    ) -> UploadJournal:
        """A new journal for `files`, written at once (replacing any previous one for `key`).
        `block_sizes`: each file's block size, as the transfer lays it out (`block_sizes_for`)."""
        entries = {
            f.relative: JournalFile(
                relative=f.relative,
                size=f.size,
                version=f.version,
                block_size=block_sizes[f.relative],
            )
            for f in files
        }
        if len(entries) != len(files):
            raise ValueError("two weight files have the same relative path")
        journal = cls(
            key=key,
            name=name,
            version=version,
            source=source,
            pending_upload_id=pending_upload_id,
            container_url=container_url,
            block_size=block_size,
            files=entries,
            slot_version=slot_version,
            base_model=base_model,
            weight_type=weight_type,
        )
        journal.save()
        return journal

    @classmethod
    def load(cls, key: str) -> UploadJournal | None:
        """The journal of `key`, or None when there is none (or it is unreadable)."""
        _migrate_legacy(uploads_dir())
        journal = cls._read(journal_path(key))
        return journal if journal is not None and journal.key == normalize_key(key) else None

    @classmethod
    def list_all(cls) -> list[UploadJournal]:
        """Every readable journal, most recently updated first."""
        folder = uploads_dir()
        if not folder.is_dir():
            return []
        _migrate_legacy(folder)
        found = [j for p in sorted(folder.glob("*.json")) if (j := cls._read(p)) is not None]
        return sorted(found, key=lambda j: j.updated, reverse=True)

    @classmethod
    def _read(cls, path: Path) -> UploadJournal | None:
        """The journal at `path`; None when there is none, or it is bad (then it is set aside:
        a journal we cannot read is one we cannot trust, and the upload starts over)."""
        data = read_cache_json(path, _journal_shape, "The upload journal")
        if data is None:
            return None
        files = {
            f["relative"]: JournalFile(
                relative=f["relative"],
                size=f["size"],
                version=f["version"] if "version" in f else str(f["mtime_ns"]),
                block_size=f.get("block_size") or data["block_size"],
                block_ids=list(f.get("block_ids") or []),
                committed=bool(f.get("committed")),
                sha256=f.get("sha256"),
                block_digests=dict(f.get("block_digests") or {}),
            )
            for f in data["files"]
        }
        return cls(
            key=data["key"],
            name=data["name"],
            version=data["version"],
            source=data["source"],
            pending_upload_id=data.get("pending_upload_id"),
            container_url=data["container_url"],
            block_size=data["block_size"],
            files=files,
            status=data.get("status") or "uploading",
            created=data.get("created"),
            updated=data.get("updated"),
            path=path,
            slot_version=data.get("slot_version"),
            base_model=data.get("base_model"),
            weight_type=data.get("weight_type"),
        )

    # ---------------------------------------------------------------- queries

    def matches(self, files: Iterable[SourceFile]) -> bool:
        """True when `files` are exactly the journaled ones (same relative, size and version):
        a changed source must restart, never mix old blocks with new bytes."""
        with self._lock:
            current = {f.relative: (f.size, f.version) for f in files}
            journaled = {r: (f.size, f.version) for r, f in self._files.items()}
            return current == journaled

    def file(self, relative: str) -> JournalFile:
        """A snapshot of one file's entry."""
        with self._lock:
            entry = self._files[relative]
            staged = self._staged[relative]
            return JournalFile(
                relative=entry.relative,
                size=entry.size,
                version=entry.version,
                block_size=entry.block_size,
                block_ids=sorted(staged),
                committed=entry.committed,
                sha256=entry.sha256,
                block_digests={b: d for b, d in staged.items() if d},
            )

    @property
    def files(self) -> list[JournalFile]:
        with self._lock:
            return [self.file(r) for r in self._files]

    @property
    def bytes_total(self) -> int:
        with self._lock:
            return sum(f.size for f in self._files.values())

    @property
    def bytes_staged(self) -> int:
        """Bytes staged or committed so far (approximate to within one block per file)."""
        return sum(f.bytes_staged for f in self.files)

    @property
    def complete(self) -> bool:
        """Every file committed."""
        with self._lock:
            return all(f.committed for f in self._files.values())

    # ---------------------------------------------------------------- updates

    def mark_staged(self, relative: str, block_id: str, digest: str | None = None) -> None:
        """Record a staged block and the block_digest of its bytes; written to disk throttled
        (see SAVE_INTERVAL)."""
        with self._lock:
            staged = self._staged[relative]
            if block_id not in staged or staged[block_id] != digest:
                staged[block_id] = digest
                self._dirty = True
                self._unsaved_blocks += 1
            if self._dirty and (
                self._unsaved_blocks >= SAVE_EVERY_BLOCKS
                or time.monotonic() - self._last_save >= self._interval
            ):
                self.save()

    def mark_committed(self, relative: str, sha256: str) -> None:
        """Record a committed blob and its SHA-256; written throttled like staged blocks.

        Writing at every commit made a folder of many small files quadratic (each write holds
        the whole journal). A commit lost to a crash costs little: the re-run re-stages the
        blocks it had not journaled (a small file: the file), never a wrong byte."""
        with self._lock:
            entry = self._files[relative]
            entry.committed = True
            entry.sha256 = sha256
            # The committed flag says it all; dropping the ids keeps later writes small.
            self._staged[relative].clear()
            self._dirty = True
            if time.monotonic() - self._last_save >= self._interval:
                self.save()

    def reset_file(self, relative: str, keep: Iterable[str] = ()) -> None:
        """Forget what was recorded for a file except the block ids in `keep` (the ones the
        service confirmed)."""
        with self._lock:
            entry = self._files[relative]
            entry.committed = False
            entry.sha256 = None
            keep = set(keep)
            self._staged[relative] = {b: d for b, d in self._staged[relative].items() if b in keep}
            self._dirty = True

    def set_status(self, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        with self._lock:
            self.status = status
            self.save()

    def flush(self) -> None:
        """Write pending block bookkeeping now (after an error, at the end of a transfer)."""
        with self._lock:
            if self._dirty:
                self.save()

    def delete(self) -> None:
        with self._lock, contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # ---------------------------------------------------------------- storage

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "format": _FORMAT,
                "key": self.key,
                "name": self.name,
                "version": self.version,
                "source": self.source,
                "pending_upload_id": self.pending_upload_id,
                "slot_version": self.slot_version,
                "base_model": self.base_model,
                "weight_type": self.weight_type,
                "container_url": strip_query(self.container_url),
                "block_size": self.block_size,
                "status": self.status,
                "created": self.created,
                "updated": self.updated,
                "files": [
                    {
                        "relative": f.relative,
                        "size": f.size,
                        "version": f.version,
                        "block_size": f.block_size,
                        "block_ids": sorted(self._staged[r]),
                        "block_digests": {b: d for b, d in self._staged[r].items() if d},
                        "committed": f.committed,
                        "sha256": f.sha256,
                    }
                    for r, f in self._files.items()
                ],
            }

    def save(self) -> None:
        """Write the journal atomically (temp file in the same folder + os.replace)."""
        with self._lock:
            started = time.monotonic()
            self.updated = now()
            text = json.dumps(self.to_dict(), indent=1)
            if "sig=" in text.lower():  # belt and braces: a SAS must never reach the disk
                raise ValueError("refusing to write a journal that contains a SAS signature")
            write_in_cache(self.path, text)
            self._dirty = False
            self._unsaved_blocks = 0
            self._last_save = time.monotonic()
            # A journal with tens of thousands of ids costs real time to write: keep the writes
            # to a small share of the transfer by stretching the interval with the write time.
            self._interval = max(SAVE_INTERVAL, 20 * (self._last_save - started))

    def __repr__(self) -> str:
        return (
            f"UploadJournal(name={self.name!r}, version={self.version!r}, status={self.status!r}, "
            f"files={len(self._files)}, container_url={strip_query(self.container_url)!r})"
        )
