"""Helpers of the reliability batteries: a raw HTTP view of a sandbox (independent of the client
under test, and patient with injected faults), state snapshots, weights checks, the lifecycle.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from azmodels_support import start_app  # noqa: F401 - re-exported for the batteries

from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.sandbox_launcher import SandboxInfo

ARM_VERSION = "2025-06-01"
FOUNDRY_VERSION = "2025-11-15-preview"
BLOCK = 256 * 1024
# ~1.6 MB of tensor data: seven 256 KiB blocks
TENSORS = {"lm_head.weight": ("F32", (400, 1000)), "norm.weight": ("F16", (1000,))}


def make_weights(folder: Path, name: str = "model.safetensors", seed: int = 7) -> Path:
    return write_safetensors(folder / name, TENSORS, seed=seed)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    return sha256(path.read_bytes())


class Raw:
    """requests against a sandbox with its owner token; retries what a fault may answer."""

    def __init__(self, info: SandboxInfo) -> None:
        self.info = info
        self.session = requests.Session()
        self.account = (
            f"{info.arm_endpoint}/subscriptions/{info.subscription_id}/resourceGroups/"
            f"{info.resource_group}/providers/Microsoft.CognitiveServices/accounts/{info.account}"
        )
        self.project = info.project_endpoint

    def call(self, method: str, url: str, *, token: str | None = None, **kwargs: Any):
        params = dict(kwargs.pop("params", {}) or {})
        if "api-version=" not in url:
            params["api-version"] = FOUNDRY_VERSION if url.startswith(self.project) else ARM_VERSION
        headers = {"Authorization": f"Bearer {token or self.info.token}"}
        for _ in range(60):
            response = self.session.request(
                method, url, params=params, headers=headers, timeout=30, **kwargs
            )
            if response.status_code not in (429, 500, 503):
                return response
            time.sleep(0.05)
        raise AssertionError(f"{method} {url}: still {response.status_code}")

    def items(self, url: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            response = self.call("GET", next_url)
            assert response.status_code == 200, response.text
            body = response.json()
            out += body.get("value") or []
            next_url = body.get("nextLink")
        return out

    # -- state -------------------------------------------------------------------------------

    def registry(self) -> list[dict[str, Any]]:
        """Every custom model version, normalised (no ids, times or container names)."""
        found = []
        for model in self.items(f"{self.project}/models"):
            for v in self.items(f"{self.project}/models/{model['name']}/versions"):
                found.append(
                    {
                        "name": v["name"],
                        "version": v["version"],
                        "description": v.get("description"),
                        "weightType": v.get("weightType"),
                        "baseModel": v.get("baseModel"),
                        "tags": v.get("tags") or {},
                        "state": v.get("provisioningState"),
                    }
                )
        return sorted(found, key=lambda m: (m["name"], m["version"]))

    def deployments(self) -> list[dict[str, Any]]:
        found = []
        for d in self.items(f"{self.account}/deployments"):
            props = d.get("properties") or {}
            found.append(
                {
                    "name": d["name"],
                    "sku": d.get("sku"),
                    "model": props.get("model"),
                    "state": props.get("provisioningState"),
                    "running": props.get("deploymentState"),
                    "tags": d.get("tags") or {},
                }
            )
        return sorted(found, key=lambda d: d["name"])

    def snapshot(self) -> dict[str, Any]:
        return {"registry": self.registry(), "deployments": self.deployments()}

    def wait_settled(self, timeout: float = 20) -> dict[str, Any]:
        """The snapshot once no deployment or registration is still moving."""
        deadline = time.monotonic() + timeout
        while True:
            snap = self.snapshot()
            moving = [d for d in snap["deployments"] if d["state"] != "Succeeded"]
            moving += [m for m in snap["registry"] if m["state"] != "Succeeded"]
            if not moving or time.monotonic() > deadline:
                return snap
            time.sleep(0.2)

    # -- weights -----------------------------------------------------------------------------

    def read_sas(self, name: str, version: str) -> str:
        base = f"{self.project}/models/{name}/versions/{version}"
        got = self.call("GET", base)
        assert got.status_code == 200, got.text
        blob_uri = got.json()["blobUri"]
        response = self.call("POST", f"{base}/credentials", json={"blobUri": blob_uri})
        assert response.status_code == 200, response.text
        return response.json()["blobReferenceForConsumption"]["credential"]["sasUri"]

    def upload_sas(self, name: str, version: str) -> str:
        response = self.call(
            "POST",
            f"{self.project}/models/{name}/versions/{version}/startPendingUpload",
            json={"pendingUploadType": "TemporaryBlobReference"},
        )
        assert response.status_code == 200, response.text
        return response.json()["blobReferenceForConsumption"]["credential"]["sasUri"]

    def download(self, name: str, version: str) -> dict[str, bytes]:
        """Every blob of a registered model, through the credentials route (as a user would)."""
        from azure.storage.blob import ContainerClient

        client = ContainerClient.from_container_url(self.read_sas(name, version))
        try:
            return {b.name: client.download_blob(b.name).readall() for b in client.list_blobs()}
        finally:
            client.close()

    def blob_count(self) -> dict[str, int]:
        """Blobs (committed or staged) per container in the sandbox's Azurite, via its key: the
        project's storage only (the hub stand-in's own container is not Azure's)."""
        from azure.storage.blob import BlobServiceClient

        from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

        conn = (
            f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
            f"AccountKey={self.info.storage_key};BlobEndpoint={self.info.blob_endpoint};"
        )
        service = BlobServiceClient.from_connection_string(conn)
        try:
            counts = {}
            for container in project_containers(service):
                client = service.get_container_client(container.name)
                counts[container.name] = sum(
                    1 for _ in client.list_blobs(include=["uncommittedblobs"])
                )
            return counts
        finally:
            service.close()


def project_containers(service) -> list:
    """The containers of the sandbox's Azurite that stand for the project's storage: all but
    the hub stand-in's own (not Azure's)."""
    from azmodels_magic.sandbox.hub_routes import HUB_CONTAINER

    return [c for c in service.list_containers() if c.name != HUB_CONTAINER]


def one_line(text: str) -> bool:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return len(lines) == 1


@contextmanager
def magic_app_on(shell, info: SandboxInfo | None = None, **settings: Any) -> Iterator[Any]:
    """The %azmodels magic's own AzModels, pointed at a sandbox for a while, then put back as it
    was (other test modules share the session's shell)."""
    from azmodels_magic.api import _CONNECTION_TRAITS
    from azmodels_magic.auth import StaticTokenCredential

    app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    connection = {name: getattr(app, name) for name in _CONNECTION_TRAITS}
    others = {name: getattr(app, name) for name in ("progress", "debug", *settings)}
    saved_info, saved_credential = app.sandbox_info, app.credential
    try:
        for name, value in {"progress": False, "debug": False, **settings}.items():
            setattr(app, name, value)
        if info is not None:
            app.use_sandbox(info)
        yield app
    finally:
        for name, value in others.items():
            setattr(app, name, value)
        app.set_connection(**connection)  # no credential: leaves a sandbox it was pointed at
        if saved_info is not None:
            own = isinstance(saved_credential, StaticTokenCredential) and (
                saved_credential.get_token().token == saved_info.token
            )  # the sandbox's own token, as `use_sandbox` gives it
            app.use_sandbox(saved_info, credential=None if own else saved_credential)
        elif saved_credential is not None:
            app.set_connection(credential=saved_credential)


def upload_line(source: object, name: str, *extra: str) -> list[str]:
    """`upload` of `source` as `name` (registered on gpt-4o, as uploads need a base model)."""
    return ["upload", "--base-model", "gpt-4o", "--source", str(source), "--name", name, *extra]
