"""One process at a time per upload key on this machine."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConflictError, ValidationError
from .folders import BAD_CONTENT, now, uploads_dir
from .keys import key_hash


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
        self.path = uploads_dir() / f"{key_hash(key)}.lock"
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
        return json.dumps({"pid": os.getpid(), "action": self.action, "since": now()})

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
    except (OSError, *BAD_CONTENT):  # a lock file is never set aside: flock holds it, not text
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def busy_error(key: str, name: str, version: str) -> ConflictError:
    """The refusal when another process holds the upload of name/version on this machine."""
    holder = UploadLock.holder(key)
    who = f" (process {holder.pid}, since {holder.since})" if holder and holder.pid else ""
    if holder is not None and holder.action == "replace":
        what = f"'{name}' version {version} is being replaced by another upload{who}"
    else:
        what = f"An upload of '{name}' version {version} is in progress{who}"
    return ConflictError(
        f"{what} on this machine: wait for it to finish, then try again.",
        code="UploadInProgress",
    )
