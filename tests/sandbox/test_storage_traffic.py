"""Counting what clients send to storage and receive from it (`serve --count-storage-traffic`): the
blob endpoint is a counting relay in front of Azurite, and STORAGE_TRAFFIC_PATH says each
request's body bytes and its answer's. A server-side copy (Put Block From URL, Azurite 3.37)
through it moves no body bytes either way."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import pytest
import requests
from sandbox_support import start_sandbox

from azmodels_magic.sandbox.protocol import STORAGE_TRAFFIC_PATH
from azmodels_magic.sandbox_launcher import SandboxProcess

DEV_ACCOUNT = "devstoreaccount1"


@pytest.fixture(scope="module")
def counted() -> Iterator[SandboxProcess]:
    process = start_sandbox(extra_args=["--count-storage-traffic"])
    yield process
    process.stop()


def traffic(info) -> dict:
    response = requests.get(f"{info.arm_endpoint}{STORAGE_TRAFFIC_PATH}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def service(info, **options):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(
        info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": info.storage_key},
        **options,
    )


def test_the_hub_is_seeded_at_start_and_the_sandboxs_own_calls_are_not_counted(
    counted: SandboxProcess,
) -> None:
    info = counted.info
    hub = service(info).get_container_client("hub")  # before any hub route was asked
    assert len(list(hub.list_blobs())) == 8  # two repositories of four files
    assert traffic(info)["bodyBytes"] == 0  # the seeding went to Azurite directly


def test_an_upload_counts_its_body_bytes_and_never_the_query(counted: SandboxProcess) -> None:
    info = counted.info
    container = service(info).get_container_client("counted-upload")
    container.create_container()
    before = traffic(info)
    data = os.urandom(300_000)
    container.upload_blob("weights.bin", data)
    after = traffic(info)
    assert after["bodyBytes"] - before["bodyBytes"] == len(data)
    puts = [r for r in after["value"][len(before["value"]) :] if r["method"] == "PUT"]
    assert [r["bodyBytes"] for r in puts] == [len(data)]
    assert puts[0]["path"] == f"/{DEV_ACCOUNT}/counted-upload/weights.bin"
    # A SAS-signed request is recorded without its query.
    sas_url = container.get_blob_client("weights.bin").url
    assert all("?" not in r["path"] and "sig=" not in r["path"] for r in after["value"])
    assert sas_url.startswith(info.blob_endpoint)


def test_a_server_side_copy_from_the_hub_sends_no_body_bytes(counted: SandboxProcess) -> None:
    info = counted.info
    head = requests.head(
        f"{info.arm_endpoint}/sandbox-org/tiny-chat/resolve/main/model.safetensors",
        allow_redirects=False,
        timeout=30,
    )
    assert head.status_code == 302
    source, size = head.headers["Location"], int(head.headers["X-Linked-Size"])
    sha256 = head.headers["X-Linked-Etag"].strip('"')
    container = service(info).get_container_client("counted-copy")
    container.create_container()
    target = container.get_blob_client("model.safetensors")
    before = traffic(info)
    half = size // 2
    blocks = []
    for n, (offset, length) in enumerate(((0, half), (half, size - half))):
        block_id = base64.b64encode(f"block-{n:05d}".encode()).decode()
        target.stage_block_from_url(block_id, source, source_offset=offset, source_length=length)
        blocks.append(block_id)
    staged = traffic(info)
    target.commit_block_list(blocks)
    stages = staged["value"][len(before["value"]) :]
    assert len(stages) == 2 and all(r["method"] == "PUT" for r in stages)
    assert staged["bodyBytes"] == before["bodyBytes"]  # the weights never crossed the client
    assert staged["responseBodyBytes"] == before["responseBodyBytes"]  # neither way
    assert hashlib.sha256(target.download_blob().readall()).hexdigest() == sha256


def test_a_download_counts_the_answers_body_bytes(counted: SandboxProcess) -> None:
    info = counted.info
    mib = 1024 * 1024  # read in 1 MiB ranges
    ranged = service(info, max_single_get_size=mib, max_chunk_get_size=mib)
    container = ranged.get_container_client("counted-download")
    container.create_container()
    data = os.urandom(5 * 1024 * 1024 + 123)
    blob = container.get_blob_client("weights.bin")
    blob.upload_blob(data)
    before = traffic(info)
    # Ranged reads in parallel, then a HEAD (a Content-Length but no body) on the same client.
    assert blob.download_blob(max_concurrency=3).readall() == data
    assert blob.get_blob_properties().size == len(data)
    after = traffic(info)
    answered = after["value"][len(before["value"]) :]
    gets = [r for r in answered if r["method"] == "GET"]
    heads = [r for r in answered if r["method"] == "HEAD"]
    assert sum(r["responseBodyBytes"] for r in gets) == len(data)
    assert len(gets) > 1  # the SDK read it in ranges, each counted against its own request
    assert heads and all(r["responseBodyBytes"] == 0 for r in heads)
    assert after["responseBodyBytes"] - before["responseBodyBytes"] == len(data)
    assert after["bodyBytes"] == before["bodyBytes"]  # a download sends nothing up


def test_a_sandbox_started_without_counting_says_so(sandbox: SandboxProcess) -> None:
    response = requests.get(f"{sandbox.info.arm_endpoint}{STORAGE_TRAFFIC_PATH}", timeout=30)
    assert response.status_code == 404
    assert "--count-storage-traffic" in response.json()["error"]["message"]
