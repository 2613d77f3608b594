"""BlobCopy against a real Azurite (3.37: Put Block From URL from the same instance): the stored
bytes are the source's, a resume stages only missing blocks, a changed source is refused, and a
bad source is one line without its SAS."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from azurite_support import Storage, random_bytes

from azmodels_magic.clients.blob import MAX_BLOCK_SIZE, MAX_BLOCKS
from azmodels_magic.clients.copy import BlobCopy
from azmodels_magic.errors import UploadError
from azmodels_magic.http.backoff import TransportSettings

pytest.importorskip("azure.storage.blob")
KIB = 1024
BLOCK = 256 * KIB
NO_RETRIES = TransportSettings(max_retries=0)


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Storage]:
    server = Storage.start(tmp_path_factory.mktemp("azurite"))
    try:
        yield server
    finally:
        server.stop()


def source(storage: Storage, size: int, name: str = "w/model.safetensors"):
    """A source blob of `size` random bytes: (container, its data, its SAS URL, its ETag)."""
    container = storage.container()
    data = random_bytes(size)
    blob = storage.put(container, name, data)
    return (
        container,
        data,
        storage.url(container, name, storage.sas(container)),
        blob.get_blob_properties().etag,
    )


def destination(storage: Storage) -> tuple[str, str]:
    container = storage.container()
    return container, storage.url(container, sas=storage.sas(container, write=True))


def uncommitted(storage: Storage, container: str, name: str) -> list[str]:
    blob = storage.service.get_blob_client(container, name)
    return [b.id for b in blob.get_block_list("uncommitted")[1]]


def test_a_multi_block_copy_stores_the_source_byte_for_byte(storage: Storage) -> None:
    _, data, url, etag = source(storage, 5 * BLOCK + 123)
    dest, dest_url = destination(storage)
    progress: list[int] = []
    result = BlobCopy(block_size=BLOCK, max_workers=3).copy(
        dest_url, "model.safetensors", url, len(data), source_etag=etag,
        metadata={"size": str(len(data))}, on_progress=progress.append,
    )  # fmt: skip
    assert storage.read(dest, "model.safetensors") == data
    assert (result.blocks, result.blocks_staged, result.blocks_reused) == (6, 6, 0)
    assert sum(progress) == result.bytes_copied == len(data)
    props = storage.service.get_blob_client(dest, "model.safetensors").get_blob_properties()
    assert props.metadata == {"size": str(len(data))}


class CountingProxy:
    """A TCP relay in front of Azurite that counts every byte each way: what the client really
    sent and received, measured outside it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = self.received = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(
                target=self._pipe, args=(client, upstream, "sent"), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, client, "received"), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, direction: str) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    setattr(self, direction, getattr(self, direction) + len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()


def test_no_weight_byte_passes_through_the_client(storage: Storage) -> None:
    size = 4 * 1024 * KIB
    container, data, _, etag = source(storage, size)
    proxy = CountingProxy(storage.azurite.port)
    try:
        # Both URLs name the relay: storage reads the source itself (the same instance).
        relay = storage.azurite.blob_endpoint.replace(str(storage.azurite.port), str(proxy.port))
        dest = storage.container()
        src_url = f"{relay}/{container}/w/model.safetensors?{storage.sas(container)}"
        dest_url = f"{relay}/{dest}?{storage.sas(dest, write=True)}"
        BlobCopy(block_size=BLOCK, max_workers=2).copy(
            dest_url, "m.safetensors", src_url, size, source_etag=etag
        )
    finally:
        proxy.close()
    assert storage.read(dest, "m.safetensors") == data
    assert 0 < proxy.sent + proxy.received < size // 50  # requests and answers, no weights


def test_small_and_empty_files_are_copied_too(storage: Storage) -> None:
    dest, dest_url = destination(storage)
    for size in (1, 0):
        _, data, url, etag = source(storage, size, name=f"f{size}")
        BlobCopy(block_size=BLOCK).copy(dest_url, f"f{size}", url, size, source_etag=etag)
        assert storage.read(dest, f"f{size}") == data


def test_an_interrupted_copy_resumes_without_staging_staged_blocks_again(
    storage: Storage,
) -> None:
    _, data, url, etag = source(storage, 8 * BLOCK)
    dest, dest_url = destination(storage)
    copier = BlobCopy(block_size=BLOCK, max_workers=1)
    done: list[int] = []
    with pytest.raises(UploadError, match="stopped; run it again to resume"):
        copier.copy(
            dest_url, "m.bin", url, len(data), source_etag=etag,
            on_progress=done.append, should_stop=lambda: len(done) >= 3,
        )  # fmt: skip
    staged = uncommitted(storage, dest, "m.bin")
    assert len(staged) == 3  # what the first run left on the service

    skipped: list[int] = []
    result = copier.copy(
        dest_url, "m.bin", url, len(data), source_etag=etag, on_skip=skipped.append
    )
    assert (result.blocks_reused, result.blocks_staged) == (3, 5)
    assert skipped == [3 * BLOCK] and result.bytes_copied == 5 * BLOCK
    assert storage.read(dest, "m.bin") == data


def test_a_copy_run_again_after_its_commit_fetches_nothing(storage: Storage) -> None:
    """A kill between the commit and its record: the committed blocks are reused."""
    _, data, url, etag = source(storage, 3 * BLOCK)
    dest, dest_url = destination(storage)
    copier = BlobCopy(block_size=BLOCK)
    copier.copy(dest_url, "done.bin", url, len(data), source_etag=etag)
    asked: list[int] = []

    def source_url() -> str:  # a pre-signed URL is asked for per block (renewed when old)
        asked.append(1)
        return url

    again = copier.copy(dest_url, "done.bin", source_url, len(data), source_etag=etag)
    assert (again.blocks_reused, again.bytes_copied, asked) == (3, 0, [])
    assert storage.read(dest, "done.bin") == data


def test_a_source_given_as_a_callable_is_asked_per_block(storage: Storage) -> None:
    _, data, url, etag = source(storage, 3 * BLOCK)
    dest, dest_url = destination(storage)
    asked: list[int] = []

    def source_url() -> str:
        asked.append(1)
        return url

    BlobCopy(block_size=BLOCK).copy(dest_url, "c.bin", source_url, len(data), source_etag=etag)
    assert len(asked) == 3 and storage.read(dest, "c.bin") == data


def test_blocks_of_another_source_version_are_not_reused(storage: Storage) -> None:
    container, data, url, etag = source(storage, 4 * BLOCK, name="v")
    dest, dest_url = destination(storage)
    copier = BlobCopy(block_size=BLOCK, max_workers=1)
    done: list[int] = []
    with pytest.raises(UploadError):
        copier.copy(dest_url, "v", url, len(data), source_etag=etag,
                    on_progress=done.append, should_stop=lambda: len(done) >= 2)  # fmt: skip
    new = random_bytes(4 * BLOCK)
    new_etag = storage.put(container, "v", new).get_blob_properties().etag
    result = copier.copy(dest_url, "v", url, len(new), source_etag=new_etag)
    assert result.blocks_reused == 0
    assert storage.read(dest, "v") == new


def test_a_source_changed_mid_copy_is_refused(storage: Storage) -> None:
    container, data, url, etag = source(storage, 4 * BLOCK, name="changing")
    dest, dest_url = destination(storage)

    def rewrite_source(_: int) -> None:
        storage.put(container, "changing", random_bytes(4 * BLOCK))

    with pytest.raises(UploadError) as caught:
        BlobCopy(block_size=BLOCK, max_workers=1, settings=NO_RETRIES).copy(
            dest_url, "changing", url, len(data), source_etag=etag, on_progress=rewrite_source
        )
    assert "changed during the copy" in str(caught.value)
    assert storage.service.get_blob_client(dest, "changing").exists() is False  # nothing committed


def _failure(storage: Storage, url: str, size: int = BLOCK) -> str:
    _, dest_url = destination(storage)
    with pytest.raises(UploadError) as caught:
        BlobCopy(block_size=BLOCK, settings=NO_RETRIES).copy(dest_url, "x", url, size)
    text = str(caught.value)
    assert "sig=" not in text and "\n" not in text
    return text


def test_a_missing_source_is_one_line(storage: Storage) -> None:
    container = storage.container()
    text = _failure(storage, storage.url(container, "nothing-here", storage.sas(container)))
    assert "could not find the source of x (404)" in text


def test_an_expired_or_forbidden_source_sas_is_one_line(storage: Storage) -> None:
    container, _, _, _ = source(storage, BLOCK, name="secret")
    expired = storage.url(container, "secret", storage.sas(container, hours=-1))
    assert "refused reading the source of x (403)" in _failure(storage, expired)
    no_read = storage.url(container, "secret", storage.sas(container, read=False, write=True))
    assert "refused reading the source of x (403)" in _failure(storage, no_read)


def test_a_file_over_the_service_limit_is_refused_before_any_request() -> None:
    with pytest.raises(UploadError, match="exceeds the largest block blob"):
        BlobCopy().plan(MAX_BLOCKS * MAX_BLOCK_SIZE + 1)
    assert BlobCopy(block_size=BLOCK).plan(3 * BLOCK + 1) == (BLOCK, 4)


def test_no_secret_in_the_repr(tmp_path: Path) -> None:
    assert "sig" not in repr(BlobCopy())
