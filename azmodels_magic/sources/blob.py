"""A source in Azure Blob storage: one blob, or every blob under a container or a prefix, read
through the SAS in its URL (or anonymously from a public container; or, with no SAS, with the
user's Entra credential, which then goes to storage as the copy-source authorization of each
Put Block From URL, never the other way round).

Each file comes with its size, its ETag (reads and copies are conditional on it) and, when its
metadata holds one, the SHA-256 it declares (`sha256`, as azmodels itself records on every blob
it stores). A blob's Content-MD5 is kept too (`content_md5`), for what it is: an MD5 the writer
set, not a SHA-256.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Any, BinaryIO
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ..clients.storage import _sha256, open_container, storage_error
from ..errors import UploadError, ValidationError
from ..http.backoff import TransportSettings
from . import SourceFile
from .url import RangeReader, buffered, changed, checked_url, shown_url

STORAGE_SCOPE = "https://storage.azure.com/.default"
# Public clouds' blob endpoints: <account>.blob.core.windows.net and the sovereign clouds'.
BLOB_HOST_SUFFIXES = (
    ".blob.core.windows.net",
    ".blob.core.chinacloudapi.cn",
    ".blob.core.usgovcloudapi.net",
)


def is_blob_url(url: str) -> bool:
    """Whether `url` names Azure Blob storage: a blob endpoint's host, or a query carrying a
    service SAS (`sv` and `sig`; the emulator's path-style URLs have no telling host)."""
    split = urlsplit(url)
    host = (split.hostname or "").lower()
    query = parse_qs(split.query)
    return host.endswith(BLOB_HOST_SUFFIXES) or ("sig" in query and "sv" in query)


def _account_in_path(host: str) -> bool:
    """The emulator's and IP-addressed endpoints put the account first in the path (as the SDK
    reads them)."""
    if host == "localhost":
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def sas_expiry(url: str) -> dt.datetime | None:
    """When the SAS in `url` expires (its `se`), or None without one."""
    values = parse_qs(urlsplit(url).query).get("se")
    if not values:
        return None
    try:
        expiry = dt.datetime.fromisoformat(values[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return expiry if expiry.tzinfo else expiry.replace(tzinfo=dt.UTC)


class BlobSource:
    """A blob, or the blobs under a container or prefix; names below the prefix become the
    files' relative paths (a single blob: its last segment)."""

    kind = "blob"

    def __init__(
        self,
        url: str,
        *,
        credential: Any = None,
        settings: TransportSettings | None = None,
    ) -> None:
        checked_url(url)
        split = urlsplit(url)
        self.display = shown_url(url)
        self._settings = settings or TransportSettings()
        self._query = split.query
        expiry = sas_expiry(url)
        if expiry is not None and expiry <= dt.datetime.now(dt.UTC):
            raise ValidationError(
                f"The SAS of {self.display} expired at {expiry:%Y-%m-%d %H:%M} UTC: get a new one."
            )
        # A token goes to storage only over https, and only when there is no SAS to use.
        self._credential = credential if not self._query and split.scheme == "https" else None
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        lead = 2 if _account_in_path((split.hostname or "").lower()) else 1
        if len(segments) < lead or not segments[lead - 1]:
            raise ValidationError(
                f"Refusing source '{self.display}': it names no container; give "
                "https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX-or-BLOB]?SAS."
            )
        base_path = "/".join(quote(s) for s in segments[:lead])
        self._container_base = f"{split.scheme}://{split.netloc}/{base_path}"
        self._path = "/".join(segments[lead:])  # a blob's name, or a prefix, or ""
        self._files: dict[str, tuple[str, SourceFile, bytes | None]] | None = None

    def __repr__(self) -> str:
        return f"BlobSource({self.display!r})"

    # ------------------------------------------------------------------ listing

    def _container(self) -> Any:
        url = f"{self._container_base}?{self._query}" if self._query else self._container_base
        options: dict[str, Any] = {}
        if self._credential is not None:
            options["credential"] = self._credential
        return open_container(url, settings=self._settings, **options)

    def _listing(self) -> dict[str, tuple[str, SourceFile, bytes | None]]:
        """relative -> (blob name, file, Content-MD5), listed once."""
        if self._files is not None:
            return self._files
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

        found: dict[str, tuple[str, SourceFile, bytes | None]] = {}
        container = self._container()
        missing = False  # the blob it names is not there (it may yet be a prefix)
        try:
            name = self._path
            if name and not name.endswith("/"):
                try:
                    props = container.get_blob_client(name).get_blob_properties()
                except ResourceNotFoundError:
                    props, missing = None, True
                if props is not None:
                    relative = name.rsplit("/", 1)[-1]
                    found[relative] = (name, _file(relative, props), _md5(props))
            if not found:
                prefix = f"{name.rstrip('/')}/" if name else ""
                for blob in container.list_blobs(name_starts_with=prefix, include=["metadata"]):
                    relative = blob.name[len(prefix) :]
                    found[relative] = (blob.name, _file(relative, blob), _md5(blob))
        except HttpResponseError as error:
            if missing and getattr(error, "status_code", None) in (401, 403):
                # A blob's own SAS may read it but not list: the blob is simply not there.
                raise UploadError(
                    f"The source {self.display} was not found (404): check the address."
                ) from None
            raise self._refused(error) from None
        except AzureError as error:
            raise storage_error(error, f"listing {self.display}") from None
        finally:
            container.close()
        if not found:
            raise UploadError(
                f"The source {self.display} holds no blob (nothing at that name or under it): "
                "check the address."
            )
        self._files = dict(sorted(found.items()))
        return self._files

    def _refused(self, error: Any) -> UploadError:
        status = getattr(error, "status_code", None)
        code = getattr(error, "error_code", None)
        if status == 404:
            private = "" if self._query or self._credential else " (or it is private: add a SAS)"
            return UploadError(
                f"The source {self.display} was not found ({code or 404}){private}: check the "
                "address."
            )
        if status in (401, 403):
            return UploadError(
                f"The source {self.display} refused access ({status} {code or ''}".rstrip()
                + "): its SAS expired or lacks read and list permission. Get a fresh SAS."
            )
        return UploadError(f"Blob storage answered {status} {code or ''} listing {self.display}.")

    # ------------------------------------------------------------------ Source

    @property
    def folder(self) -> bool:
        """A container or prefix (a model's folder), not one blob."""
        listing = self._listing()
        return not (len(listing) == 1 and next(iter(listing.values()))[0] == self._path)

    def files(self) -> tuple[SourceFile, ...]:
        return tuple(file for _, file, _ in self._listing().values())

    def check_unchanged(self, file: SourceFile, reader: BinaryIO) -> None:
        """Nothing left to check: every read was conditional on the blob's ETag."""

    def content_md5(self, file: SourceFile) -> bytes | None:
        """The Content-MD5 the blob's writer set, when it did."""
        return self._listing()[file.relative][2]

    def _blob_url(self, file: SourceFile) -> str:
        name = self._listing()[file.relative][0]
        url = f"{self._container_base}/{quote(name)}"
        return f"{url}?{self._query}" if self._query else url

    def open(self, file: SourceFile) -> BinaryIO:
        """Ranged reads through storage's own client (with the SAS, or the user's credential),
        each conditional on the blob's ETag."""
        name = self._listing()[file.relative][0]
        return buffered(_BlobReader(self, name, file))

    def copy_url(self, file: SourceFile) -> str | None:
        return self._blob_url(file)

    def copy_authorization(self) -> str | None:
        """The Authorization storage presents to read the source ("Bearer ..."), when the user's
        Entra credential stands in for a SAS; None otherwise. Never put in a message."""
        if self._credential is None:
            return None
        return f"Bearer {self._credential.get_token(STORAGE_SCOPE).token}"


class _BlobReader(RangeReader):
    """Ranged downloads of one blob (If-Match on its ETag), through storage's client."""

    def __init__(self, source: BlobSource, name: str, file: SourceFile) -> None:
        super().__init__(file.size, shown=f"{source.display.rstrip('/')}/{file.relative}")
        self._source = source
        self._container = source._container()
        self._blob = self._container.get_blob_client(name)
        self._etag = file.version

    def _read_range(self, start: int, wanted: int, view: memoryview) -> int:
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceModifiedError

        options: dict[str, Any] = {}
        if self._etag:
            options = {"etag": self._etag, "match_condition": MatchConditions.IfNotModified}
        try:
            data = self._blob.download_blob(
                offset=start, length=wanted, max_concurrency=1, **options
            ).readall()
        except ResourceModifiedError:
            raise changed(self._shown) from None
        except HttpResponseError as error:
            if getattr(error, "status_code", None) == 412:
                raise changed(self._shown) from None
            raise self._source._refused(error) from None
        except AzureError as error:
            raise storage_error(error, f"reading {self._shown}") from None
        data = data[:wanted]
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._container.close()
        super().close()


def _file(relative: str, props: Any) -> SourceFile:
    return SourceFile(
        relative=relative,
        size=int(props.size or 0),
        declared_sha256=_sha256((props.metadata or {}).get("sha256")),
        version=_quoted(props.etag),
    )


def _quoted(etag: str | None) -> str | None:
    """An ETag as HTTP carries it: a listing gives it bare, a blob's properties quoted."""
    if not etag or etag.startswith(('"', "W/")):
        return etag
    return f'"{etag}"'


def _md5(props: Any) -> bytes | None:
    settings = getattr(props, "content_settings", None)
    value = getattr(settings, "content_md5", None)
    return bytes(value) if value else None
