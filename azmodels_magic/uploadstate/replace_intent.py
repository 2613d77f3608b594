"""The durable note of an `upload --overwrite` between deleting the old registration and
registering the new one: what crash recovery (UploadService.recover) finishes or rolls back."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from .folders import Shape, now, read_cache_json, uploads_dir, write_in_cache
from .keys import key_hash, normalize_key


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
        self.path = path or uploads_dir() / f"{key_hash(key)}{self.SUFFIX}"

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
        text = json.dumps({"key": intent.key, "created": now(), **intent.data}, indent=1)
        if "sig=" in text.lower():
            raise ValueError("refusing to write a note that contains a SAS signature")
        write_in_cache(intent.path, text)
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
