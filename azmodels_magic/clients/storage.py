"""Blob storage around a model's container: the one ContainerClient factory and its one error
mapping (BlobTransfer uses them too), what a container holds, deleting.

Each stored file carries its own SHA-256 and size as blob metadata, set when the blob is
committed; nothing else is written next to the user's files. Every function takes a container
SAS URL and never lets it reach a message (errors are redacted).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import ServiceError, UploadError, ValidationError
from ..http.backoff import REFUSED_RETRIES, TransportSettings, refused_connection
from ..http.origin import Origin, origin_of
from ..records import StoredFile
from ..redaction import get_logger, redact, strip_query
from ..rules import LEGACY_MANIFEST

# Earlier uploads stored a manifest of SHA-256s next to the weights: read where present (for
# `show` and deletes), never written again, and never listed as one of the model's files.
MANIFEST = LEGACY_MANIFEST  # no user file may take this name (rules.blob_name_problem)
_MANIFEST_LIMIT = 16 * 1024 * 1024  # a manifest of 100,000 files is ~10 MB

# azure-core's HttpLoggingPolicy logs every request's headers at INFO when its logger is enabled;
# sending it to a logger that is disabled keeps the noise (and any header) out of user logs.
_HTTP_LOG_SINK = logging.Logger("azmodels_magic.blob.http-silenced")
_HTTP_LOG_SINK.disabled = True

CREDENTIAL_HINT = "The storage credential lacks the permission, or it expired."


def file_metadata(sha256: str, size: int) -> dict[str, str]:
    """The metadata each committed blob carries: what `show` and a resume read back."""
    return {"sha256": sha256, "size": str(size)}


def storage_origin(sas_url: str) -> Origin:
    """Where `sas_url` leads, or a ServiceError when the SAS would go in clear to another machine
    or to a host URL parsers disagree on (the same check the planes make for their tokens)."""
    try:
        return origin_of(sas_url, what="storage address from the service")
    except ValidationError as exc:  # the service's answer, not the user's input
        raise ServiceError(
            f"{exc.message} The service (or something between) handed it out; check the endpoint."
        ) from None


def _retry_policy(settings: TransportSettings) -> Any:
    """azure-storage-blob's retry policy, waiting as the REST planes do (`Backoff`: the server's
    word first, else capped exponential backoff with jitter) for as many retries."""
    from azure.storage.blob import ExponentialRetry

    class _PlaneBackoff(ExponentialRetry):
        def get_backoff_time(self, retry_settings: dict[str, Any]) -> float:
            return settings.backoff.delay(max(0, int(retry_settings.get("count", 1)) - 1))

        def increment(self, retry_settings: dict[str, Any], request: Any, *args: Any, **kw: Any):
            # Nothing listening: a restart's blip is over after a few quick tries, and every
            # retry the backoff allows only makes the failure take a minute and a half.
            error = kw.get("error", args[1] if len(args) > 1 else None)
            if error is not None and refused_connection(error):
                retry_settings["refused"] = retry_settings.get("refused", 0) + 1
                if retry_settings["refused"] > REFUSED_RETRIES:
                    return False
            return super().increment(retry_settings, request, *args, **kw)

    return _PlaneBackoff(retry_total=settings.max_retries)


def open_container(
    sas_url: str,
    session: Any = None,
    *,
    settings: TransportSettings | None = None,
    **options: Any,
) -> Any:
    """A ContainerClient for `sas_url` with azure-core's logging silenced, refused unless the
    address passes `storage_origin`. `session` is the requests.Session to send through (its
    pools sized by the caller); `settings` the retries and timeouts (the planes' own);
    `options` the client's (block sizes). The caller closes it."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import ContainerClient

    settings = settings or TransportSettings()
    options.setdefault("retry_policy", _retry_policy(settings))
    options.setdefault("connection_timeout", settings.timeout)
    options.setdefault("read_timeout", settings.timeout)

    try:
        origin = storage_origin(sas_url)
    except ServiceError:
        if session is not None:
            session.close()
        raise
    # urllib3 logs request lines, SAS query included, at DEBUG: redact them at the source.
    get_logger("urllib3.connectionpool")
    options.setdefault("logger", _HTTP_LOG_SINK)
    options["logging_enable"] = False
    # Plain http goes to loopback only: never through a proxy from the environment, which would
    # see every SAS in clear. (https keeps it: a proxy sees only the host there.)
    use_env_settings = origin.scheme != "http"
    if session is not None:
        session.trust_env = use_env_settings
    options["transport"] = RequestsTransport(
        session=session, session_owner=True, use_env_settings=use_env_settings
    )
    try:
        return ContainerClient.from_container_url(sas_url, **options)
    except ValueError:  # its message quotes the URL, SAS included: say it without
        options["transport"].close()
        raise UploadError(
            f"The service gave an unusable storage address ({strip_query(sas_url)})."
        ) from None


def storage_error(
    error: BaseException, what: str = "the operation", where: str = ""
) -> UploadError:
    """One redacted line for a failure of storage or the network while doing `what` (+ `where`,
    e.g. " of model.bin"); the caller raises it `from None` (a chained exception's text could
    carry the SAS)."""
    from azure.core.exceptions import HttpResponseError

    if isinstance(error, HttpResponseError):
        status = error.status_code
        request_id = None
        if error.response is not None:
            request_id = error.response.headers.get("x-ms-request-id")
        return UploadError(
            f"Blob storage refused {what}{where}: {status} {error.reason or 'error'}",
            code=getattr(error, "error_code", None),
            status=status,
            request_id=request_id,
            hint=CREDENTIAL_HINT if status == 403 else None,
        )
    if refused_connection(error):
        return UploadError(
            f"Blob storage refused the connection during {what}{where}: nothing is listening "
            "there. Check that storage is reachable, then run the command again (an upload "
            "resumes where it stopped)."
        )
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UploadError(f"{what[:1].upper()}{what[1:]}{where} failed: {redact(text)}")


@contextmanager
def _container(sas_url: str, settings: TransportSettings | None) -> Iterator[Any]:
    from azure.core.exceptions import AzureError

    client = open_container(sas_url, settings=settings)
    try:
        yield client
    except AzureError as exc:
        raise storage_error(exc) from None
    finally:
        client.close()


def stored_files(sas_url: str, settings: TransportSettings | None = None) -> list[StoredFile]:
    """The model's files in its container, each with the SHA-256 its metadata records (or, for
    an upload made before digests went into metadata, its manifest). One listing, plus the
    manifest's download where there is one."""
    with _container(sas_url, settings) as container:
        blobs = list(container.list_blobs(include=["metadata"]))
        legacy: dict[str, str] = {}
        for blob in blobs:
            if blob.name == MANIFEST and (blob.size or 0) <= _MANIFEST_LIMIT:
                legacy = _manifest_digests(container.download_blob(MANIFEST).readall())
        return [
            StoredFile(
                path=blob.name,
                size=blob.size or 0,
                sha256=_sha256((blob.metadata or {}).get("sha256")) or legacy.get(blob.name),
                sha256_basis=(
                    "declared"
                    if (blob.metadata or {}).get("sha256_basis") == "declared"
                    else "computed"
                ),
            )
            for blob in blobs
            if blob.name != MANIFEST
        ]


def _sha256(value: object) -> str | None:
    """`value` when it is a SHA-256 in hex; storage anyone may write to says what it likes."""
    if isinstance(value, str) and len(value) == 64 and all(c in _HEX for c in value):
        return value
    return None


_HEX = frozenset("0123456789abcdef")


def _manifest_digests(data: bytes) -> dict[str, str]:
    """path -> sha256 from an old manifest; {} when it is not one (it is only a record)."""
    try:
        files = json.loads(data).get("files", [])
        return {
            f["path"]: f["sha256"]
            for f in files
            if isinstance(f, dict) and isinstance(f.get("path"), str) and _sha256(f.get("sha256"))
        }  # fmt: skip
    except (ValueError, AttributeError, TypeError):
        return {}


def delete_blobs(sas_url: str, settings: TransportSettings | None = None) -> int:
    """Remove every blob in the container, staged-only ones too; the number removed.

    A credential that may write but not delete (an upload slot's SAS) still frees the space:
    the blob is emptied instead (an empty commit also drops its uncommitted blocks).
    """
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    with _container(sas_url, settings) as container:
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
