"""FoundryClient: custom models in a Foundry project (the project data plane)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import requests

from ..errors import (
    AzModelsError,
    NotFoundError,
    OperationFailedError,
    OperationTimeoutError,
    ServiceError,
)
from ..http.backoff import MAX_SERVER_DELAY, server_delay
from ..http.origin import may_follow_operation
from ..http.plane import Plane, StatusCallback, segment
from ..records import CustomModel
from ..redaction import get_logger, strip_query
from .storage import storage_origin

log = get_logger(__name__)
_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
_FAILED_STATES = {"Failed", "Canceled", "Cancelled"}


def _body_location(response: requests.Response) -> str | None:
    """The body's `location` (createAsync's body and azd's fallback, §1), if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    location = body.get("location") if isinstance(body, dict) else None
    return location if isinstance(location, str) and location else None


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

    def register(
        self,
        name: str,
        version: str,
        body: dict[str, Any],
        *,
        context: str,
        on_status: StatusCallback | None = None,
    ) -> CustomModel:
        """createAsync, then wait for the version to be ready; the registered version.

        On Azure the 202's Location is on Azure ML's operations host, polled with this plane's
        token as azd does (EVIDENCE.md §1); a Location the token may not go to is not followed:
        the version is polled instead, as the SDK's create() does. A registration the service
        accepted is never reported failed when the version turns up ready.
        """
        response = self.create_async(name, version, body)
        deadline = time.monotonic() + self.plane.operation_timeout
        location = response.headers.get("Location") or _body_location(response)
        if location:
            location = urljoin(response.url or self.plane.base_url + "/", location)
        if location and may_follow_operation(location, self.plane.origin):
            try:
                self._follow_operation(location, response, deadline, context, on_status)
            except OperationFailedError:
                ready = self._ready_version(name, version)
                if ready is None:
                    raise
                return ready
            except OperationTimeoutError:
                raise
            except AzModelsError as exc:  # the monitor failed, not the registration: ask it
                log.debug(
                    "%s: the operation's Location failed (%s); polling the version", context, exc
                )
        return self._poll_version(name, version, deadline, context, on_status)

    def _follow_operation(
        self,
        url: str,
        last: requests.Response,
        deadline: float,
        context: str,
        on_status: StatusCallback | None,
    ) -> None:
        """Poll the operation until it ends; return when it succeeded (azd's rules, §1): 202 =
        running (a new Location is followed), 200 `{status}`, or 200 with the model itself."""
        plane = self.plane
        while True:
            self._pause(last, deadline, context)
            last = plane.request(
                "GET",
                url,
                context=context,
                operation=True,
                ok=lambda r: r.status_code in (200, 202),
            )
            if last.status_code == 202:
                moved = last.headers.get("Location") or _body_location(last)
                if moved:
                    url = urljoin(url, moved)
                    if not may_follow_operation(url, plane.origin):
                        raise ServiceError(
                            f"{context}: the operation moved where the token may not go."
                        )
                if on_status:
                    on_status("InProgress")
                continue
            body = plane.json(last, context) if last.content else {}
            status = body.get("status")
            if not isinstance(status, str):
                return  # the model body itself
            if on_status:
                on_status(status)
            if status.lower() == "succeeded":
                return
            if status.lower() in _TERMINAL:
                error = body.get("error") if isinstance(body.get("error"), dict) else {}
                raise OperationFailedError(
                    f"{context} ended {status}: "
                    f"{error.get('message') or 'the service gave no reason'}",
                    code=error.get("code"),
                    request_id=last.headers.get("x-ms-request-id"),
                )

    def _poll_version(
        self,
        name: str,
        version: str,
        deadline: float,
        context: str,
        on_status: StatusCallback | None,
    ) -> CustomModel:
        """GET the version until it is ready (the SDK's create() polls until it stops answering
        404, §1). Seen and then gone, or in a failed state: the registration failed."""
        seen = False
        while True:
            try:
                model = self.get_version(name, version)
            except NotFoundError:
                if seen:
                    raise OperationFailedError(
                        f"{context} ended Failed: the service removed the version it was "
                        "registering."
                    ) from None
                model = None
            if model is not None:
                seen = True
                if model.ready:
                    return model
                if model.provisioning_state in _FAILED_STATES:
                    raise OperationFailedError(f"{context} ended {model.provisioning_state}.")
                if on_status:
                    on_status(model.provisioning_state)
            self._pause(None, deadline, context)

    def _ready_version(self, name: str, version: str) -> CustomModel | None:
        try:
            model = self.get_version(name, version)
        except AzModelsError:
            return None
        return model if model.ready else None

    def _pause(self, last: requests.Response | None, deadline: float, context: str) -> None:
        plane = self.plane
        asked = server_delay(last.headers) if last is not None else None
        wait = plane.poll_interval if asked is None else min(asked, MAX_SERVER_DELAY)
        if time.monotonic() + wait > deadline:
            raise OperationTimeoutError(
                f"{context} is still running after {plane.operation_timeout:.0f}s; it may "
                "still finish on the service: check again later."
            )
        plane._sleep(wait)

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

    def delete_version(self, name: str, version: str) -> None:
        """Remove a registration. The answer says nothing about whether there was one: the spec
        says 204 and SDK 2.10 says 200, each whether or not it existed (EVIDENCE.md §2); callers
        know from the GET they made before."""
        self.plane.request(
            "DELETE", self._version_path(name, version), context=f"Delete '{name}' {version}"
        )

    def read_credential(self, name: str, version: str, blob_uri: str) -> BlobReference:
        """A SAS to read the version's weights at `blob_uri` (its blobUri, without query)."""
        context = f"Storage access for '{name}' version {version}"
        response = self.plane.request(
            "POST",
            self._version_path(name, version) + "/credentials",
            json={"blobUri": blob_uri},  # ModelCredentialRequest: blobUri required (§2)
            context=context,
        )
        return BlobReference.from_rest(self.plane.json(response, context))
