"""The resume journal of `%azmodels upload`: what was staged where, so a re-run resumes.

One JSON file per upload key (the service's "<project endpoint>|<name>|<version>"), named by the
key's SHA-256, under `<cache dir>/uploads/`. The cache dir is $AZMODELS_CACHE_DIR, else
$XDG_CACHE_HOME/azmodels, else ~/.cache/azmodels.

The journal is a hint, never the truth: the transfer re-checks every journaled block against the
service before skipping it. So losing the last few entries (a kill -9 between two throttled
writes) only costs re-sending those blocks. Writes are atomic (temp file + os.replace), so a
reader never sees half a file.

No secret is ever written: the container URL is stored without its query (the SAS), and every
write checks for a signature before it reaches the disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .clients.blob import block_size_for
from .records import WeightFile
from .redaction import strip_query

STATUSES = ("uploading", "uploaded", "registered", "failed")
_FORMAT = 1
# Staged-block writes are throttled: at most one per interval, or one per this many blocks.
SAVE_INTERVAL = 0.5
SAVE_EVERY_BLOCKS = 64


def cache_dir() -> Path:
    """The user's azmodels cache directory (not created)."""
    explicit = os.environ.get("AZMODELS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "azmodels"
    return Path.home() / ".cache" / "azmodels"


def uploads_dir() -> Path:
    return cache_dir() / "uploads"


def journal_path(key: str) -> Path:
    return uploads_dir() / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.json"


def check_uploads_dir() -> Path:
    """The journal folder, created if needed and proven writable, before any upload slot is
    asked for: an upload whose progress cannot be journaled would be lost to a resume."""
    from .errors import AzModelsError

    folder = uploads_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise AzModelsError(
            f"The azmodels cache folder {folder} cannot be used ({exc.strerror or exc}): set "
            "AZMODELS_CACHE_DIR to a writable folder, then run the command again.",
            code="CacheDirUnusable",
        ) from None
    return folder


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class JournalFile:
    """One weight file's progress."""

    relative: str
    size: int
    mtime_ns: int
    block_size: int  # the per-file block size (the journal's, grown for very large files)
    block_ids: list[str] = field(default_factory=list)  # staged so far (SDK-level ids)
    committed: bool = False
    sha256: str | None = None

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
    ) -> None:
        self.key = key
        self.name = name
        self.version = version
        self.source = source
        self.pending_upload_id = pending_upload_id
        self.container_url = strip_query(container_url)
        self.block_size = block_size
        self.status = status
        self.created = created or _now()
        self.updated = updated or self.created
        self.path = path or journal_path(key)
        self._files = files
        self._staged = {rel: set(f.block_ids) for rel, f in files.items()}
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
        source: str | os.PathLike[str],
        pending_upload_id: str | None,
        container_url: str,
        block_size: int,
        files: Sequence[WeightFile],
    ) -> UploadJournal:
        """A new journal for `files`, written at once (replacing any previous one for `key`)."""
        entries = {
            f.relative: JournalFile(
                relative=f.relative,
                size=f.size,
                mtime_ns=f.mtime_ns,
                block_size=block_size_for(f.size, block_size),
            )
            for f in files
        }
        if len(entries) != len(files):
            raise ValueError("two weight files have the same relative path")
        journal = cls(
            key=key,
            name=name,
            version=version,
            source=str(source),
            pending_upload_id=pending_upload_id,
            container_url=container_url,
            block_size=block_size,
            files=entries,
        )
        journal.save()
        return journal

    @classmethod
    def load(cls, key: str) -> UploadJournal | None:
        """The journal of `key`, or None when there is none (or it is unreadable)."""
        journal = cls._read(journal_path(key))
        return journal if journal is not None and journal.key == key else None

    @classmethod
    def list_all(cls) -> list[UploadJournal]:
        """Every readable journal, most recently updated first."""
        folder = uploads_dir()
        if not folder.is_dir():
            return []
        found = [j for p in sorted(folder.glob("*.json")) if (j := cls._read(p)) is not None]
        return sorted(found, key=lambda j: j.updated, reverse=True)

    @classmethod
    def _read(cls, path: Path) -> UploadJournal | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            files = {
                f["relative"]: JournalFile(
                    relative=f["relative"],
                    size=int(f["size"]),
                    mtime_ns=int(f["mtime_ns"]),
                    block_size=int(f.get("block_size") or data["block_size"]),
                    block_ids=list(f.get("block_ids", [])),
                    committed=bool(f.get("committed", False)),
                    sha256=f.get("sha256"),
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
                block_size=int(data["block_size"]),
                files=files,
                status=data.get("status", "uploading"),
                created=data.get("created"),
                updated=data.get("updated"),
                path=path,
            )
        except (OSError, ValueError, KeyError, TypeError):
            # A journal we cannot read is one we cannot trust: the upload starts over.
            return None

    # ---------------------------------------------------------------- queries

    def matches(self, files: Iterable[WeightFile]) -> bool:
        """True when `files` are exactly the journaled ones (same relative, size and mtime_ns):
        a changed source must restart, never mix old blocks with new bytes."""
        with self._lock:
            current = {f.relative: (f.size, f.mtime_ns) for f in files}
            journaled = {r: (f.size, f.mtime_ns) for r, f in self._files.items()}
            return current == journaled

    def file(self, relative: str) -> JournalFile:
        """A snapshot of one file's entry."""
        with self._lock:
            entry = self._files[relative]
            return JournalFile(
                relative=entry.relative,
                size=entry.size,
                mtime_ns=entry.mtime_ns,
                block_size=entry.block_size,
                block_ids=sorted(self._staged[relative]),
                committed=entry.committed,
                sha256=entry.sha256,
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

    def mark_staged(self, relative: str, block_id: str) -> None:
        """Record a staged block; written to disk throttled (see SAVE_INTERVAL)."""
        with self._lock:
            if block_id not in self._staged[relative]:
                self._staged[relative].add(block_id)
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
            self._staged[relative] = set(keep) & self._staged[relative]
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
                "container_url": strip_query(self.container_url),
                "block_size": self.block_size,
                "status": self.status,
                "created": self.created,
                "updated": self.updated,
                "files": [
                    {
                        "relative": f.relative,
                        "size": f.size,
                        "mtime_ns": f.mtime_ns,
                        "block_size": f.block_size,
                        "block_ids": sorted(self._staged[r]),
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
            self.updated = _now()
            text = json.dumps(self.to_dict(), indent=1)
            if "sig=" in text.lower():  # belt and braces: a SAS must never reach the disk
                raise ValueError("refusing to write a journal that contains a SAS signature")
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
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
