"""FoundryClient: custom models in a Foundry project (the project data plane)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ..errors import (
    AzModelsError,
    NotFoundError,
    OperationFailedError,
    OperationTimeoutError,
    ServiceError,
)
from ..http.backoff import MAX_SERVER_DELAY, server_delay
from ..http.operation import TERMINAL, Operation, Poll, StatusCallback, poll_until
from ..http.origin import may_follow_operation
from ..http.plane import Plane, segment
from ..records import CustomModel
from ..redaction import get_logger, strip_query
from .storage import storage_origin

if TYPE_CHECKING:
    import requests

log = get_logger(__name__)
_FAILED_STATES = {"Failed", "Canceled", "Cancelled"}


def _body_location(response: requests.Response) -> str | None:
    """The body's `location` (createAsync's body and azd's fallback, §1), if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    location = body.get("location") if isinstance(body, dict) else None
    return location if isinstance(location, str) and location else None


class Registration(Operation):
    """createAsync's operation, followed to a ready version (EVIDENCE.md §1).

    On Azure the 202's Location is on Azure ML's operations host, polled with the project
    plane's token as azd does; a Location the token may not go to (`may_follow_operation`) is
    not followed: the version is polled instead, as the SDK's create() does. A registration the
    service accepted is never reported failed when the version turns up ready. `model` is the
    registered version once `wait` returns."""

    def __init__(self, client: FoundryClient, response: requests.Response, *, name: str,
                 version: str, context: str) -> None:  # fmt: skip
        super().__init__(client.plane, response, context=context)
        self.client, self.name, self.version = client, name, version
        location = response.headers.get("Location") or _body_location(response)
        self.target = (
            urljoin(response.url or client.plane.base_url + "/", location) if location else ""
        )
        self.model: CustomModel | None = None

    @property
    def finished_on_arrival(self) -> bool:
        return False  # ready only when the version says so

    @property
    def followed_by(self) -> str:
        if self.target and may_follow_operation(self.target, self.client.plane.origin):
            return "Location"
        return "the version"

    def wait(self, *, timeout: float | None = None, on_status: StatusCallback | None = None):
        """Follow the registration to a ready version; the version as a dict (`model` holds
        the record). Raises OperationFailedError / OperationTimeoutError as Operation does."""
        limit = self.plane.operation_timeout if timeout is None else timeout
        started = self.clock.now()
        if self.followed_by == "Location":
            try:
                self._follow_operation(limit, on_status)
            except OperationFailedError:
                ready = self.client._ready_version(self.name, self.version)
                if ready is None:
                    raise
                self.model = ready
                return {"status": "Succeeded"}
            except OperationTimeoutError:
                raise
            except AzModelsError as exc:  # the monitor failed, not the registration: ask it
                log.debug("%s: its Location failed (%s); polling the version", self.context, exc)
        left = max(0.0, limit - (self.clock.now() - started))
        self.model = self._poll_version(left, on_status)
        self.status = "Succeeded"
        return {"status": "Succeeded"}

    def _follow_operation(self, timeout: float, on_status: StatusCallback | None) -> None:
        """Poll the operation until it ends (azd's rules, §1): 202 = running (a new Location is
        followed), 200 `{status}`, or 200 with the model itself (= succeeded)."""
        plane, url = self.plane, [self.target]

        def step() -> Poll:
            answer = plane.request(
                "GET",
                url[0],
                context=self.context,
                operation=True,
                ok=lambda r: r.status_code in (200, 202),
            )
            if answer.status_code == 202:
                moved = answer.headers.get("Location") or _body_location(answer)
                if moved:
                    url[0] = urljoin(url[0], moved)
                    if not may_follow_operation(url[0], plane.origin):
                        raise ServiceError(
                            f"{self.context}: the operation moved where the token may not go."
                        )
                polled = Poll(answer, {}, "InProgress")
            else:
                body = plane.json(answer, self.context) if answer.content else {}
                status = body.get("status")
                polled = Poll(answer, body, status if isinstance(status, str) else "Succeeded")
            if on_status:
                on_status(polled.status)
            return polled

        last = poll_until(
            step,
            lambda last: last.status.lower() in TERMINAL,
            first=Poll(None, self.initial, "InProgress"),
            interval=self._interval,
            timeout=timeout,
            clock=self.clock,
            what=self.context,
        )
        if last.status.lower() != "succeeded":
            error = last.body.get("error") if isinstance(last.body.get("error"), dict) else {}
            raise OperationFailedError(
                f"{self.context} ended {last.status}: "
                f"{error.get('message') or 'the service gave no reason'}",
                code=error.get("code"),
                request_id=last.answer.headers.get("x-ms-request-id") if last.answer else None,
            )

    def _interval(self, last: Poll) -> float:
        asked = server_delay(last.answer.headers) if last.answer else self._first_delay
        return self.plane.poll_interval if asked is None else min(asked, MAX_SERVER_DELAY)

    def _poll_version(self, timeout: float, on_status: StatusCallback | None) -> CustomModel:
        """GET the version until it is ready (the SDK's create() polls until it stops answering
        404, §1). Seen and then gone, or in a failed state: the registration failed."""
        seen = [False]

        def step() -> CustomModel | None:
            try:
                model = self.client.get_version(self.name, self.version)
            except NotFoundError:
                if seen[0]:
                    raise OperationFailedError(
                        f"{self.context} ended Failed: the service removed the version it was "
                        "registering."
                    ) from None
                return None
            seen[0] = True
            if model.provisioning_state in _FAILED_STATES:
                raise OperationFailedError(f"{self.context} ended {model.provisioning_state}.")
            if not model.ready and on_status:
                on_status(model.provisioning_state)
            return model

        found = poll_until(
            step,
            lambda model: model is not None and model.ready,
            first=step(),
            interval=lambda _: self.plane.poll_interval,
            timeout=timeout,
            clock=self.clock,
            what=self.context,
        )
        assert found is not None  # finished only when ready
        return found


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
            # With its id, asking again hands out the same slot.
            idempotent=bool(pending_upload_id),
        )
        return BlobReference.from_rest(self.plane.json(response, context))

    def create_async(
        self, name: str, version: str, body: dict[str, Any], *, context: str = ""
    ) -> Registration:
        """The registration, accepted (202) and to be followed to a ready version."""
        context = context or f"Register '{name}' version {version}"
        response = self.plane.request(
            "POST", self._version_path(name, version) + "/createAsync", json=body, context=context
        )
        return Registration(self, response, name=name, version=version, context=context)

    def register(
        self,
        name: str,
        version: str,
        body: dict[str, Any],
        *,
        context: str = "",
        on_status: StatusCallback | None = None,
    ) -> CustomModel:
        """createAsync, then wait for the version to be ready; the registered version."""
        registration = self.create_async(name, version, body, context=context)
        registration.wait(on_status=on_status)
        assert registration.model is not None
        return registration.model

    def _ready_version(self, name: str, version: str) -> CustomModel | None:
        try:
            model = self.get_version(name, version)
        except AzModelsError:
            return None
        return model if model.ready else None

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
            idempotent=True,  # a merge patch of values: twice is the same as once
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
            idempotent=True,  # only reads a credential
        )
        return BlobReference.from_rest(self.plane.json(response, context))
