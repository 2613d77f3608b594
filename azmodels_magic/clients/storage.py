"""Small blob operations around a model's container: the manifest, deleting.

The bulk transfer is `clients.blob.BlobTransfer`; these are the few calls around it. Every
function takes a container SAS URL and never lets it reach a message (errors are redacted).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any

from ..errors import PermissionDeniedError, UploadError
from ..redaction import get_logger, redact

MANIFEST = "azmodels-manifest.json"


@contextmanager
def _container(sas_url: str):
    from azure.core.exceptions import AzureError
    from azure.storage.blob import ContainerClient

    # urllib3 logs request lines, SAS query included, at DEBUG: redact them at the source (as
    # BlobTransfer does; a `delete` in a new kernel reaches storage without a transfer first).
    get_logger("urllib3.connectionpool")
    try:
        client = ContainerClient.from_container_url(sas_url, logging_enable=False)
    except ValueError:  # its message quotes the URL, SAS included: say it without
        raise UploadError(
            f"The service gave an unusable storage address ({redact(sas_url)})."
        ) from None
    try:
        yield client
    except AzureError as exc:
        status = getattr(exc, "status_code", None)
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        if status == 403:
            raise PermissionDeniedError(
                f"Storage refused the operation: {redact(first)}",
                hint="The storage credential lacks the permission, or it expired.",
            ) from None
        raise UploadError(f"Storage operation failed: {redact(first)}") from None
    finally:
        client.close()


def write_manifest(sas_url: str, manifest: dict[str, Any]) -> None:
    """Store the manifest: which files make the model, their sizes and SHA-256."""
    data = json.dumps(manifest, indent=1, sort_keys=True).encode()
    with _container(sas_url) as container:
        container.upload_blob(MANIFEST, data, overwrite=True)


def delete_blobs(sas_url: str) -> int:
    """Remove every blob in the container, staged-only ones too; the number removed.

    A credential that may write but not delete (an upload slot's SAS) still frees the space:
    the blob is emptied instead (an empty commit also drops its uncommitted blocks).
    """
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    with _container(sas_url) as container:
        names = [b.name for b in container.list_blobs(include=["uncommittedblobs"])]
        for name in names:
            try:
                container.delete_blob(name, delete_snapshots="include")
            except ResourceNotFoundError:  # only uncommitted blocks: nothing to delete yet
                container.get_blob_client(name).commit_block_list([])
                _try_delete(container, name)
            except HttpResponseError as exc:
                if getattr(exc, "status_code", None) != 403:
                    raise
                container.get_blob_client(name).commit_block_list([])
        return len(names)


def _try_delete(container, name: str) -> None:
    from azure.core.exceptions import HttpResponseError

    try:
        container.delete_blob(name)
    except HttpResponseError as exc:
        if getattr(exc, "status_code", None) != 403:
            raise
