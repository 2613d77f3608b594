"""A source that is one file at an https URL (public or pre-signed), and the HTTP reading every
remote source shares: redirects resolved up front (bounded, loops named), the size and ETag from
a HEAD (or a 0-0 ranged GET when HEAD is refused), and `RangeReader`, a seekable reader doing
ranged GETs conditional on the ETag, so a source changed mid-read is noticed, never mixed.

Every URL a request goes to passes `http.origin.origin_of` first (plain http only to loopback;
nothing two URL parsers read differently). No credential is ever added to a request here: a
pre-signed URL carries its own, and it never reaches a message (`shown_url`).
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import unquote, urljoin, urlsplit

from ..errors import UploadError, ValidationError
from ..http.backoff import RETRY_STATUSES, TransportSettings
from ..http.origin import origin_of
from ..redaction import redact, strip_query
from . import SourceFile

MAX_REDIRECTS = 10  # requests' own default is 30; a download link takes one or two
READ_BUFFER = 256 * 1024  # header parsers read a few bytes at a time: one GET serves many


def shown_url(url: str) -> str:
    """`url` as a message may show it: no query (a SAS, a signature), no fragment, redacted."""
    return redact(strip_query(url).split("#", 1)[0])


def checked_url(url: str, what: str = "source") -> str:
    """`url` when a request may go there (https, or http to loopback; nothing read two ways),
    else a one-line ValidationError."""
    origin_of(url, what=what)
    return url


@dataclass(frozen=True)
class Resolved:
    """Where a URL finally leads, and what that answer says of the file."""

    url: str  # after every redirect: what ranged reads and the storage service fetch
    size: int
    etag: str | None
    last_modified: str | None


def new_session(url: str) -> Any:
    """A requests.Session for reading a source: redirects are ours to follow (each checked), and
    plain http (loopback only) never goes through a proxy from the environment."""
    import requests

    session = requests.Session()
    session.trust_env = urlsplit(url).scheme.lower() != "http"
    return session


def send(
    session: Any,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    settings: TransportSettings,
    stream: bool = False,
) -> Any:
    """One idempotent request (HEAD or GET), retried as the planes retry: a connection failure
    or a retryable status, waiting the server's word or the backoff. No redirect is followed."""
    import requests

    attempt = 0
    while True:
        try:
            response = session.request(
                method,
                url,
                headers=dict(headers or {}),
                allow_redirects=False,
                timeout=settings.timeout,
                stream=stream,
            )
        except requests.RequestException as error:
            if attempt >= settings.max_retries:
                raise UploadError(
                    f"Could not reach {shown_url(url)}: {_reason(error)}. Check the address and "
                    "the network, then run the command again."
                ) from None
            time.sleep(settings.backoff.delay(attempt))
            attempt += 1
            continue
        if response.status_code in RETRY_STATUSES and attempt < settings.max_retries:
            delay = settings.backoff.delay(attempt, response.headers)
            response.close()
            time.sleep(delay)
            attempt += 1
            continue
        return response


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return redact(text)[:200]


def refusal(status: int, shown: str, what: str = "") -> UploadError:
    """The one line for a source's answer that is not the file."""
    if status == 404:
        return UploadError(f"The source {shown}{what} was not found (404): check the address.")
    if status in (401, 403):
        return UploadError(
            f"The source {shown}{what} refused access ({status}): its link or SAS expired or "
            "lacks read permission, or the file needs a sign-in. Get a fresh link."
        )
    if status == 412:
        return changed(shown)
    return UploadError(f"The source {shown}{what} answered {status} instead of the file.")


def changed(shown: str) -> UploadError:
    return UploadError(
        f"The source {shown} changed during the copy (its ETag no longer matches): nothing was "
        "registered. Run the same upload again to copy the new version.",
        code="SourceChanged",  # clients.copy.SOURCE_CHANGED
    )


def resolve(session: Any, url: str, settings: TransportSettings) -> Resolved:
    """Follow `url`'s redirects (at most MAX_REDIRECTS, each target checked, a loop named) and
    learn the file's size and ETag: HEAD, or a 0-0 ranged GET where HEAD is not allowed."""
    seen = {url}
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        response = send(
            session, "HEAD", current, headers={"Accept-Encoding": "identity"}, settings=settings
        )
        # A pre-signed GET refuses HEAD (its signature names the method: 403), some servers
        # do not allow HEAD, or answer it without a length: ask for the first byte instead.
        if response.status_code in (403, 405, 501) or (
            response.ok and response.headers.get("Content-Length") is None
        ):
            response = send(
                session,
                "GET",
                current,
                headers={"Range": "bytes=0-0", "Accept-Encoding": "identity"},
                settings=settings,
                stream=True,
            )
            response.close()  # the one byte (or a 200's body) is not read
        if response.is_redirect:
            target = response.headers.get("Location", "")
            nxt = urljoin(current, target)
            checked_url(nxt, "redirect target")
            if nxt in seen:
                raise UploadError(
                    f"The source {shown_url(url)} redirects in a loop (back to "
                    f"{shown_url(nxt)}): nothing was copied. Check the link."
                )
            seen.add(nxt)
            current = nxt
            continue
        if not response.ok:
            raise refusal(response.status_code, shown_url(url))
        return Resolved(
            url=current,
            size=_size(response, shown_url(url)),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
        )
    raise UploadError(
        f"The source {shown_url(url)} redirects more than {MAX_REDIRECTS} times: nothing was "
        "copied. Check the link."
    )


def _size(response: Any, shown: str) -> int:
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        raise UploadError(f"The source {shown} is served compressed, so its size is unknown.")
    content_range = response.headers.get("Content-Range", "")
    total = content_range.rsplit("/", 1)[-1] if response.status_code == 206 else ""
    value = total or response.headers.get("Content-Length", "")
    if not value.isdigit():
        raise UploadError(f"The source {shown} does not say its size (no Content-Length).")
    return int(value)


class RangeReader(io.RawIOBase):
    """A seekable reader of a remote file of `size` bytes, each read one ranged request
    (`_read_range`, which subclasses make); this base keeps the position."""

    def __init__(self, size: int, *, shown: str) -> None:
        super().__init__()
        self._size = size
        self._shown = shown
        self._position = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._shown!r}, size={self._size})"

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def readinto(self, buffer: Any) -> int:
        wanted = min(len(buffer), self._size - self._position)
        if wanted <= 0:
            return 0
        got = self._read_range(self._position, wanted, memoryview(buffer))
        if got < wanted:
            raise UploadError(f"The source {self._shown} ended early (it may have changed).")
        self._position += got
        return got

    def _read_range(self, start: int, wanted: int, view: memoryview) -> int:
        """Read `wanted` bytes from `start` into `view`; the number read."""
        raise NotImplementedError


class HttpRangeReader(RangeReader):
    """Ranged GETs, each conditional on the ETag the file had when it was listed (If-Match): a
    file changed meanwhile fails, named, never mixed."""

    def __init__(
        self,
        url: str,
        size: int,
        etag: str | None,
        *,
        shown: str,
        settings: TransportSettings,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(size, shown=shown)
        checked_url(url)
        self._session = new_session(url)
        self._headers = dict(headers or {})  # a hub's token, for the hub only: never shown
        self._url = url  # may be pre-signed: never shown, never in the repr
        self._etag = etag
        self._settings = settings

    def _read_range(self, start: int, wanted: int, view: memoryview) -> int:
        headers = {
            **self._headers,
            "Range": f"bytes={start}-{start + wanted - 1}",
            "Accept-Encoding": "identity",
        }
        if self._etag:
            headers["If-Match"] = self._etag
        response = send(
            self._session, "GET", self._url, headers=headers, settings=self._settings, stream=True
        )
        try:
            if response.status_code == 200 and start != 0:
                raise UploadError(
                    f"The source {self._shown} does not serve byte ranges, so its header "
                    "cannot be read without downloading it all."
                )
            if response.status_code not in (200, 206):
                raise refusal(response.status_code, self._shown)
            etag = response.headers.get("ETag")
            if self._etag and etag and etag != self._etag:
                raise changed(self._shown)  # a server that ignores If-Match
            if response.status_code == 206 and not response.headers.get(
                "Content-Range", ""
            ).startswith(f"bytes {start}-"):
                raise UploadError(f"The source {self._shown} answered another byte range.")
            got = 0
            for chunk in response.iter_content(chunk_size=min(wanted, READ_BUFFER)):
                take = min(len(chunk), wanted - got)
                view[got : got + take] = chunk[:take]
                got += take
                if got >= wanted:
                    break
        finally:
            response.close()  # a 200's rest is never read
        return got

    def close(self) -> None:
        self._session.close()
        super().close()


def range_reader(
    url: str,
    size: int,
    etag: str | None,
    *,
    shown: str,
    settings: TransportSettings,
    headers: Mapping[str, str] | None = None,
) -> BinaryIO:
    """A buffered HttpRangeReader: a parser's many small reads share one GET."""
    return buffered(
        HttpRangeReader(url, size, etag, shown=shown, settings=settings, headers=headers)
    )


def buffered(raw: RangeReader) -> BinaryIO:
    """`raw` behind a read buffer: a parser's many small reads share one ranged request."""
    return io.BufferedReader(raw, buffer_size=READ_BUFFER)  # type: ignore[return-value]


def file_name(url: str) -> str:
    """The file's name from its URL's last path segment (what its blob will be called)."""
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise ValidationError(
            f"Refusing source '{shown_url(url)}': its path ends in no file name; give the URL "
            "of one file."
        )
    return name


class UrlSource:
    """One file at an https URL (public or pre-signed). Storage can fetch it itself, so
    `copy_url` is the URL the redirects lead to."""

    kind = "url"
    folder = False  # one file

    def __init__(self, url: str, *, settings: TransportSettings | None = None) -> None:
        checked_url(url)
        self._url = url
        self._settings = settings or TransportSettings()
        self.display = shown_url(url)
        self._name = file_name(url)
        self._resolved: Resolved | None = None

    def __repr__(self) -> str:
        return f"UrlSource({self.display!r})"

    def _resolve(self) -> Resolved:
        if self._resolved is None:
            with new_session(self._url) as session:
                self._resolved = resolve(session, self._url, self._settings)
        return self._resolved

    def files(self) -> tuple[SourceFile, ...]:
        resolved = self._resolve()
        return (SourceFile(self._name, resolved.size, None, resolved.etag),)

    def open(self, file: SourceFile) -> BinaryIO:
        resolved = self._resolve()
        return range_reader(
            resolved.url,
            file.size,
            file.version,
            shown=self.display,
            settings=self._settings,
        )

    def check_unchanged(self, file: SourceFile, reader: BinaryIO) -> None:
        """Nothing left to check: every read was conditional on the file's ETag."""

    def copy_url(self, file: SourceFile) -> str | None:
        return self._resolve().url
