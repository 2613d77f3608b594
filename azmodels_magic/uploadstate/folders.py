"""The cache folder that holds upload state, and the one careful way to read and write it.

The cache dir is $AZMODELS_CACHE_DIR, else $XDG_CACHE_HOME/azmodels, else ~/.cache/azmodels;
upload state lives in its `uploads/` folder. Writes are atomic (temp file + fsync + os.replace),
so a reader never sees half a file; every reader goes through `read_cache_json`, which sets a bad
file aside instead of failing the command.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..environment import CACHE_DIR
from ..errors import AzModelsError
from ..redaction import get_logger


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


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- the one reader of the cache folder's JSON files ---------------------------------------------
#
# Journals, replacement notes and the sandbox note are read by every command: a file of any content
# (not JSON, JSON of the wrong shape, a nesting bomb) must never fail one. A bad file is set aside,
# renamed `<name>.bad-<time>` (kept for a look, out of the way of the globs below) and named in a
# warning, and the command goes on as if it were not there.

BAD_CONTENT = (ValueError, TypeError, KeyError, AttributeError, RecursionError, OverflowError)


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
    except BAD_CONTENT as exc:
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


def write_in_cache(path: Path, text: str) -> None:
    """atomic_write, its failure one line naming the folder: a full disk must stop the command
    at once with its cause, not surface as an OSError (or be retried as a network failure)."""
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise AzModelsError(
            f"The azmodels cache folder {path.parent} cannot be written "
            f"({exc.strerror or exc}): free space there or set AZMODELS_CACHE_DIR to another "
            "folder, then run the command again (an upload resumes where it stopped).",
            code="CacheDirUnusable",
        ) from None


def atomic_write(path: Path, text: str) -> None:
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
