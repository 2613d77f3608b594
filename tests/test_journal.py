"""UploadJournal: where it lives, what it records, what it never records (a SAS)."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

import pytest

from azmodels_magic.clients.blob import MIB, block_sizes_for
from azmodels_magic.records import WeightFile
from azmodels_magic.uploadstate import UploadJournal, cache_dir, journal_path
from azmodels_magic.uploadstate import journal as journal_module

SAS_URL = (
    "https://acct.blob.core.windows.net/c1?sv=2024-08-04&se=2030-01-01&sp=racwl&sig=SECRETSIG%3D"
)


def weight(tmp_path: Path, relative: str, size: int) -> WeightFile:
    path = tmp_path / "src" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    stat = path.stat()
    return WeightFile(path=path, relative=relative, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def make(tmp_path: Path, key: str = "https://p|m|1", **overrides) -> UploadJournal:
    files = overrides.pop("files", None) or [
        weight(tmp_path, "model.safetensors", 3000),
        weight(tmp_path, "sub/config.json", 10),
    ]
    options = {
        "name": "m",
        "version": "1",
        "source": str(tmp_path / "src"),
        "pending_upload_id": "pu-1",
        "container_url": SAS_URL,
        "block_size": 1024,
        "files": files,
    }
    options.update(overrides)
    layout = block_sizes_for(options["files"], options["block_size"])  # the transfer's layout
    return UploadJournal.create(key, block_sizes=layout, **options)


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("AZMODELS_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "azmodels"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "azmodels"
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"


def test_create_load_round_trip(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)
    key = "https://p|m|1"
    named = "p|m|1"  # the project's identity: the scheme is incidental
    assert journal.path == cache / "uploads" / f"{hashlib.sha256(named.encode()).hexdigest()}.json"
    assert journal_path(key) == journal.path
    loaded = UploadJournal.load(key)
    assert loaded is not None
    assert (loaded.name, loaded.version, loaded.pending_upload_id) == ("m", "1", "pu-1")
    assert loaded.container_url == "https://acct.blob.core.windows.net/c1"
    assert loaded.block_size == 1024
    assert loaded.status == "uploading"
    assert [f.relative for f in loaded.files] == ["model.safetensors", "sub/config.json"]
    assert UploadJournal.load("another key") is None


def test_a_journal_of_the_mtime_format_still_resumes(cache: Path, tmp_path: Path) -> None:
    files = [weight(tmp_path, "model.safetensors", 3000), weight(tmp_path, "sub/config.json", 10)]
    journal = make(tmp_path, files=files)
    journal.mark_staged("model.safetensors", "00000-00000000", "d" * 32)
    journal.flush()
    data = json.loads(journal.path.read_text())
    for entry in data["files"]:  # format 2 named a file's identity by its mtime, no version
        entry["mtime_ns"] = int(entry.pop("version"))
    data["format"] = 2
    journal.path.write_text(json.dumps(data))
    loaded = UploadJournal.load("https://p|m|1")
    assert loaded is not None  # not set aside
    assert loaded.matches(files)
    assert loaded.file("model.safetensors").block_ids == ["00000-00000000"]


def test_never_writes_the_sas(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)
    journal.mark_staged("model.safetensors", "00000-00000000")
    journal.mark_committed("sub/config.json", "ab" * 32)
    journal.set_status("uploaded")
    text = journal.path.read_text()
    assert "sig=" not in text.lower() and "SECRETSIG" not in text and "?" not in text
    assert "sig=" not in repr(journal) and "SECRETSIG" not in repr(journal)
    # Even a caller that sets the attribute directly cannot get a SAS onto the disk.
    journal.container_url = SAS_URL
    journal.save()
    assert "SECRETSIG" not in journal.path.read_text()


def test_staged_committed_bytes_and_complete(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)
    assert journal.bytes_staged == 0 and not journal.complete
    journal.mark_staged("model.safetensors", "00000-00000000")
    journal.mark_staged("model.safetensors", "00000-00000000")  # idempotent
    journal.mark_staged("model.safetensors", "00000-00000001")
    journal.flush()
    loaded = UploadJournal.load("https://p|m|1")
    assert loaded is not None
    assert loaded.file("model.safetensors").block_ids == ["00000-00000000", "00000-00000001"]
    assert loaded.bytes_staged == 2048
    loaded.mark_committed("model.safetensors", "cd" * 32)
    loaded.mark_committed("sub/config.json", "ef" * 32)
    loaded.flush()
    again = UploadJournal.load("https://p|m|1")
    assert again is not None and again.complete
    assert again.bytes_staged == again.bytes_total == 3010
    assert again.file("model.safetensors").sha256 == "cd" * 32
    assert again.file("model.safetensors").block_ids == []  # committed: ids no longer needed


def test_commits_are_throttled_and_status_is_written_at_once(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)
    journal.mark_committed("sub/config.json", "ab" * 32)  # just after create: not yet written
    on_disk = json.loads(journal.path.read_text())
    assert [f["committed"] for f in on_disk["files"]] == [False, False]
    journal.flush()
    on_disk = json.loads(journal.path.read_text())
    assert [f["committed"] for f in on_disk["files"]] == [False, True]
    journal.set_status("registered")
    assert json.loads(journal.path.read_text())["status"] == "registered"
    with pytest.raises(ValueError):
        journal.set_status("bogus")


def test_staged_writes_are_throttled(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "SAVE_INTERVAL", 3600)
    monkeypatch.setattr(journal_module, "SAVE_EVERY_BLOCKS", 3)
    journal = make(tmp_path)
    journal.mark_staged("model.safetensors", "00000-00000000")
    journal.mark_staged("model.safetensors", "00000-00000001")
    assert UploadJournal.load("https://p|m|1").file("model.safetensors").block_ids == []
    journal.mark_staged("model.safetensors", "00000-00000002")  # the third block forces a write
    assert len(UploadJournal.load("https://p|m|1").file("model.safetensors").block_ids) == 3


def test_matches_detects_a_changed_source(cache: Path, tmp_path: Path) -> None:
    files = [weight(tmp_path, "a.bin", 100), weight(tmp_path, "b.bin", 200)]
    journal = make(tmp_path, files=files)
    assert journal.matches(files)
    assert journal.matches(list(reversed(files)))  # order does not matter
    assert not journal.matches(files[:1])  # a file gone
    assert not journal.matches([*files, weight(tmp_path, "c.bin", 1)])  # a file added
    path = files[0].path
    path.write_bytes(b"y" * 100)  # same size, new content
    os.utime(path, ns=(files[0].mtime_ns + 10**9, files[0].mtime_ns + 10**9))
    stat = path.stat()
    touched = WeightFile(path=path, relative="a.bin", size=100, mtime_ns=stat.st_mtime_ns)
    assert not journal.matches([touched, files[1]])
    grown = WeightFile(path=path, relative="a.bin", size=101, mtime_ns=files[0].mtime_ns)
    assert not journal.matches([grown, files[1]])


def test_list_all_and_delete(cache: Path, tmp_path: Path) -> None:
    assert UploadJournal.list_all() == []
    first = make(tmp_path, key="k1")
    second = make(tmp_path, key="k2", name="other")
    (cache / "uploads" / "garbage.json").write_text("{not json")
    found = UploadJournal.list_all()
    assert sorted(j.key for j in found) == ["k1", "k2"]
    first.delete()
    first.delete()  # idempotent
    assert [j.key for j in UploadJournal.list_all()] == ["k2"]
    assert UploadJournal.load("k1") is None
    second.delete()


def test_reset_file_keeps_only_confirmed_blocks(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)
    for i in range(3):
        journal.mark_staged("model.safetensors", f"00000-{i:08d}")
    journal.reset_file("model.safetensors", keep={"00000-00000001", "not-journaled"})
    assert journal.file("model.safetensors").block_ids == ["00000-00000001"]


def test_large_files_record_a_grown_block_size(cache: Path, tmp_path: Path) -> None:
    huge = WeightFile(path=tmp_path / "huge", relative="huge", size=500 * 1024 * MIB, mtime_ns=1)
    journal = make(tmp_path, files=[huge], block_size=8 * MIB)
    # 500 GiB in 8 MiB blocks would be 64,000 blocks: over the 50,000 limit, so 16 MiB.
    assert journal.file("huge").block_size == 16 * MIB


def test_thread_safe_marking(cache: Path, tmp_path: Path) -> None:
    journal = make(tmp_path)

    def mark(start: int) -> None:
        for i in range(start, start + 200):
            journal.mark_staged("model.safetensors", f"00000-{i:08d}")

    threads = [threading.Thread(target=mark, args=(n * 200,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    journal.flush()
    loaded = UploadJournal.load("https://p|m|1")
    assert loaded is not None
    assert len(loaded.file("model.safetensors").block_ids) == 1600
    leftovers = [p for p in (cache / "uploads").iterdir() if p.suffix != ".json"]
    assert leftovers == []  # no temp files left behind
