"""Helpers shared by the sandbox tests: constants, a thin HTTP client, a sandbox starter."""

from __future__ import annotations

import time
from typing import Any

import requests

from azmodels_magic.sandbox_launcher import SandboxInfo, SandboxProcess

ARM_VERSION = "2025-06-01"
FOUNDRY_VERSION = "2025-11-15-preview"
PROVISION_SECONDS = 1.0
PAGE_SIZE = 5
QUOTA_SKU, QUOTA_LIMIT = "DataZoneStandard", 50


class Api:
    """requests against one sandbox, with its URLs and tokens filled in."""

    def __init__(self, info: SandboxInfo):
        self.info = info
        self.session = requests.Session()
        self.arm = info.arm_endpoint
        self.sub = f"{info.arm_endpoint}/subscriptions/{info.subscription_id}"
        self.account = (
            f"{self.sub}/resourceGroups/{info.resource_group}/providers/"
            f"Microsoft.CognitiveServices/accounts/{info.account}"
        )
        self.catalog = f"{self.sub}/providers/Microsoft.CognitiveServices/locations/eastus/models"
        self.deployments = f"{self.account}/deployments"
        self.project = info.project_endpoint

    def headers(self, token: str | None = "owner", **extra: str) -> dict[str, str]:
        out = dict(extra)
        if token == "owner":
            out["Authorization"] = f"Bearer {self.info.token}"
        elif token == "reader":
            out["Authorization"] = f"Bearer {self.info.reader_token}"
        elif token:
            out["Authorization"] = f"Bearer {token}"
        return out

    def call(
        self,
        method: str,
        url: str,
        *,
        token: str | None = "owner",
        version: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        params = dict(kwargs.pop("params", {}) or {})
        if version is None:
            version = FOUNDRY_VERSION if url.startswith(self.project) else ARM_VERSION
        if version and "api-version=" not in url:
            params["api-version"] = version
        return self.session.request(
            method, url, params=params, headers=self.headers(token, **(headers or {})), **kwargs
        )

    def list_all(self, url: str, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
        """Every item of a paged list, and how many pages it took."""
        items, pages = [], 0
        response = self.call("GET", url, **kwargs)
        while True:
            assert response.status_code == 200, response.text
            body = response.json()
            items += body["value"]
            pages += 1
            if "nextLink" not in body:
                return items, pages
            response = self.call("GET", body["nextLink"], version="")

    def deploy(self, name: str, model: dict[str, Any], sku: str, capacity: int | None = None):
        sku_body: dict[str, Any] = {"name": sku}
        if capacity is not None:
            sku_body["capacity"] = capacity
        body = {"sku": sku_body, "properties": {"model": model}}
        return self.call("PUT", f"{self.deployments}/{name}", json=body)

    def wait_deployment(self, name: str, state: str = "Succeeded", timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            response = self.call("GET", f"{self.deployments}/{name}")
            body = response.json()
            if response.status_code == 200 and body["properties"]["provisioningState"] == state:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} never reached {state}: {response.text}")
            time.sleep(0.1)

    def upload_model(
        self, name: str, version: str, files: dict[str, bytes], **register: Any
    ) -> requests.Response:
        """startPendingUpload, upload `files` through the SAS, then createAsync (its reply)."""
        from azure.storage.blob import ContainerClient

        base = f"{self.project}/models/{name}/versions/{version}"
        slot = self.call(
            "POST",
            f"{base}/startPendingUpload",
            json={"pendingUploadType": "TemporaryBlobReference"},
        )
        assert slot.status_code == 200, slot.text
        ref = slot.json()["blobReferenceForConsumption"]
        container = ContainerClient.from_container_url(ref["credential"]["sasUri"])
        for path, data in files.items():
            container.upload_blob(path, data, overwrite=True)
        body = {"blobUri": ref["blobUri"], "weightType": "FullWeight", **register}
        return self.call("POST", f"{base}/createAsync", json=body)

    def credentials(self, version_url: str, blob_uri: str | None = None) -> requests.Response:
        """POST .../credentials with the body the spec requires (ModelCredentialRequest): the
        version's blobUri, read from the version when not given ("" when there is none)."""
        if blob_uri is None:
            blob_uri = self.call("GET", version_url).json().get("blobUri", "")
        return self.call("POST", f"{version_url}/credentials", json={"blobUri": blob_uri})

    def wait_operation(self, url: str, timeout: float = 10) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.call("GET", url, version="").json()
            if body["status"] not in ("NotStarted", "InProgress"):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"operation still {body['status']}: {url}")
            time.sleep(0.1)


class Clock:
    """Whether a check ran early enough for a timeline assertion to hold: on a loaded machine a
    request can arrive after the state it means to see is over, and the check is then skipped."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def before(self, seconds: float) -> bool:
        return time.monotonic() - self.start < seconds


def start_sandbox(**kwargs: Any) -> SandboxProcess:
    kwargs.setdefault("provision_seconds", PROVISION_SECONDS)
    kwargs.setdefault("page_size", PAGE_SIZE)
    process = SandboxProcess(**kwargs)
    process.start(timeout=60)
    return process
