"""hf:// sources through huggingface_hub against a loopback stand-in of the hub's few routes
(revision, tree listing, resolve redirecting to a pre-signed Azurite URL), selected with
HF_ENDPOINT as huggingface_hub honours: files, declared SHA-256s, the pinned commit, where the
token goes, and a server-side copy of the pre-signed file."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import quote

import pytest
from azurite_support import Storage, random_bytes
from conftest import Seen, Site, ranged_file

from azmodels_magic.clients.copy import BlobCopy
from azmodels_magic.errors import UploadError, ValidationError
from azmodels_magic.http.backoff import TransportSettings
from azmodels_magic.sources.hub import HubSource

pytest.importorskip("huggingface_hub")
COMMIT = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_SECRETTOKENVALUE"
NO_RETRIES = TransportSettings(max_retries=0)


def _json(value: object, status: int = 200) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(value).encode()


def _hub_error(status: int, code: str):
    return lambda seen: (status, {"X-Error-Code": code, "X-Error-Message": code}, b"{}")


@pytest.fixture
def hub(site: Site, storage: Storage, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """A hub with repository org/tiny at COMMIT: weights in LFS (served pre-signed from Azurite)
    under `sub/`, and a small config.json the hub serves itself."""
    monkeypatch.setenv("HF_ENDPOINT", site.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    container = storage.container()
    weights = random_bytes(700_000)
    config = b'{"model_type": "llama"}'
    storage.put(container, "lfs/abc", weights)
    presigned = storage.url(container, "lfs/abc", storage.sas(container))
    digest = hashlib.sha256(weights).hexdigest()
    files = [
        {"type": "file", "path": "sub/config.json", "size": len(config), "oid": "c0ffee"},
        {"type": "directory", "path": "sub/inner", "oid": "d1"},
        {
            "type": "file", "path": "sub/model.safetensors", "size": 133, "oid": "b10b",
            "lfs": {"size": len(weights), "oid": digest, "pointerSize": 133},
        },
    ]  # fmt: skip
    base = "/api/models/org/tiny"
    site.routes[f"{base}/revision/main"] = lambda s: _json({"id": "org/tiny", "sha": COMMIT})
    site.routes[f"{base}/tree/{COMMIT}/{quote('sub', safe='')}"] = lambda s: _json(files)
    resolve = f"/org/tiny/resolve/{COMMIT}/sub"
    site.routes[f"{resolve}/model.safetensors"] = lambda s: (
        302,
        {"Location": presigned, "X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{digest}"',
         "X-Linked-Size": str(len(weights))},
        b"",
    )  # fmt: skip
    serve_config = ranged_file(lambda: config, lambda: '"c0ffee"')
    site.routes[f"{resolve}/config.json"] = lambda s: (
        (
            200,
            {"ETag": '"c0ffee"', "X-Repo-Commit": COMMIT, "Content-Length": str(len(config))},
            b"",
        )
        if s.method == "HEAD"
        else serve_config(s)
    )
    site.routes["/api/models/org/gated/revision/main"] = _hub_error(401, "GatedRepo")
    site.routes["/api/models/org/missing/revision/main"] = _hub_error(404, "RepoNotFound")
    site.routes["/api/models/org/tiny/revision/v9"] = _hub_error(404, "RevisionNotFound")
    site.routes[f"{base}/tree/{COMMIT}/nowhere"] = _hub_error(404, "EntryNotFound")
    return {"weights": weights, "config": config, "digest": digest, "container": container}


def _authorized(seen: list[Seen]) -> list[str]:
    return [s.path for s in seen if "authorization" in s.headers]


def test_a_hub_folder_is_listed_at_its_commit_with_declared_digests(site: Site, hub) -> None:
    source = HubSource("hf://org/tiny/sub", settings=NO_RETRIES)
    files = {f.relative: f for f in source.files()}
    assert sorted(files) == ["config.json", "model.safetensors"]
    weights = files["model.safetensors"]
    assert (weights.size, weights.declared_sha256) == (len(hub["weights"]), hub["digest"])
    assert files["config.json"].declared_sha256 is None  # not in LFS: nothing declared
    assert source.commit == COMMIT and source.display == f"hf://org/tiny@{COMMIT[:12]}/sub"
    tree = [s for s in site.seen if "/tree/" in s.path]
    assert tree and all(COMMIT in s.path for s in tree)  # listed at the pinned commit


def test_an_lfs_file_is_copied_from_its_presigned_url(site: Site, storage: Storage, hub) -> None:
    source = HubSource("hf://org/tiny/sub", settings=NO_RETRIES)
    weights = next(f for f in source.files() if f.relative == "model.safetensors")
    url = source.copy_url(weights)
    assert url is not None and url.startswith(storage.azurite.blob_endpoint)
    with source.open(weights) as reader:
        assert reader.read(16) == hub["weights"][:16]
    dest = storage.container()
    BlobCopy(block_size=256 * 1024).copy(
        storage.url(dest, sas=storage.sas(dest, write=True)), weights.relative, url,
        weights.size, source_etag=source.copy_etag(weights), identity=weights.declared_sha256,
    )  # fmt: skip
    assert storage.read(dest, weights.relative) == hub["weights"]


def test_the_token_goes_to_the_hub_only(site: Site, hub, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    source = HubSource("hf://org/tiny/sub", settings=NO_RETRIES)
    files = {f.relative: f for f in source.files()}
    assert TOKEN not in (source.copy_url(files["model.safetensors"]) or "")
    # served by the hub itself, it needs the token: its bytes come through this machine
    assert source.copy_url(files["config.json"]) is None
    with source.open(files["config.json"]) as reader:
        assert reader.read() == hub["config"]
    hub_paths = _authorized(site.seen)
    assert hub_paths and all(
        p.startswith(("/api/models/org/tiny", "/org/tiny/")) for p in hub_paths
    )
    assert TOKEN not in repr(source) + source.display


def test_a_small_file_the_hub_serves_itself_comes_through_this_machine(site: Site, hub) -> None:
    """Even without a token: a git file (config, tokenizer) is a few bytes, and a hub may want
    the token for it, which storage must never be given; the LFS weights are copied."""
    source = HubSource("hf://org/tiny/sub", settings=NO_RETRIES)
    files = {f.relative: f for f in source.files()}
    assert source.copy_url(files["config.json"]) is None
    assert source.copy_url(files["model.safetensors"]) is not None
    with source.open(files["config.json"]) as reader:
        assert reader.read() == hub["config"]
    assert _authorized(site.seen) == []


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("hf://org/gated", "is gated: accept its terms on the hub, then sign in"),
        ("hf://org/missing", "has no repository hf://org/missing (or it is private"),
        ("hf://org/tiny@v9", "has no revision v9"),
        ("hf://org/tiny/nowhere", "has no folder nowhere"),
    ],
)
def test_bad_hub_sources_are_one_line(hub, spec: str, says: str) -> None:
    with pytest.raises(UploadError) as caught:
        HubSource(spec, settings=NO_RETRIES).files()
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_hf_endpoint_over_plain_http_elsewhere_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.example.com")
    with pytest.raises(ValidationError, match="HF_ENDPOINT"):
        HubSource("hf://org/tiny")
