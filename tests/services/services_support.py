"""Helpers for the service tests: read the registry and the stored bytes the way an outsider
would (the Foundry REST routes, azure-storage-blob, Azurite's development account), so the
tests check what really happened rather than what our own clients report."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

FOUNDRY_VERSION = "2025-11-15-preview"
MANIFEST = "azmodels-manifest.json"  # what earlier uploads wrote next to the weights


def sha256_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def source_digests(root: Path) -> dict[str, str]:
    """relative posix path -> SHA-256 of every file under a folder (or of one file)."""
    if root.is_file():
        return {root.name: sha256_file(root)}
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- the registry, through the REST routes -------------------------------------------------------


def _get(app, path: str) -> requests.Response:
    info = app.sandbox_info
    return requests.get(
        info.project_endpoint + path,
        params={"api-version": FOUNDRY_VERSION},
        headers={"Authorization": f"Bearer {info.token}"},
        timeout=30,
    )


def _all(app, path: str) -> list[dict[str, Any]]:
    info = app.sandbox_info
    items: list[dict[str, Any]] = []
    response = _get(app, path)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        if not body.get("nextLink"):
            return items
        response = requests.get(
            body["nextLink"], headers={"Authorization": f"Bearer {info.token}"}, timeout=30
        )


def registry(app) -> list[tuple[str, str]]:
    """(name, version) of every custom model version in the project, sorted."""
    found = []
    for model in _all(app, "/models"):
        found += [(v["name"], v["version"]) for v in _all(app, f"/models/{model['name']}/versions")]
    return sorted(found)


def registered(app, name: str, version: str) -> dict[str, Any] | None:
    response = _get(app, f"/models/{name}/versions/{version}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def versions_of(app, name: str) -> list[str]:
    return [v["version"] for v in _all(app, f"/models/{name}/versions")]


# -- stored bytes ----------------------------------------------------------------------------------


def read_sas(app, name: str, version: str) -> str:
    """The read SAS of a registered model, from the credentials route."""
    info = app.sandbox_info
    blob_uri = _get(app, f"/models/{name}/versions/{version}").json()["blobUri"]
    response = requests.post(
        f"{info.project_endpoint}/models/{name}/versions/{version}/credentials",
        params={"api-version": FOUNDRY_VERSION},
        headers={"Authorization": f"Bearer {info.token}"},
        json={"blobUri": blob_uri},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["blobReferenceForConsumption"]["credential"]["sasUri"]


def stored_files(app, name: str, version: str) -> dict[str, bytes]:
    """Every blob of a registered model, downloaded through its read credential."""
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_container_url(read_sas(app, name, version)) as container:
        return {b.name: container.download_blob(b.name).readall() for b in container.list_blobs()}


def stored_metadata(app, name: str, version: str) -> dict[str, dict[str, str]]:
    """Every blob of a registered model -> its metadata, through its read credential."""
    from azure.storage.blob import ContainerClient

    with ContainerClient.from_container_url(read_sas(app, name, version)) as container:
        return {b.name: dict(b.metadata or {}) for b in container.list_blobs(include=["metadata"])}


def container_name(blob_uri: str) -> str:
    return urlsplit(blob_uri).path.strip("/").split("/")[1]


def dev_blobs(app, container: str, *, uncommitted: bool = False) -> dict[str, int]:
    """name -> size of the blobs in a container, seen with the sandbox's storage key
    (independent of any SAS). `uncommitted` adds blobs that only have staged blocks."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    service = BlobServiceClient(
        app.sandbox_info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": app.sandbox_info.storage_key},
    )
    with service:
        client = service.get_container_client(container)
        include = ["uncommittedblobs"] if uncommitted else None
        try:
            return {b.name: int(b.size or 0) for b in client.list_blobs(include=include)}
        except ResourceNotFoundError:
            return {}


def register_directly(app, name: str, version: str, files: dict[str, bytes]) -> dict[str, Any]:
    """Register a custom model the way another tool would, straight through the Foundry REST
    routes and azure-storage-blob (no azmodels code): slot, blobs, createAsync, poll."""
    from azure.storage.blob import ContainerClient

    info = app.sandbox_info
    headers = {"Authorization": f"Bearer {info.token}"}
    params = {"api-version": FOUNDRY_VERSION}
    base = f"{info.project_endpoint}/models/{name}/versions/{version}"
    slot = requests.post(
        base + "/startPendingUpload",
        params=params,
        headers=headers,
        json={"pendingUploadType": "TemporaryBlobReference"},
        timeout=30,
    )
    assert slot.status_code == 200, slot.text
    ref = slot.json()["blobReferenceForConsumption"]
    with ContainerClient.from_container_url(ref["credential"]["sasUri"]) as container:
        for blob, data in files.items():
            container.upload_blob(blob, data, overwrite=True)
    created = requests.post(
        base + "/createAsync",
        params=params,
        headers=headers,
        json={
            "blobUri": ref["blobUri"],
            "weightType": "FullWeight",
            "description": "direct",
            "baseModel": "azureml://registries/azureml-fireworks/models/gpt-4o/versions/1",
        },
        timeout=30,
    )
    assert created.status_code == 202, created.text
    location = created.headers["Location"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        polled = requests.get(location, headers=headers, timeout=30)
        if polled.status_code == 202:  # running; the operation may move (azd follows it)
            location = polled.headers.get("Location") or location
            time.sleep(0.05)
            continue
        status = polled.json()
        if status["status"] in ("Succeeded", "Failed"):
            assert status["status"] == "Succeeded", status
            return status["result"]
        time.sleep(0.1)
    raise AssertionError(f"registration of {name} {version} did not finish")


# -- journals and a subprocess to kill -----------------------------------------------------------


def journal_of(app, name: str, version: str):
    from azmodels_magic.uploadstate import UploadJournal

    return UploadJournal.load(app.uploads.key(name, version))


def journal_fraction(path: Path) -> float:
    """Share of the bytes a journal file records as staged or committed (0 when unreadable)."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return 0.0
    total = sum(f["size"] for f in data["files"]) or 1
    done = sum(
        f["size"] if f["committed"] else min(f["size"], len(f["block_ids"]) * f["block_size"])
        for f in data["files"]
    )
    return done / total


_UPLOADER = """
import json, os, sys
from azmodels_magic import AzModels
from azmodels_magic.sandbox_launcher import SandboxInfo
az = AzModels(progress=False, poll_interval=0.1)
az.use_sandbox(SandboxInfo.from_json(os.environ["AZMODELS_TEST_SANDBOX"]))
az.uploads.block_size = int(sys.argv[1])
az.uploads.workers = int(sys.argv[2])
az.execute(sys.argv[3:])
"""


def upload_and_kill(
    app, argv: list[str], *, name: str, version: str = "1", block_size: int, workers: int,
    at: float = 0.3, timeout: float = 60,
) -> float:  # fmt: skip
    """Run `upload ...` in a child Python attached to the same sandbox, and kill -9 it once its
    journal records at least `at` of the bytes. Returns the share journaled at the kill."""
    from azmodels_magic.uploadstate import journal_path

    path = journal_path(app.uploads.key(name, version))
    env = dict(os.environ, AZMODELS_TEST_SANDBOX=json.dumps(asdict(app.sandbox_info)))
    child = subprocess.Popen(
        [sys.executable, "-c", _UPLOADER, str(block_size), str(workers), *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            fraction = journal_fraction(path)
            if fraction >= at:
                child.send_signal(signal.SIGKILL)
                child.wait(10)
                assert fraction < 1.0, "the upload finished before it could be killed"
                return journal_fraction(path)
            if child.poll() is not None:
                raise AssertionError(
                    f"the uploader exited ({child.returncode}) before {at:.0%} was journaled: "
                    f"{child.stdout.read() if child.stdout else ''}"
                )
            time.sleep(0.01)
        raise AssertionError(f"the journal never reached {at:.0%}")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        if child.stdout:
            child.stdout.close()
