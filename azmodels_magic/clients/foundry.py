"""FoundryClient: custom models in a Foundry project (the project data plane)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import requests

from ..errors import ServiceError
from ..http.plane import Plane, StatusCallback, segment
from ..records import CustomModel
from ..redaction import strip_query
from .storage import storage_origin


@dataclass(frozen=True)
class BlobReference:
    """Where weights go (or are): a container URL and the SAS to reach it (never shown)."""

    blob_uri: str
    sas_url: str = field(repr=False)
    pending_upload_id: str = ""

    @classmethod
    def from_rest(cls, body: dict[str, Any]) -> BlobReference:
        # Two shapes are seen in the wild (azure-api.md): accept both.
        ref = body.get("blobReferenceForConsumption") or body.get("blobReference") or {}
        credential = ref.get("credential") or {}
        sas = credential.get("sasUri") or credential.get("sasUrl") or ""
        blob_uri = ref.get("blobUri") or strip_query(sas)
        if not sas or not blob_uri:
            raise ServiceError("The service answered without a storage location or credential.")
        storage_origin(sas)  # refused here, before any caller holds a SAS it must not send
        return cls(
            blob_uri=strip_query(blob_uri),
            sas_url=sas,
            pending_upload_id=body.get("pendingUploadId")
            or body.get("temporaryDataReferenceId")
            or "",
        )


class FoundryClient:
    """Typed access to the Foundry project's model routes of azure-api.md."""

    def __init__(self, plane: Plane) -> None:
        self.plane = plane

    def __repr__(self) -> str:
        return f"FoundryClient({self.plane.base_url})"

    @staticmethod
    def _version_path(name: str, version: str) -> str:
        return f"/models/{segment(name)}/versions/{segment(version)}"

    def iter_models(self) -> Iterator[CustomModel]:
        for item in self.plane.iter_items("/models", context="Custom models"):
            yield CustomModel.from_rest(item)

    def iter_versions(self, name: str) -> Iterator[CustomModel]:
        for item in self.plane.iter_items(
            f"/models/{segment(name)}/versions", context=f"Model '{name}'"
        ):
            yield CustomModel.from_rest(item)

    def get_version(self, name: str, version: str) -> CustomModel:
        body = self.plane.get_json(
            self._version_path(name, version), context=f"Model '{name}' version {version}"
        )
        return CustomModel.from_rest(body)

    def start_pending_upload(
        self, name: str, version: str, *, pending_upload_id: str | None = None
    ) -> BlobReference:
        body: dict[str, Any] = {"pendingUploadType": "TemporaryBlobReference"}
        if pending_upload_id:
            body["pendingUploadId"] = pending_upload_id
        context = f"Upload slot for '{name}' version {version}"
        response = self.plane.request(
            "POST",
            self._version_path(name, version) + "/startPendingUpload",
            json=body,
            context=context,
        )
        return BlobReference.from_rest(self.plane.json(response, context))

    def create_async(self, name: str, version: str, body: dict[str, Any]) -> requests.Response:
        return self.plane.request(
            "POST",
            self._version_path(name, version) + "/createAsync",
            json=body,
            context=f"Register '{name}' version {version}",
        )

    def wait(
        self, response: requests.Response, *, context: str, on_status: StatusCallback | None = None
    ) -> dict[str, Any]:
        return self.plane.wait(response, context=context, on_status=on_status)

    def update_version(
        self, name: str, version: str, *, description: str | None, tags: dict[str, str | None]
    ) -> CustomModel:
        body: dict[str, Any] = {}
        if description is not None:
            body["description"] = description
        if tags:
            body["tags"] = tags
        context = f"Update '{name}' version {version}"
        response = self.plane.request(
            "PATCH",
            self._version_path(name, version),
            json=body,
            headers={"Content-Type": "application/merge-patch+json"},
            context=context,
        )
        return CustomModel.from_rest(self.plane.json(response, context))

    def delete_version(self, name: str, version: str) -> bool:
        """True when a registration was removed, False when there was none."""
        response = self.plane.request(
            "DELETE", self._version_path(name, version), context=f"Delete '{name}' {version}"
        )
        return response.status_code != 204

    def read_credential(self, name: str, version: str, blob_uri: str) -> BlobReference:
        """A SAS to read `blob_uri` (the version's blobUri: ModelCredentialRequest requires it)."""
        context = f"Storage access for '{name}' version {version}"
        response = self.plane.request(
            "POST",
            self._version_path(name, version) + "/credentials",
            json={"blobUri": blob_uri},
            context=context,
        )
        return BlobReference.from_rest(self.plane.json(response, context))
