"""Bad remote sources of `upload --source`, each against the sandbox over real HTTP: one clear
line, and no upload slot taken (no container with blobs in the sandbox's storage that was not
there before) and no registration left behind. A source that changes during the copy takes a
slot, by then, and leaves it empty."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from conftest import Site, ranged_file

from azmodels_magic.errors import AzModelsError
from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

pytest.importorskip("huggingface_hub")
TENSORS = {"lm_head.weight": ("F32", (400, 1000)), "norm.weight": ("F16", (1000,))}
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "Traceback" not in text, text
    assert "sig=" not in text and "hf_" not in text, text
    return text


def service(app):
    from azure.storage.blob import BlobServiceClient

    info = app.sandbox_info
    return BlobServiceClient(
        info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": info.storage_key},
    )


def blobs_by_container(app) -> dict[str, int]:
    """Bytes held (committed, or staged blocks) per container of the sandbox's storage. An
    upload slot's credential may not delete: what it discards is emptied, holding nothing."""
    store = service(app)
    held = {}
    for c in store.list_containers():
        client = store.get_container_client(c.name)
        held[c.name] = 0
        for b in client.list_blobs(include=["uncommittedblobs"]):
            _, staged = client.get_blob_client(b.name).get_block_list("all")
            held[c.name] += b.size + sum(block.size for block in staged)
    return held


def models(app) -> list[tuple[str, str]]:
    return sorted((m.name, m.version) for m in app.models.custom_models())


@contextmanager
def nothing_left(app) -> Iterator[None]:
    """No new container holding a blob, no new registration, across the block."""
    containers, registry = blobs_by_container(app), models(app)
    yield
    after = blobs_by_container(app)
    grown = {k: n for k, n in after.items() if n and n != containers.get(k)}
    assert not grown, f"bytes left behind: {grown}"
    app.models.invalidate()
    assert models(app) == registry


def refused(app, source: str, name: str, *extra: str) -> str:
    with nothing_left(app), pytest.raises(AzModelsError) as caught:
        app.execute(
            ["upload", "--base-model", "gpt-4o", "--source", source, "--name", name, *extra]
        )
    return one_line(caught.value)


def sandbox_blob(app, tmp_path, container: str, **sas: object) -> tuple[str, object]:
    """A safetensors blob in the sandbox's storage and a SAS URL of it (`sas`: overrides)."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    data = write_safetensors(tmp_path / "model.safetensors", TENSORS, seed=5).read_bytes()
    client = service(app).get_container_client(container)
    client.create_container()
    client.upload_blob("model.safetensors", data)
    options = {
        "permission": BlobSasPermissions(read=True),
        "expiry": dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        **sas,
    }
    token = generate_blob_sas(
        DEV_ACCOUNT, container, "model.safetensors", account_key=app.sandbox_info.storage_key,
        **options,
    )  # fmt: skip
    url = f"{app.sandbox_info.blob_endpoint}/{container}/model.safetensors?{token}"
    return url, client.get_blob_client("model.safetensors")


@pytest.fixture
def sandbox_hub(app, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_ENDPOINT", app.sandbox_info.arm_endpoint)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)


def test_a_hub_repository_that_does_not_exist(app, sandbox_hub) -> None:
    line = refused(app, "hf://sandbox-org/no-such-model", "no-repo")
    assert line.startswith("The hub has no repository hf://sandbox-org/no-such-model"), line


def test_a_gated_repository_without_a_token(app, sandbox_hub) -> None:
    line = refused(app, "hf://sandbox-org/gated-chat", "gated")
    assert "hf://sandbox-org/gated-chat is gated" in line and "HF_TOKEN" in line, line


def test_a_hub_repository_with_no_weight_files(app, site: Site, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HF_ENDPOINT", site.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    config = b'{"model_type": "llama"}'
    tree = [{"type": "file", "path": "config.json", "size": len(config), "oid": "c0ffee"}]
    body = json.dumps({"id": "org/configs", "sha": COMMIT}).encode()
    site.routes["/api/models/org/configs/revision/main"] = lambda s: (200, {}, body)
    site.routes[f"/api/models/org/configs/tree/{COMMIT}"] = lambda s: (
        200, {}, json.dumps(tree).encode(),
    )  # fmt: skip
    serve = ranged_file(lambda: config, lambda: '"c0ffee"')
    site.routes[f"/org/configs/resolve/{COMMIT}/{quote('config.json')}"] = lambda s: (
        (200, {"ETag": '"c0ffee"', "X-Repo-Commit": COMMIT,
               "Content-Length": str(len(config))}, b"")
        if s.method == "HEAD" else serve(s)
    )  # fmt: skip
    line = refused(app, "hf://org/configs", "configs-only")
    assert "no weights" in line.lower() or "no weight" in line.lower(), line


def test_a_blob_that_is_not_found(app, tmp_path) -> None:
    url, blob = sandbox_blob(app, tmp_path, "gone-source")
    blob.delete_blob()
    line = refused(app, url, "gone")
    assert "holds no blob" in line or "not found" in line, line


def test_a_sas_that_is_refused(app, tmp_path) -> None:
    url, _ = sandbox_blob(app, tmp_path, "forbidden-source")
    forged = url.replace("sig=", "sig=AAAA")
    line = refused(app, forged, "forbidden")
    assert "refused access (403" in line, line


def test_an_expired_sas(app, tmp_path) -> None:
    url, _ = sandbox_blob(
        app, tmp_path, "expired-source", expiry=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    )
    line = refused(app, url, "expired")
    assert "expired at" in line and "get a new one" in line, line


def test_a_redirect_loop(app, site: Site) -> None:
    site.routes["/a/model.safetensors"] = lambda s: (302, {"Location": "/b/model.safetensors"}, b"")
    site.routes["/b/model.safetensors"] = lambda s: (302, {"Location": "/a/model.safetensors"}, b"")
    line = refused(app, f"{site.url}/a/model.safetensors", "loop")
    assert "redirects in a loop" in line, line


def test_a_file_over_what_one_blob_holds(app, site: Site) -> None:
    huge = 200 * 1024**4  # 200 TiB: over 50,000 blocks of 4,000 MiB
    site.routes["/huge.safetensors"] = lambda s: (
        200, {"Content-Length": str(huge), "ETag": '"h"'}, b"",
    )  # fmt: skip
    line = refused(app, f"{site.url}/huge.safetensors", "huge")
    assert "larger than one blob can hold" in line and "nothing was sent" in line, line
    assert not any(s.headers.get("range") for s in site.seen)  # refused from the listing


def test_a_source_that_changes_during_the_copy(app, tmp_path) -> None:
    url, blob = sandbox_blob(app, tmp_path, "changing-source")
    other = write_safetensors(tmp_path / "other.safetensors", TENSORS, seed=6).read_bytes()

    class Rewrite:
        """Progress that rewrites the source once the first block is staged."""

        done = False

        def start(self, total: int) -> None:
            pass

        def skip(self, nbytes: int) -> None:
            pass

        def update(self, nbytes: int) -> None:
            if not self.done:
                self.done = True
                blob.upload_blob(other, overwrite=True)

    before = app.uploads.block_size, app.uploads.workers
    app.uploads.block_size, app.uploads.workers = 256 * 1024, 1
    try:
        with nothing_left(app), pytest.raises(AzModelsError) as caught:
            app.uploads.upload(source=url, name="changing", base_model="gpt-4o", progress=Rewrite())
    finally:
        app.uploads.block_size, app.uploads.workers = before
    line = one_line(caught.value)
    assert "changed during the copy" in line and "nothing was registered" in line, line
    assert "staged were removed" in line, line
    assert app.uploads.journals("changing") == []


def test_a_hostile_file_name_on_a_hub_is_refused_as_a_local_one_is(
    app, site: Site, monkeypatch, tmp_path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", site.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    tree = [
        {"type": "file", "path": "config.json", "size": 2, "oid": "c0ffee"},
        {"type": "file", "path": "evil\x1b[2Jname.json", "size": 2, "oid": "bad"},
    ]
    body = json.dumps({"id": "org/hostile", "sha": COMMIT}).encode()
    site.routes["/api/models/org/hostile/revision/main"] = lambda s: (200, {}, body)
    site.routes[f"/api/models/org/hostile/tree/{COMMIT}"] = lambda s: (
        200, {}, json.dumps(tree).encode(),
    )  # fmt: skip
    line = refused(app, "hf://org/hostile", "hostile")
    assert "has a control character in it" in line and "\x1b" not in line, line
    assert not [s for s in site.seen if "/resolve/" in s.path]  # refused from the listing
