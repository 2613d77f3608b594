"""What this machine keeps about its uploads, under the cache folder's `uploads/`.

- `keys`: an upload's key (project identity, name, version) and the hash files are named by;
- `folders`: the cache folder, and the one careful reader and atomic writer of its JSON files;
- `journal`: the resume journal (what was staged where), written throttled, read as a hint;
- `lock`: one process at a time per upload key (flock: a kill -9 leaves no stale lock);
- `replace_intent`: the note of an `upload --overwrite` between its delete and its register,
  which crash recovery (`UploadService.recover`, the one entry point) finishes or rolls back;
- `leftovers`: storage nothing uses any more, noted so `uploads prune` can remove it.

The modules import `keys` and `folders` only, never each other or the transfer: the block
layout a journal records is handed to it by the transfer (clients.blob).
"""

from __future__ import annotations

from .folders import Shape, cache_dir, check_uploads_dir, read_cache_json, uploads_dir
from .journal import UploadJournal, journal_path
from .keys import same_location, upload_key
from .leftovers import Leftover
from .lock import UploadLock
from .replace_intent import ReplaceIntent

__all__ = [
    "Leftover",
    "ReplaceIntent",
    "Shape",
    "UploadJournal",
    "UploadLock",
    "cache_dir",
    "check_uploads_dir",
    "journal_path",
    "read_cache_json",
    "same_location",
    "upload_key",
    "uploads_dir",
]
