"""Remote sources over real HTTP: the one parser of `--source`, an https URL (redirects, ranged
reads conditional on the ETag), Azure blobs (a blob, a prefix, a container) on Azurite, and a
server-side copy from each; headers are read with ranged reads, never a full download."""

from __future__ import annotations

import hashlib
import json
import struct

import pytest
from azurite_support import Storage, random_bytes
from conftest import Site, ranged_file, redirect

from azmodels_magic.clients.copy import BlobCopy
from azmodels_magic.errors import UploadError, ValidationError
from azmodels_magic.http.backoff import TransportSettings
from azmodels_magic.sources.blob import BlobSource
from azmodels_magic.sources.hub import HubSource
from azmodels_magic.sources.remote import remote_source
from azmodels_magic.sources.url import MAX_REDIRECTS, UrlSource
from azmodels_magic.weights.detect import _probe_bytes
from azmodels_magic.weights.safetensors import _parse_header

NO_RETRIES = TransportSettings(max_retries=0)
MIB = 1024 * 1024


def safetensors_bytes(data_size: int) -> bytes:
    """A safetensors file: one U8 tensor of `data_size` bytes."""
    header = json.dumps(
        {"t": {"dtype": "U8", "shape": [data_size], "data_offsets": [0, data_size]}}
    ).encode()
    return struct.pack("<Q", len(header)) + header + random_bytes(data_size)


def read_header(reader) -> dict:
    """What the upload path reads of a weights file: its format from the first bytes, then (for
    safetensors) the header, through the source's seekable reader."""
    head = reader.read(512)
    size = reader.seek(0, 2)
    reader.seek(len(head))
    assert _probe_bytes(reader, head, size).format == "safetensors"
    reader.seek(0)
    (n,) = struct.unpack("<Q", reader.read(8))
    return _parse_header(reader.read(n))


# ------------------------------------------------------------------ the one parser


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ftp://example.com/m.bin", "ftp:// is not a source"),
        ("s3://bucket/m.bin", "s3:// is not a source"),
        ("http://example.com/m.bin", "use https"),
        ("https://user:secret@example.com/m.bin", "user name or password"),
        ("https://example.com\\@127.0.0.1/m.bin", "backslash"),
        ("https://example.com/m.bin#frag", "#fragment"),
        ("https://example.com/", "no file name"),
        ("hf://just-a-name", "hf://ORG/REPO[@REVISION][/SUBFOLDER]"),
        ("hf://org/repo@", "hf://ORG/REPO[@REVISION][/SUBFOLDER]"),
        ("hf://org/re po", "hf://ORG/REPO[@REVISION][/SUBFOLDER]"),
        ("hf://org/repo/../../etc", "no empty, '.' or '..' parts"),
        ("https://a.blob.core.windows.net/?sv=1&sig=SECRET", "names no container"),
    ],
)
def test_a_bad_source_is_one_line_without_its_secret(text: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        remote_source(text)
    line = str(caught.value)
    assert says in line and "\n" not in line
    assert "secret" not in line.lower()


def test_each_kind_of_source_is_told_apart(storage: Storage) -> None:
    assert remote_source("./weights") is None
    assert remote_source("C:/Users/me/model") is None  # a drive letter, not a scheme
    hub = remote_source("hf://org/repo@v1.0/sub/dir")
    assert isinstance(hub, HubSource) and str(hub.spec) == "hf://org/repo@v1.0/sub/dir"
    assert isinstance(remote_source("https://example.com/m.gguf"), UrlSource)
    assert isinstance(remote_source("http://127.0.0.1:9/m.gguf"), UrlSource)  # loopback
    azure = remote_source("https://acct.blob.core.windows.net/models/llama/")
    assert isinstance(azure, BlobSource)
    container = storage.container()
    sas_url = storage.url(container, "x", storage.sas(container))
    emulated = remote_source(sas_url)
    assert isinstance(emulated, BlobSource)  # the emulator: known by the SAS in its query
    assert "sig" not in emulated.display and "sig" not in repr(emulated)


# ------------------------------------------------------------------ https URL


def test_a_url_source_follows_redirects_and_reads_the_header_by_ranges(site: Site) -> None:
    data = safetensors_bytes(4 * MIB)
    site.routes["/files/model.safetensors"] = ranged_file(lambda: data, lambda: '"v1"')
    site.routes["/dl/model.safetensors"] = redirect("/files/model.safetensors")
    source = remote_source(f"{site.url}/dl/model.safetensors?token=abc&sig=SECRET")
    assert isinstance(source, UrlSource) and "SECRET" not in source.display + repr(source)
    (file,) = source.files()
    assert (file.relative, file.size, file.version) == ("model.safetensors", len(data), '"v1"')
    assert source.copy_url(file) == f"{site.url}/files/model.safetensors"
    with source.open(file) as reader:
        assert read_header(reader) == {
            "t": {"dtype": "U8", "shape": [4 * MIB], "data_offsets": [0, 4 * MIB]}
        }
        reader.seek(len(data) - 10)
        assert reader.read() == data[-10:]
    assert site.body_bytes < MIB  # ranges, never the whole file
    ranged = [s for s in site.seen if s.method == "GET"]
    assert ranged and all(s.headers.get("if-match") == '"v1"' for s in ranged)


def test_a_presigned_url_that_refuses_head_is_sized_by_a_ranged_get(site: Site) -> None:
    """A pre-signed GET link's signature names its method: HEAD gets 403."""
    data = random_bytes(5000)
    serve = ranged_file(lambda: data, lambda: '"s3"')
    site.routes["/bucket/m.gguf"] = lambda seen: (
        (403, {}, b"") if seen.method == "HEAD" else serve(seen)
    )
    (file,) = UrlSource(f"{site.url}/bucket/m.gguf?X-Amz-Signature=abc").files()
    assert (file.size, file.version) == (5000, '"s3"')
    assert [s.headers.get("range") for s in site.seen if s.method == "GET"] == ["bytes=0-0"]


def test_a_url_source_changed_while_read_is_refused(site: Site) -> None:
    state = {"data": random_bytes(600_000), "etag": '"a"'}
    site.routes["/m.bin"] = ranged_file(lambda: state["data"], lambda: state["etag"])
    source = UrlSource(f"{site.url}/m.bin", settings=NO_RETRIES)
    (file,) = source.files()
    with source.open(file) as reader:
        reader.read(10)
        state.update(data=random_bytes(600_000), etag='"b"')
        reader.seek(400_000)
        with pytest.raises(UploadError, match="changed during the copy"):
            reader.read(10)


def test_redirect_loops_and_chains_are_one_line(site: Site) -> None:
    site.routes["/a"] = redirect("/b")
    site.routes["/b"] = redirect(f"{site.url}/a")
    with pytest.raises(UploadError, match="redirects in a loop") as caught:
        UrlSource(f"{site.url}/a").files()
    assert "\n" not in str(caught.value)
    for i in range(MAX_REDIRECTS + 2):
        site.routes[f"/c{i}"] = redirect(f"/c{i + 1}")
    with pytest.raises(UploadError, match=f"more than {MAX_REDIRECTS} times"):
        UrlSource(f"{site.url}/c0").files()


def test_a_redirect_to_plain_http_elsewhere_is_refused(site: Site) -> None:
    site.routes["/m.bin"] = redirect("http://example.com/m.bin?sig=SECRET")
    with pytest.raises(ValidationError, match="use https") as caught:
        UrlSource(f"{site.url}/m.bin").files()
    assert "SECRET" not in str(caught.value)


def test_a_missing_or_forbidden_url_is_one_line(site: Site) -> None:
    site.routes["/gone.bin"] = lambda seen: (404, {}, b"")
    site.routes["/private.bin"] = lambda seen: (403, {}, b"")
    with pytest.raises(UploadError, match=r"gone.bin was not found \(404\)"):
        UrlSource(f"{site.url}/gone.bin?sig=SECRET", settings=NO_RETRIES).files()
    with pytest.raises(UploadError, match=r"refused access \(403\)") as caught:
        UrlSource(f"{site.url}/private.bin?sig=SECRET", settings=NO_RETRIES).files()
    assert "SECRET" not in str(caught.value)


def test_a_url_on_storage_is_copied_server_side(storage: Storage, site: Site) -> None:
    """A pre-signed link that redirects to storage: storage copies from where it leads."""
    container = storage.container()
    data = safetensors_bytes(3 * MIB)
    storage.put(container, "m.safetensors", data)
    signed = storage.url(container, "m.safetensors", storage.sas(container))
    site.routes["/download/m.safetensors"] = redirect(signed)
    source = UrlSource(f"{site.url}/download/m.safetensors")
    (file,) = source.files()
    dest = storage.container()
    BlobCopy(block_size=MIB).copy(
        storage.url(dest, sas=storage.sas(dest, write=True)), file.relative,
        source.copy_url(file), file.size, source_etag=file.version,
    )  # fmt: skip
    assert storage.read(dest, "m.safetensors") == data


# ------------------------------------------------------------------ Azure blobs


def _model_container(storage: Storage) -> tuple[str, dict[str, bytes]]:
    container = storage.container()
    files = {
        "llama/model.safetensors": safetensors_bytes(MIB),
        "llama/config.json": b'{"model_type": "llama"}',
        "llama/sub/extra.bin": random_bytes(1000),
        "other/unrelated.bin": random_bytes(10),
    }
    for name, data in files.items():
        metadata = {"sha256": hashlib.sha256(data).hexdigest()} if name.endswith(".json") else {}
        storage.put(container, name, data, metadata=metadata)
    return container, files


def test_a_blob_prefix_lists_its_files_with_what_they_declare(storage: Storage) -> None:
    container, files = _model_container(storage)
    sas = storage.sas(container)
    source = remote_source(storage.url(container, "llama", sas))
    listed = {f.relative: f for f in source.files()}
    assert sorted(listed) == ["config.json", "model.safetensors", "sub/extra.bin"]
    assert listed["model.safetensors"].size == MIB + len(files["llama/model.safetensors"]) - MIB
    config = listed["config.json"]
    assert config.declared_sha256 == hashlib.sha256(files["llama/config.json"]).hexdigest()
    assert listed["model.safetensors"].declared_sha256 is None  # nobody declared one
    assert all(f.version and f.version.startswith('"') for f in listed.values())
    with source.open(listed["model.safetensors"]) as reader:
        assert read_header(reader)["t"]["shape"] == [MIB]

    whole = remote_source(storage.url(container, sas=sas))
    assert len(whole.files()) == 4  # a container: every blob
    one = remote_source(storage.url(container, "llama/config.json", sas))
    assert [f.relative for f in one.files()] == ["config.json"]  # a blob: its last segment
    assert (source.folder, whole.folder, one.folder) == (True, True, False)


def test_a_blob_prefix_is_copied_blob_to_blob(storage: Storage) -> None:
    container, files = _model_container(storage)
    source = remote_source(storage.url(container, "llama/", storage.sas(container)))
    dest = storage.container()
    dest_url = storage.url(dest, sas=storage.sas(dest, write=True))
    for file in source.files():
        BlobCopy(block_size=256 * 1024).copy(
            dest_url, file.relative, source.copy_url(file), file.size,
            source_etag=file.version, shown=f"{source.display}/{file.relative}",
        )  # fmt: skip
        assert storage.read(dest, file.relative) == files[f"llama/{file.relative}"]


def test_bad_blob_sources_are_one_line(storage: Storage) -> None:
    container, _ = _model_container(storage)
    with pytest.raises(UploadError, match="holds no blob") as caught:
        remote_source(storage.url(container, "nothing/", storage.sas(container))).files()
    assert "sig=" not in str(caught.value)
    missing = storage.url("nosuchcontainer", "x", storage.sas("nosuchcontainer"))
    with pytest.raises(UploadError, match="was not found"):
        BlobSource(missing, settings=NO_RETRIES).files()
    with pytest.raises(ValidationError, match="expired at"):
        remote_source(storage.url(container, "llama", storage.sas(container, hours=-1)))
    forbidden = storage.url(container, "llama/", storage.sas(container, read=False, write=True))
    with pytest.raises(UploadError, match=r"refused access \(403") as caught:
        BlobSource(forbidden, settings=NO_RETRIES).files()
    assert "sig=" not in str(caught.value) and "\n" not in str(caught.value)


def test_a_blob_changed_while_its_header_is_read_is_refused(storage: Storage) -> None:
    container = storage.container()
    storage.put(container, "m.bin", random_bytes(600_000))
    source = BlobSource(storage.url(container, "m.bin", storage.sas(container)))
    (file,) = source.files()
    with source.open(file) as reader:
        reader.read(10)
        storage.put(container, "m.bin", random_bytes(600_000))
        reader.seek(500_000)
        with pytest.raises(UploadError, match="changed during the copy"):
            reader.read(10)


def test_a_remote_gguf_header_is_read_in_growing_ranges_never_whole(site: Site, tmp_path) -> None:
    from azmodels_magic.sample_weights import write_gguf
    from azmodels_magic.sources.local import LocalSource
    from azmodels_magic.weights import inspect_source

    # A vocabulary long enough that the header runs past the first range (1 MiB), and 8 MiB of
    # tensor data after it that no header read needs.
    tokens = [f"token-{i:06d}-" + "x" * 40 for i in range(30_000)]
    path = write_gguf(
        tmp_path / "big-vocab.gguf", tokens=tokens, tensors={"output.weight": ("F32", (2048, 1024))}
    )
    data = path.read_bytes()
    site.routes["/m/big-vocab.gguf"] = ranged_file(lambda: data, lambda: '"g1"')
    info = inspect_source(remote_source(f"{site.url}/m/big-vocab.gguf"))
    assert info.format == "gguf"
    assert info.details == inspect_source(LocalSource(path)).details
    # Past the first range (the header is longer), never the tensors.
    assert MIB < site.body_bytes < len(data) // 2
