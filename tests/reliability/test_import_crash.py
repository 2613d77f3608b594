"""An import copied server side (Put Block From URL) survives kill -9: the killed run's staged
blocks stay on the service, and the same command afterwards stages only the missing ones (counted
at the sandbox's storage relay, request by request), then registers a model whose bytes are the
source's."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from reliability_support import BLOCK, Raw, make_weights, start_app, upload_line
from test_upload_guarantees import kill, start_child, wait_paused

from azmodels_magic.sandbox.azurite import DEV_ACCOUNT
from azmodels_magic.sandbox.protocol import STORAGE_TRAFFIC_PATH
from azmodels_magic.uploadstate import UploadJournal


@pytest.fixture(scope="module")
def app() -> Iterator:
    az = start_app(extra_args=["--count-storage-traffic"])
    yield az
    az.close()


def service(app):
    from azure.storage.blob import BlobServiceClient

    info = app.sandbox_info
    return BlobServiceClient(
        info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": info.storage_key},
    )


def requests_to(app, blob: str, since: int) -> list[dict]:
    response = requests.get(f"{app.sandbox_info.arm_endpoint}{STORAGE_TRAFFIC_PATH}", timeout=30)
    assert response.status_code == 200, response.text
    return [
        r
        for r in response.json()["value"][since:]
        if r["method"] == "PUT" and r["path"].endswith(f"/{blob}")
    ]


def traffic_count(app) -> int:
    response = requests.get(f"{app.sandbox_info.arm_endpoint}{STORAGE_TRAFFIC_PATH}", timeout=30)
    return len(response.json()["value"])


def test_a_copy_killed_mid_way_resumes_without_copying_staged_blocks_again(
    app, tmp_path: Path
) -> None:
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    data = make_weights(tmp_path, seed=23).read_bytes()
    blocks = -(-len(data) // BLOCK)
    assert blocks >= 6
    source = service(app).get_container_client("crash-source")
    source.create_container()
    source.upload_blob("model.safetensors", data)
    sas = generate_blob_sas(
        DEV_ACCOUNT, "crash-source", "model.safetensors", account_key=app.sandbox_info.storage_key,
        permission=BlobSasPermissions(read=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )  # fmt: skip
    url = f"{app.sandbox_info.blob_endpoint}/crash-source/model.safetensors?{sas}"
    name = "copy-killed"

    child = start_child(app, url, name, "copy-blocks")
    try:
        wait_paused(child, "copy-blocks")
    finally:
        kill(child)

    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None and journal.status == "uploading"
    assert "sig=" not in journal.source and "?" not in journal.source
    container = journal.container_url.rstrip("/").rsplit("/", 1)[1]
    target = service(app).get_container_client(container).get_blob_client("model.safetensors")
    committed, staged = target.get_block_list("all")
    assert (len(committed), len(staged)) == (0, 3)  # exactly what the killed run staged

    since = traffic_count(app)
    before = app.uploads.block_size, app.uploads.workers
    app.uploads.block_size, app.uploads.workers = BLOCK, 2
    try:
        outcome = app.execute(upload_line(url, name))
    finally:
        app.uploads.block_size, app.uploads.workers = before
    puts = requests_to(app, "model.safetensors", since)
    # The missing blocks, each staged from the URL (no body), and the commit: nothing twice.
    assert len(puts) == blocks - 3 + 1, puts
    assert sum(1 for r in puts if r["bodyBytes"]) == 1
    report = outcome.value
    assert report.bytes_skipped == 3 * BLOCK and report.bytes_sent == 0
    raw = Raw(app.sandbox_info)
    stored = raw.download(name, "1")
    assert hashlib.sha256(stored["model.safetensors"]).digest() == hashlib.sha256(data).digest()
    assert [m["version"] for m in raw.registry() if m["name"] == name] == ["1"]


def test_a_hub_import_killed_mid_copy_resumes_from_the_pinned_commit(app, tmp_path) -> None:
    """The same from hf://: the journal names the commit the repository was listed at, and the
    weights' blocks (ids from the hub's declared SHA-256) are not copied twice."""
    block = 16 * 1024
    env = {"HF_ENDPOINT": app.sandbox_info.arm_endpoint, "HF_HOME": str(tmp_path / "hf"),
           "CRASH_BLOCK_SIZE": str(block)}  # fmt: skip
    name = "hub-killed"
    child = start_child(app, "hf://sandbox-org/tiny-chat", name, "copy-blocks", env=env)
    try:
        wait_paused(child, "copy-blocks")
    finally:
        kill(child)
    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None and journal.source.startswith("hf://sandbox-org/tiny-chat@")
    commit = journal.source.rsplit("@", 1)[1]
    assert len(commit) == 40  # pinned to the full commit, not the branch
    container = journal.container_url.rstrip("/").rsplit("/", 1)[1]
    target = service(app).get_container_client(container).get_blob_client("model.safetensors")
    assert [len(x) for x in target.get_block_list("all")] == [0, 3]

    saved = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_HOME")}
    os.environ.update({k: env[k] for k in saved})
    since = traffic_count(app)
    try:
        outcome = app.execute(upload_line(journal.source, name))  # what `uploads list` says
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    files = {f.relative: f for f in outcome.value.plan.info.files}
    size = files["model.safetensors"].size
    puts = requests_to(app, "model.safetensors", since)
    assert len(puts) == -(-size // block) - 3 + 1, puts  # the missing blocks and the commit
    assert outcome.value.bytes_skipped == 3 * block
    assert outcome.value.sha256_declared == ["model.safetensors"]
