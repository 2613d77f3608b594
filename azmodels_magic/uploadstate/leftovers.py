"""Notes of storage left behind, so `uploads list` names it and `uploads prune` retries."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from ..redaction import get_logger, strip_query
from .folders import Shape, atomic_write, now, read_cache_json, uploads_dir
from .keys import key_hash, normalize_key


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
        self.path = path or self.folder() / f"{key_hash(self.container_url)}.json"

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
                "created": now(),
            }
        )
        text = json.dumps(leftover.data, indent=1)
        if "sig=" in text.lower():
            raise ValueError("refusing to write a note that contains a SAS signature")
        try:
            atomic_write(leftover.path, text)
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
