"""The resume journal of an upload: what was staged where, so a re-run resumes.

One JSON file per upload key ("<project identity>|<name>|<version>", see `upload_key`), named by
the key's SHA-256, under `<cache dir>/uploads/`. The project identity leaves out what is incidental
to an endpoint (scheme, port, user info, case of the host; any loopback address is one), so a
sandbox restarted on another port still finds its resumable uploads; journals written under the
older full-endpoint keys are moved to their new names on first use. The cache dir is
$AZMODELS_CACHE_DIR, else $XDG_CACHE_HOME/azmodels, else ~/.cache/azmodels.

The journal is a hint, never the truth: the transfer re-checks every journaled block against the
service before skipping it, and re-reads it against the digest recorded when it was staged (a
source changed in place, same size and mtime, must not leave old bytes under a new SHA-256).
So losing the last few entries (a kill -9 between two throttled writes) only costs re-sending
those blocks. Writes are atomic (temp file + os.replace), so a reader never sees half a file.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .clients.blob import block_size_for
from .config import is_loopback
from .environment import CACHE_DIR
from .errors import AzModelsError, ValidationError
from .records import WeightFile
from .redaction import get_logger, strip_query

STATUSES = ("uploading", "uploaded", "registered", "failed")
_FORMAT = 2  # 2: block digests, port-free keys
# Staged-block writes are throttled: at most one per interval, or one per this many blocks.
SAVE_INTERVAL = 0.5
SAVE_EVERY_BLOCKS = 64


def cache_dir() -> Path:
    """The user's azmodels cache directory (not created)."""
    explicit = CACHE_DIR.read()
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "azmodels"
    return Path.home() / ".cache" / "azmodels"


def uploads_dir() -> Path:
    return cache_dir() / "uploads"


def project_identity(endpoint: str) -> str:
    """What names a project in an endpoint URL: host (lowercase) and path. The scheme, port,
    user info, query and a trailing slash are incidental; every loopback address is 'loopback'
    (a sandbox restarted on another port or address is the same project)."""
    if "://" not in endpoint:
        return endpoint  # already an identity
    parts = urlsplit(endpoint.strip())
    host = (parts.hostname or "").lower()
    if is_loopback(host):
        host = "loopback"
    return f"{host}{parts.path.rstrip('/')}"


def same_location(url: str, other: str) -> bool:
    """Two URLs of one project or container, whatever their incidental details (a storage
    emulator restarted on another port still holds the same containers)."""
    return project_identity(strip_query(url)) == project_identity(strip_query(other))


def upload_key(
    project_endpoint: str, name: str, version: str, *, sandbox_dir: str | None = None
) -> str:
    """The journal key of one upload: the project's identity, the model name and version. A
    sandbox's project is named by its data folder as well: two sandboxes running side by side
    on loopback are two projects, one restarted on another port is the same one."""
    project = project_identity(project_endpoint)
    if sandbox_dir:
        project = f"{project}@{os.path.abspath(sandbox_dir)}"
    return f"{project}|{name}|{version}"


def normalize_key(key: str) -> str:
    """A key of any journal format in today's form (older ones held the full endpoint)."""
    parts = key.rsplit("|", 2)
    if len(parts) != 3:
        return key
    return upload_key(*parts)


def _key_hash(key: str) -> str:
    return hashlib.sha256(normalize_key(key).encode("utf-8")).hexdigest()


def journal_path(key: str) -> Path:
    return uploads_dir() / f"{_key_hash(key)}.json"


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
        target = folder / f"{_key_hash(key)}.json"
        if target == path:
            continue
        with contextlib.suppress(OSError):
            if target.exists():
                continue
            data["key"] = normalize_key(key)
            text = json.dumps(data, indent=1)
            _atomic_write(target, text)
            path.unlink()


def check_uploads_dir() -> Path:
    """The journal folder, created if needed and proven writable, before any upload slot is
    asked for: an upload whose progress cannot be journaled would be lost to a resume."""
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


# -- the one reader of the cache folder's JSON files ---------------------------------------------
#
# Journals, replacement notes and the sandbox note are read by every command: a file of any content
# (not JSON, JSON of the wrong shape, a nesting bomb) must never fail one. A bad file is set aside,
# renamed `<name>.bad-<time>` (kept for a look, out of the way of the globs below) and named in a
# warning, and the command goes on as if it were not there.

_BAD_CONTENT = (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError)


class Shape:
    """Checks of one JSON object's fields; each failure is a ValueError saying which field."""

    def __init__(self, data: object, what: str = "the file") -> None:
        if not isinstance(data, dict):
            raise ValueError(f"{what} holds {type(data).__name__}, not an object")
        self.data = data

    def get(self, name: str, kind: type | tuple[type, ...], *, required: bool = True) -> Any:
        if name not in self.data or self.data[name] is None:
            if required:
                raise ValueError(f"'{name}' is missing")
            return None
        value = self.data[name]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(k.__name__ for k in kinds)
            raise ValueError(f"'{name}' is {type(value).__name__}, not {names}")
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            raise ValueError(f"'{name}' is negative")
        return value


def read_cache_json(path: Path, shape: Callable[[Any], Any], what: str) -> Any | None:
    """`shape(the JSON at path)`, or None when the file is gone or bad; a bad one (unreadable
    text, not JSON, a shape `shape` refuses) is set aside and named in a warning."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None  # removed meanwhile (another process finished with it)
    except (OSError, ValueError) as exc:
        set_aside(path, what, getattr(exc, "strerror", None) or type(exc).__name__)
        return None
    try:
        return shape(json.loads(text))
    except RecursionError:
        set_aside(path, what, "nested too deeply")
    except _BAD_CONTENT as exc:
        reason = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
        set_aside(path, what, reason[:200])
    return None


def set_aside(path: Path, what: str, reason: str) -> Path | None:
    """Rename a bad cache file `<name>.bad-<UTC time>` (never deleted: a person may want it) and
    say so in one warning line; None when it cannot be moved (then the warning says that)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.bad-{stamp}")
    for n in range(1, 100):
        if not target.exists():
            break
        target = path.with_name(f"{path.name}.bad-{stamp}-{n}")
    log = get_logger(__name__)
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None  # another process set it aside first
    except OSError as exc:
        log.warning(
            "%s %s cannot be used (%s) and could not be moved away (%s): remove it by hand.",
            what, path, reason, exc.strerror or exc,
        )  # fmt: skip
        return None
    log.warning("%s %s cannot be used (%s): moved to %s; carrying on without it.",
                what, path, reason, target.name)  # fmt: skip
    return target


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
        f.get("mtime_ns", int)
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
    mtime_ns: int
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
        self.created = created or _now()
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
        source: str | os.PathLike[str],
        pending_upload_id: str | None,
        container_url: str,
        block_size: int,
        files: Sequence[WeightFile],
        slot_version: str | None = None,
        base_model: str | None = None,
        weight_type: str | None = None,
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
                mtime_ns=f["mtime_ns"],
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
            staged = self._staged[relative]
            return JournalFile(
                relative=entry.relative,
                size=entry.size,
                mtime_ns=entry.mtime_ns,
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
                        "mtime_ns": f.mtime_ns,
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
            self.updated = _now()
            text = json.dumps(self.to_dict(), indent=1)
            if "sig=" in text.lower():  # belt and braces: a SAS must never reach the disk
                raise ValueError("refusing to write a journal that contains a SAS signature")
            _write_in_cache(self.path, text)
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


def _write_in_cache(path: Path, text: str) -> None:
    """_atomic_write, its failure one line naming the folder: a full disk must stop the command
    at once with its cause, not surface as an OSError (or be retried as a network failure)."""
    try:
        _atomic_write(path, text)
    except OSError as exc:
        raise AzModelsError(
            f"The azmodels cache folder {path.parent} cannot be written "
            f"({exc.strerror or exc}): free space there or set AZMODELS_CACHE_DIR to another "
            "folder, then run the command again (an upload resumes where it stopped).",
            code="CacheDirUnusable",
        ) from None


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (temp file in the same folder, fsync, os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=".journal-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------- locks and replacement intents


@dataclass(frozen=True)
class LockHolder:
    """Who holds an upload's lock: shown in refusals ("in progress in process 1234")."""

    pid: int
    action: str  # "upload", "replace" (an upload --overwrite) or "recover"
    since: str


class UploadLock:
    """One process at a time per upload key on this machine.

    fcntl.flock on `<hash>.lock`: the kernel drops the lock when its process dies, so a kill -9
    never leaves a stale lock behind. Where flock is missing, a pid file whose process is gone
    is taken over. The file's text names the holder (pid, action, since).
    """

    def __init__(self, key: str, action: str) -> None:
        self.path = uploads_dir() / f"{_key_hash(key)}.lock"
        self.action = action
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False when another process (or thread) holds it.
        A cache folder that cannot be written is a ValidationError naming it."""
        try:
            return self._acquire()
        except OSError as exc:
            raise ValidationError(
                f"The azmodels cache folder {self.path.parent} cannot be used "
                f"({exc.strerror or exc}): make it writable, or set AZMODELS_CACHE_DIR to a "
                "folder that is."
            ) from None

    def _acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            import fcntl
        except ImportError:  # no flock: an exclusive pid file
            return self._acquire_pid_file()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        os.ftruncate(fd, 0)
        os.write(fd, self._text().encode())
        return True

    def _text(self) -> str:
        return json.dumps({"pid": os.getpid(), "action": self.action, "since": _now()})

    def _acquire_pid_file(self) -> bool:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                holder = _read_holder(self.path)
                if holder is not None and _alive(holder.pid):
                    return False
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()  # its process is gone: a stale lock
                continue
            os.write(fd, self._text().encode())
            self._fd = fd
            return True
        return False

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            import fcntl
        except ImportError:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            return
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> UploadLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    @classmethod
    def holder(cls, key: str) -> LockHolder | None:
        """Who holds the lock of `key` now; None when nobody does (or the holder died)."""
        probe = cls(key, "probe")
        if not probe.path.exists():
            return None
        holder = _read_holder(probe.path)
        try:
            free = probe._acquire()
        except OSError:
            return None  # cannot tell: an unusable cache folder holds no upload either
        if free:
            probe.release()
            return None
        return holder or LockHolder(pid=0, action="upload", since="")


def _read_holder(path: Path) -> LockHolder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
        return LockHolder(int(data["pid"]), str(data["action"]), str(data.get("since", "")))
    except (OSError, *_BAD_CONTENT):  # a lock file is never set aside: flock holds it, not text
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ReplaceIntent:
    """The durable note of an `upload --overwrite` swapping registrations.

    The service refuses to register a version that exists, so a replacement must delete the old
    registration and then register the new one. This note is written (fsync'd) before the
    delete and removed once the new version is registered: if the process dies in between, the
    next command finds it and finishes the swap, or puts the old registration back. It holds
    both registration bodies (container URLs without any credential).
    """

    SUFFIX = ".replace"

    def __init__(self, key: str, data: dict[str, Any], path: Path | None = None) -> None:
        self.key = normalize_key(key)
        self.data = data
        self.path = path or uploads_dir() / f"{_key_hash(key)}{self.SUFFIX}"

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def version(self) -> str:
        return self.data["version"]

    @property
    def old(self) -> dict[str, Any]:
        return self.data["old"]

    @property
    def new(self) -> dict[str, Any]:
        return self.data["new"]

    @classmethod
    def create(
        cls, key: str, *, name: str, version: str, old: dict[str, Any], new: dict[str, Any]
    ) -> ReplaceIntent:
        intent = cls(key, {"name": name, "version": version, "old": old, "new": new})
        text = json.dumps({"key": intent.key, "created": _now(), **intent.data}, indent=1)
        if "sig=" in text.lower():
            raise ValueError("refusing to write a note that contains a SAS signature")
        _write_in_cache(intent.path, text)
        return intent

    @classmethod
    def list_all(cls) -> list[ReplaceIntent]:
        folder = uploads_dir()
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob(f"*{cls.SUFFIX}")):
            data = read_cache_json(path, _intent_shape, "The replacement note")
            if data is not None:
                found.append(cls(data.pop("key"), data, path))
        return found

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _intent_shape(data: object) -> dict[str, Any]:
    """A replacement note's fields, checked: both registration bodies, the new one's blobUri."""
    note = Shape(data)
    for name in ("key", "name", "version"):
        note.get(name, str)
    note.get("old", dict)
    Shape(note.get("new", dict), "'new'").get("blobUri", str)
    return data  # type: ignore[return-value]


class Leftover:
    """Storage this machine knows nothing uses any more and no upload will resume: a replaced
    version's weights the swap could not remove, an earlier run's slot given up for a new one.

    One JSON file per container under `<uploads>/leftovers/`, so `uploads list` can name it and
    `uploads prune` can try again. Azure lists no project's storage: what is not noted here (or
    in a journal) cannot be found. `slot_version` and `pending_upload_id` name the upload slot
    the container came from, when known: asking for that slot again is the one way to a
    credential that may write to it (a registered version's credential is read-only)."""

    FOLDER = "leftovers"

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        self.data = data
        self.path = path or self.folder() / f"{_key_hash(self.container_url)}.json"

    @classmethod
    def folder(cls) -> Path:
        return uploads_dir() / cls.FOLDER

    key = property(lambda self: normalize_key(self.data["key"]))
    name = property(lambda self: self.data["name"])
    version = property(lambda self: self.data["version"])
    container_url = property(lambda self: strip_query(self.data["container_url"]))
    reason = property(lambda self: self.data["reason"])
    created = property(lambda self: self.data.get("created") or "")
    slot_version = property(lambda self: self.data.get("slot_version"))
    pending_upload_id = property(lambda self: self.data.get("pending_upload_id"))

    @classmethod
    def record(
        cls,
        key: str,
        *,
        name: str,
        version: str,
        container_url: str,
        reason: str,
        slot_version: str | None = None,
        pending_upload_id: str | None = None,
    ) -> Leftover | None:
        """Note a container left behind; None when the note cannot be written (a warning says
        so: the caller's own outcome must not fail for want of this note)."""
        leftover = cls(
            {
                "key": normalize_key(key),
                "name": name,
                "version": version,
                "container_url": strip_query(container_url),
                "reason": reason,
                "slot_version": slot_version,
                "pending_upload_id": pending_upload_id,
                "created": _now(),
            }
        )
        text = json.dumps(leftover.data, indent=1)
        if "sig=" in text.lower():
            raise ValueError("refusing to write a note that contains a SAS signature")
        try:
            _atomic_write(leftover.path, text)
        except OSError as exc:
            get_logger(__name__).warning(
                "Storage left at %s could not be noted in %s (%s): remove it by hand.",
                leftover.container_url, leftover.path.parent, exc.strerror or exc,
            )  # fmt: skip
            return None
        return leftover

    @classmethod
    def list_all(cls) -> list[Leftover]:
        folder = cls.folder()
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.glob("*.json")):
            data = read_cache_json(path, _leftover_shape, "The note of leftover storage")
            if data is not None:
                found.append(cls(data, path))
        return found

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _leftover_shape(data: object) -> dict[str, Any]:
    note = Shape(data)
    for name in ("key", "name", "version", "container_url", "reason"):
        note.get(name, str)
    for name in ("slot_version", "pending_upload_id", "created"):
        note.get(name, str, required=False)
    return data  # type: ignore[return-value]
