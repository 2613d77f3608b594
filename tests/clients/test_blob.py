"""BlobTransfer against a real Azurite: correctness, SHA-256, bounded memory, resume, secrecy."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from azmodels_magic.clients.blob import (
    DEFAULT_BLOCK_SIZE,
    MAX_BLOCK_SIZE,
    MIB,
    BlobTransfer,
    block_size_for,
    block_sizes_for,
    default_workers,
)
from azmodels_magic.errors import UploadError
from azmodels_magic.http.backoff import TransportSettings
from azmodels_magic.records import WeightFile
from azmodels_magic.sandbox.azurite import DEV_ACCOUNT, Azurite
from azmodels_magic.sources.local import LocalSource
from azmodels_magic.uploadstate import UploadJournal

azure_blob = pytest.importorskip("azure.storage.blob")
REPO = Path(__file__).resolve().parents[2]
KIB = 1024

NO_RETRIES = TransportSettings(max_retries=0)
# The transfer opens each listed WeightFile at its own path, whatever folder the source names.
LOCAL = LocalSource(REPO)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    server = Azurite.start(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def service(azurite: Azurite):
    return azure_blob.BlobServiceClient.from_connection_string(azurite.connection_string)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def sas_url(azurite: Azurite, service, *, read_only: bool = False) -> tuple[str, str]:
    """A fresh container and a container SAS URL for it."""
    container = f"w{uuid.uuid4().hex[:12]}"
    service.create_container(container)
    if read_only:
        permission = azure_blob.ContainerSasPermissions(read=True, list=True)
    else:
        permission = azure_blob.ContainerSasPermissions(
            read=True, add=True, create=True, write=True, list=True
        )
    token = azure_blob.generate_container_sas(
        DEV_ACCOUNT,
        container,
        account_key=azurite.account_key,
        permission=permission,
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )
    return container, f"{azurite.blob_endpoint}/{container}?{token}"


def write(root: Path, relative: str, size: int) -> WeightFile:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    stat = path.stat()
    return WeightFile(path=path, relative=relative, size=stat.st_size, mtime_ns=stat.st_mtime_ns)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download(service, container: str, name: str) -> bytes:
    return service.get_blob_client(container, name).download_blob().readall()


def new_journal(key: str, files: list[WeightFile], url: str, block_size: int) -> UploadJournal:
    return UploadJournal.create(
        key,
        name="m",
        version="1",
        source=str(files[0].path.parent),
        pending_upload_id="pu-1",
        container_url=url,
        block_size=block_size,
        files=files,
        block_sizes=block_sizes_for(files, block_size),
    )


# ------------------------------------------------------------------------- sizing


def test_block_size_grows_in_powers_of_two_up_to_the_limit() -> None:
    assert block_size_for(10) == DEFAULT_BLOCK_SIZE
    assert block_size_for(50_000 * DEFAULT_BLOCK_SIZE) == DEFAULT_BLOCK_SIZE
    assert block_size_for(50_000 * DEFAULT_BLOCK_SIZE + 1) == 2 * DEFAULT_BLOCK_SIZE
    assert block_size_for(50_001 * 256 * KIB, 256 * KIB) == 512 * KIB
    assert block_size_for(50_000 * 3000 * MIB) == MAX_BLOCK_SIZE
    with pytest.raises(UploadError):
        block_size_for(50_000 * MAX_BLOCK_SIZE + 1)
    with pytest.raises(ValueError):
        BlobTransfer(block_size=MAX_BLOCK_SIZE + 1)
    assert 1 <= default_workers() <= 8
    assert BlobTransfer().max_workers == default_workers()


# ------------------------------------------------------------------------- transfers


def test_a_source_copied_server_side_is_refused_before_anything_is_sent(
    azurite: Azurite, service, tmp_path: Path
) -> None:
    container, url = sas_url(azurite, service)
    file = write(tmp_path, "model.bin", 600 * KIB)

    class Remote(LocalSource):  # hands a URL: its blocks would be staged from it (not built)
        def copy_url(self, file) -> str:
            return "https://example.invalid/model.bin"

    with pytest.raises(UploadError) as caught:
        BlobTransfer(block_size=256 * KIB).upload(url, Remote(tmp_path), [file])
    assert "server side" in str(caught.value)
    assert list(service.get_container_client(container).list_blobs()) == []


def test_single_small_file(azurite: Azurite, service, tmp_path: Path) -> None:
    container, url = sas_url(azurite, service)
    file = write(tmp_path, "config.json", 1234)
    seen: list[int] = []
    result = BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, [file], on_progress=seen.append)
    data = download(service, container, "config.json")
    assert data == file.path.read_bytes()
    [digest] = result.files
    assert (digest.relative, digest.size, digest.blocks) == ("config.json", 1234, 0)
    assert digest.sha256 == sha(data)
    assert (result.bytes_sent, result.bytes_skipped, sum(seen)) == (1234, 0, 1234)
    props = service.get_blob_client(container, "config.json").get_blob_properties()
    assert props.metadata["sha256"] == digest.sha256


def test_multi_block_file_round_trips(azurite: Azurite, service, tmp_path: Path) -> None:
    container, url = sas_url(azurite, service)
    file = write(tmp_path, "model.safetensors", 5 * MIB + 123)
    transfer = BlobTransfer(block_size=256 * KIB, max_workers=4)
    totals: list[int] = []
    deltas: list[int] = []
    result = transfer.upload(url, LOCAL, [file], on_start=totals.append, on_progress=deltas.append)
    data = download(service, container, "model.safetensors")
    [digest] = result.files
    assert digest.sha256 == sha(data) == sha(file.path.read_bytes())
    assert digest.blocks == 21
    assert totals == [file.size]
    assert sum(deltas) == result.bytes_sent == file.size
    assert result.bytes_skipped == 0 and result.seconds > 0
    committed, _ = service.get_blob_client(container, "model.safetensors").get_block_list()
    assert len(committed) == 21
    assert len({len(b.id) for b in committed}) == 1  # every id of a blob has the same length


def test_folder_with_nested_paths(azurite: Azurite, service, tmp_path: Path) -> None:
    container, url = sas_url(azurite, service)
    src = tmp_path / "model"
    files = [
        write(src, "config.json", 300),
        write(src, "empty.txt", 0),
        write(src, "weights/part-1.safetensors", 1 * MIB + 7),
        write(src, "weights/deep/part-2.safetensors", 256 * KIB),  # exactly one block
        write(src, "tokenizer/tokenizer.json", 70 * KIB),
    ]
    result = BlobTransfer(block_size=256 * KIB, max_workers=3).upload(url, LOCAL, files)
    names = sorted(b.name for b in service.get_container_client(container).list_blobs())
    assert names == sorted(f.relative for f in files)
    assert [d.relative for d in result.files] == [f.relative for f in files]
    for file, digest in zip(files, result.files, strict=True):
        data = download(service, container, file.relative)
        assert data == file.path.read_bytes()
        assert digest.sha256 == sha(data) and digest.size == file.size
    assert [d.blocks for d in result.files] == [0, 0, 5, 0, 0]
    assert result.bytes_sent == sum(f.size for f in files)


def test_journal_records_the_upload_without_the_sas(
    azurite: Azurite, service, tmp_path: Path
) -> None:
    _, url = sas_url(azurite, service)
    files = [write(tmp_path, "a.bin", 600 * KIB), write(tmp_path, "b/c.bin", 10)]
    journal = new_journal("ep|m|1", files, url, 256 * KIB)
    result = BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, files, journal=journal)
    text = journal.path.read_text()
    assert "sig=" not in text.lower() and "?" not in text
    loaded = UploadJournal.load("ep|m|1")
    assert loaded is not None and loaded.complete and loaded.status == "uploaded"
    assert loaded.container_url == url.split("?")[0]
    by_name = {d.relative: d.sha256 for d in result.files}
    assert {f.relative: f.sha256 for f in loaded.files} == by_name


def test_a_complete_journal_skips_everything(azurite: Azurite, service, tmp_path: Path) -> None:
    _, url = sas_url(azurite, service)
    files = [write(tmp_path, "a.bin", 600 * KIB), write(tmp_path, "b.json", 10)]
    journal = new_journal("ep|m|2", files, url, 256 * KIB)
    first = BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, files, journal=journal)
    skips: list[int] = []
    again = BlobTransfer(block_size=256 * KIB).upload(
        url, LOCAL, files, journal=UploadJournal.load("ep|m|2"), on_skip=skips.append
    )
    assert again.bytes_sent == 0 and again.bytes_skipped == sum(f.size for f in files)
    assert skips == [again.bytes_skipped]
    assert again.files == first.files


def test_a_committed_blob_that_vanished_is_sent_again(
    azurite: Azurite, service, tmp_path: Path
) -> None:
    container, url = sas_url(azurite, service)
    files = [write(tmp_path, "a.bin", 600 * KIB)]
    journal = new_journal("ep|m|3", files, url, 256 * KIB)
    BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, files, journal=journal)
    service.get_blob_client(container, "a.bin").delete_blob()
    again = BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, files, journal=journal)
    assert again.bytes_sent == files[0].size
    assert download(service, container, "a.bin") == files[0].path.read_bytes()


def test_bounded_memory_blocks_read_but_not_stored(
    azurite: Azurite, service, tmp_path: Path
) -> None:
    """Memory holds at most workers + 2 blocks: measured from outside, as bytes the transfer
    has read from the file minus bytes the service has acknowledged (on_progress)."""
    _, url = sas_url(azurite, service)
    block = 64 * KIB
    file = write(tmp_path, "big.bin", 4 * MIB)
    workers = 2
    lock = threading.Lock()
    read = [0]
    stored = [0]
    peak = [0]

    class CountingFile:
        def __init__(self, handle) -> None:
            self.handle = handle

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            self.handle.close()

        def fileno(self) -> int:
            return self.handle.fileno()

        def read(self, size: int = -1) -> bytes:
            data = self.handle.read(size)
            with lock:
                read[0] += len(data)
                peak[0] = max(peak[0], read[0] - stored[0])
            return data

    class CountingSource(LocalSource):  # every byte the transfer reads, through its source
        def open(self, file):
            return CountingFile(super().open(file))  # CountingFile closes it

        def check_unchanged(self, file, reader) -> None:
            super().check_unchanged(file, reader.handle)

    def slow(delta: int) -> None:  # slow workers: the reader runs ahead as far as it may
        with lock:
            stored[0] += delta
        time.sleep(0.01)

    result = BlobTransfer(block_size=block, max_workers=workers).upload(
        url, CountingSource(tmp_path), [file], on_progress=slow
    )
    assert read[0] == file.size  # every byte went through the wrapper: the count is real
    assert workers * block < peak[0] <= (workers + 2) * block
    assert result.files[0].sha256 == sha(file.path.read_bytes())


# ------------------------------------------------------------------------- resume

CHILD = """
import os, time
from pathlib import Path
from azmodels_magic.clients.blob import BlobTransfer
from azmodels_magic.uploadstate import UploadJournal
from azmodels_magic.records import WeightFile
from azmodels_magic.sources.local import LocalSource

path = Path(os.environ["SRC"])
stat = path.stat()
file = WeightFile(path=path, relative="model.bin", size=stat.st_size, mtime_ns=stat.st_mtime_ns)
journal = UploadJournal.load(os.environ["KEY"])
BlobTransfer(block_size=256 * 1024, max_workers=1).upload(
    os.environ["URL"], LocalSource(path), [file], journal=journal,
    on_progress=lambda n: time.sleep(0.05),
)
"""


def test_resume_after_kill_9(azurite: Azurite, service, tmp_path: Path) -> None:
    container, url = sas_url(azurite, service)
    file = write(tmp_path, "model.bin", 16 * MIB)
    blocks = 64
    key = "ep|resume|1"
    new_journal(key, [file], url, 256 * KIB)
    env = {
        **os.environ,
        "SRC": str(file.path),
        "KEY": key,
        "URL": url,
        "PYTHONPATH": str(REPO),
    }
    child = subprocess.Popen([sys.executable, "-c", CHILD], env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        staged = 0
        while time.monotonic() < deadline and child.poll() is None:
            journal = UploadJournal.load(key)
            staged = len(journal.file("model.bin").block_ids) if journal else 0
            if staged >= 0.4 * blocks:
                break
            time.sleep(0.02)
        assert child.poll() is None, "the upload finished before it could be interrupted"
        assert staged >= 0.4 * blocks
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()

    journal = UploadJournal.load(key)
    assert journal is not None and not journal.complete
    assert journal.matches([file])
    skips: list[int] = []
    # The journal's block size wins over a different one given now.
    transfer = BlobTransfer(block_size=8 * MIB, max_workers=4)
    result = transfer.upload(url, LOCAL, [file], journal=journal, on_skip=skips.append)
    assert result.bytes_sent <= 0.6 * file.size
    assert result.bytes_skipped >= 0.4 * file.size
    assert result.bytes_sent + result.bytes_skipped == file.size
    assert skips == [result.bytes_skipped]
    data = download(service, container, "model.bin")
    assert sha(data) == result.files[0].sha256 == sha(file.path.read_bytes())
    assert result.files[0].blocks == blocks
    assert UploadJournal.load(key).complete


def test_a_changed_source_is_refused(azurite: Azurite, service, tmp_path: Path) -> None:
    _, url = sas_url(azurite, service)
    file = write(tmp_path, "model.bin", 600 * KIB)
    journal = new_journal("ep|changed|1", [file], url, 256 * KIB)
    journal.mark_staged("model.bin", "00000-00000000")
    file.path.write_bytes(os.urandom(600 * KIB + 1))
    stat = file.path.stat()
    changed = WeightFile(file.path, "model.bin", stat.st_size, stat.st_mtime_ns)
    assert not journal.matches([changed])
    with pytest.raises(UploadError, match="changed"):
        BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, [changed], journal=journal)
    # A file that changes after it was listed (stale WeightFile) is refused too, not mixed.
    with pytest.raises(UploadError, match="changed"):
        BlobTransfer(block_size=256 * KIB).upload(url, LOCAL, [file])


# ------------------------------------------------------------------------- failures, secrets


def test_refused_upload_is_one_redacted_line_and_keeps_the_journal(
    azurite: Azurite, service, tmp_path: Path
) -> None:
    _, url = sas_url(azurite, service, read_only=True)
    file = write(tmp_path, "model.bin", 600 * KIB)
    journal = new_journal("ep|denied|1", [file], url, 256 * KIB)
    with pytest.raises(UploadError) as caught:
        BlobTransfer(block_size=256 * KIB, settings=NO_RETRIES).upload(
            url, LOCAL, [file], journal=journal
        )
    text = str(caught.value)
    assert "\n" not in text and "sig=" not in text.lower()
    assert "403" in text and caught.value.status == 403
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    loaded = UploadJournal.load("ep|denied|1")
    assert loaded is not None and loaded.status == "uploading" and not loaded.complete


def test_unreachable_storage_is_an_upload_error(tmp_path: Path) -> None:
    file = write(tmp_path, "model.bin", 10)
    url = "http://127.0.0.1:9/devstoreaccount1/c1?sv=2024&sig=TOPSECRET"
    with pytest.raises(UploadError) as caught:
        BlobTransfer(settings=NO_RETRIES).upload(url, LOCAL, [file])
    assert "TOPSECRET" not in str(caught.value) and "TOPSECRET" not in repr(caught.value)


def test_no_secret_in_reprs_or_logs(
    azurite: Azurite, service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = sas_url(azurite, service)
    signature = url.split("sig=")[1].split("&")[0]
    file = write(tmp_path, "model.bin", 600 * KIB)
    transfer = BlobTransfer(block_size=256 * KIB)
    journal = new_journal("ep|logs|1", [file], url, 256 * KIB)
    with caplog.at_level(logging.DEBUG):
        transfer.upload(url, LOCAL, [file], journal=journal)
    assert caplog.records  # urllib3 and azure-core did log at DEBUG
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert signature not in logged
    assert "?<redacted>" in logged  # urllib3 request lines are there, without their query
    for text in (repr(transfer), repr(journal), str(vars(transfer))):
        assert "sig=" not in text and signature not in text


def test_callbacks_are_serialised(azurite: Azurite, service, tmp_path: Path) -> None:
    _, url = sas_url(azurite, service)
    file = write(tmp_path, "model.bin", 2 * MIB)
    inside = threading.Lock()
    overlaps: list[int] = []

    def on_progress(delta: int) -> None:
        if not inside.acquire(blocking=False):
            overlaps.append(delta)
            return
        time.sleep(0.002)
        inside.release()

    BlobTransfer(block_size=64 * KIB, max_workers=4).upload(
        url, LOCAL, [file], on_progress=on_progress
    )
    assert overlaps == []
