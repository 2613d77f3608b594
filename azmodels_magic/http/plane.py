"""One HTTP plane (ARM or a Foundry project): a requests.Session, bearer auth, bounded retries,
paging through nextLink, long-running-operation polling, and errors mapped to our hierarchy.

Every client goes through `Plane.request`; nothing else in the package speaks HTTP to Azure.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import requests
import urllib3.exceptions

from ..auth import TokenProvider
from ..errors import (
    AuthenticationError,
    AzModelsError,
    ServiceError,
    ValidationError,
    error_for_status,
)
from ..redaction import get_logger, strip_query
from .background import Task
from .backoff import REFUSED_RETRIES, RETRY_STATUSES, Backoff, refused_connection
from .operation import Clock, Operation
from .origin import Origin, ensure_same_origin, ensure_secure, may_follow_operation

log = get_logger(__name__)

USER_AGENT = "azmodels-magic/0.1"
# Failures on the way (no answer, or an answer cut off or garbled in transit).
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# Methods whose repetition does what one request does (azure-core's RetryPolicy allowlist,
# azure/core/pipeline/policies/_retry.py): retried after any failure on the way. Others only
# when the request never left, or when the service answered 500/503/504 (azure-core does the
# same for POST and PATCH), or asked to be retried (Retry-After).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_SERVER_FAILED = frozenset({500, 503, 504})
# A list longer than this many pages is a service whose nextLink never ends (each one new, so the
# loop check cannot see it): stop and say so, rather than page forever. Azure's largest lists
# (a region's model catalog) take a few pages.
MAX_PAGES = 1000


def _never_sent(exc: BaseException) -> bool:
    """Whether the request surely did not reach the server (no connection was made): safe to
    send again whatever it does. A timeout or a dropped connection after sending is not."""
    if isinstance(exc, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True  # no connection, or no TLS session: the request itself never went out
    if isinstance(exc, requests.exceptions.ProxyError):
        return True  # the proxy refused the tunnel before anything reached the service
    if not isinstance(exc, requests.ConnectionError) or isinstance(exc, requests.ReadTimeout):
        return False
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)  # urllib3's MaxRetryError wraps the cause
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


def segment(value: str) -> str:
    """`value` as one URL path segment: `chat#old` stays one name, `a/b` cannot add a level."""
    if value in (".", ".."):  # would climb a level (DELETE .../deployments/.. = the account)
        raise ValidationError(f"{value!r} is not a valid name.")
    return quote(value, safe="")


def _retryable(response: requests.Response, repeatable: bool) -> bool:
    """Whether to send again after this answer (azure-core's RetryPolicy.is_retry)."""
    if response.status_code < 400:
        return False
    if response.headers.get("Retry-After") or response.headers.get("retry-after-ms"):
        return True  # the service asked for it: it did not do the work
    if response.status_code not in RETRY_STATUSES:
        return False
    return repeatable or response.status_code in _SERVER_FAILED


def error_from_response(response: requests.Response, context: str = "") -> AzModelsError:
    """The typed error for a failed response, with the service's code, message and request id."""
    code = response.headers.get("x-ms-error-code")
    message = ""
    details: list[dict[str, Any]] = []
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        code = error.get("code") or code
        message = error.get("message") or ""
        details = error.get("details") or []
    if not message:
        message = f"{response.status_code} {response.reason or 'error'}"
    if context:
        message = f"{context}: {message}"
    request_id = (
        response.headers.get("x-ms-request-id")
        or response.headers.get("apim-request-id")
        or response.headers.get("x-request-id")
    )
    cls = error_for_status(response.status_code, code)
    return cls(
        message, code=code, status=response.status_code, request_id=request_id, details=details
    )


class _OriginBoundSession(requests.Session):
    """A session that follows a redirect only within its origin: the token must not follow a
    Location elsewhere (requests would drop it for another host, but not for every trick)."""

    def __init__(self, origin: Origin) -> None:
        super().__init__()
        self.origin = origin

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        target = super().get_redirect_target(resp)
        if target:
            ensure_same_origin(urljoin(resp.url, target), self.origin, what="redirect")
        return target


class Plane:
    """HTTP access to one Azure plane. `base_url` is the ARM endpoint or the project endpoint."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        scope: str,
        tokens: TokenProvider,
        api_version: str,
        max_retries: int = 6,
        backoff: Backoff | None = None,
        timeout: float = 60.0,
        poll_interval: float = 1.0,
        operation_timeout: float = 1800.0,
        extra_headers: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        auth_hint: str | None = None,
    ) -> None:
        # The token goes to this origin only: links the service hands back must lead here too.
        self.origin = ensure_secure(base_url, what=f"{name} endpoint")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.scope = scope
        self.api_version = api_version
        self.max_retries = max_retries
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.operation_timeout = operation_timeout
        self._tokens = tokens
        self.clock = Clock(sleep=sleep)  # retries and polls wait on it (tests inject one)
        self.session = _OriginBoundSession(self.origin)
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers.update(extra_headers or {})
        if self.origin.scheme == "http":
            # Plain http goes to loopback only: never through a proxy from the environment,
            # which would see the token in clear.
            self.session.trust_env = False
        self.auth_hint = auth_hint  # what to do about a 401 here (the sandbox's differs)

    def __repr__(self) -> str:
        return f"Plane({self.name}, {self.base_url})"

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def check_link(self, url: str, what: str) -> None:
        """Refuse a URL outside this plane's origin: the token must not follow it."""
        # The authority ends at the first '/' for every parser: a URL under the checked base
        # goes to the same origin.
        if not url.startswith(self.base_url + "/"):
            ensure_same_origin(url, self.origin, what=what)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        context: str = "",
        ok: Callable[[requests.Response], bool] | None = None,
        link: str = "URL",
        idempotent: bool | None = None,
        operation: bool = False,
    ) -> requests.Response:
        """Send one request, retrying what is safe to retry; raise a typed error on failure.

        `ok` decides which responses are returned rather than raised (default: 2xx). `link`
        names where an absolute URL came from (nextLink, Location...) for a refusal.
        `idempotent` says the operation may be repeated after a failure on the way (a POST that
        only reads, a PATCH setting absolute values); default: by method (IDEMPOTENT_METHODS).
        `operation`: `path` is an operation's Location, sent as given, which may also be on
        Azure ML's operations host (`may_follow_operation`).
        """
        repeatable = method.upper() in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url(path)
        if operation:
            if not may_follow_operation(url, self.origin):
                raise ServiceError(
                    f"{context or self.name}: refusing to send the access token to the "
                    f"operation's Location {strip_query(url)!r}."
                )
        else:
            self.check_link(url, link)
        query = dict(params or {})
        if not operation and "api-version=" not in url and "api-version" not in query:
            query["api-version"] = self.api_version
        accepted = ok or (lambda r: r.status_code < 300)
        reauthenticated = False
        attempt = 0
        while True:
            send_headers = {
                "Authorization": f"Bearer {self._tokens.token(self.scope)}",
                "x-ms-client-request-id": str(uuid.uuid4()),
                **(headers or {}),
            }
            started = time.monotonic()
            try:
                response = self.session.request(
                    method,
                    url,
                    params=query,
                    json=json,
                    headers=send_headers,
                    timeout=self.timeout,
                    allow_redirects=not operation,  # as azd: an operation poll is not redirected
                )
            except _TRANSIENT as exc:
                if not repeatable and not _never_sent(exc):
                    # It may have been done: sending it again could do it twice.
                    raise ServiceError(
                        f"{context or self.name}: no answer from {urlsplit(url).netloc} "
                        f"({type(exc).__name__}); the request may have been carried out. Check "
                        "its state before running the command again."
                    ) from None
                refused = refused_connection(exc)
                if refused and attempt >= REFUSED_RETRIES:
                    # Nothing listens there: more tries within seconds will not change that.
                    raise ServiceError(
                        f"{context or self.name}: {urlsplit(url).netloc} refused the connection "
                        f"({attempt + 1} tries): nothing is listening there. Check the endpoint "
                        "and that the service is running, then run the command again."
                    ) from None
                if attempt >= self.max_retries:
                    raise ServiceError(
                        f"{context or self.name}: could not reach {urlsplit(url).netloc} after "
                        f"{attempt + 1} tries ({type(exc).__name__}). Check the network and "
                        "the endpoint, then run the command again."
                    ) from None
                delay = self.backoff.delay(attempt)
                log.debug("%s %s failed (%s); retry in %.2fs", method, url, exc, delay)
                self.clock.sleep(delay)
                attempt += 1
                continue
            except requests.RequestException as exc:  # TooManyRedirects, InvalidURL, ...
                raise ServiceError(
                    f"{context or self.name}: the request to {urlsplit(url).netloc} failed "
                    f"({type(exc).__name__}). Check the endpoint, then run the command again."
                ) from None
            log.debug(
                "%s %s -> %s in %.0f ms (request id %s)",
                method,
                strip_query(url),
                response.status_code,
                (time.monotonic() - started) * 1000,
                response.headers.get("x-ms-request-id"),
            )
            if accepted(response):
                return response
            if response.status_code == 401 and not reauthenticated:
                # A token can expire between cache check and use: ask once for a fresh one.
                self._tokens.forget()
                reauthenticated = True
                continue
            if attempt < self.max_retries and _retryable(response, repeatable):
                delay = self.backoff.delay(attempt, response.headers)
                log.debug("%s %s: %s, retry in %.2fs", method, url, response.status_code, delay)
                self.clock.sleep(delay)
                attempt += 1
                continue
            error = error_from_response(response, context)
            if isinstance(error, AuthenticationError):
                error.hint = self.auth_hint or error.hint or AuthenticationError.default_hint
            raise error

    def json(self, response: requests.Response, context: str = "") -> dict[str, Any]:
        """The JSON object of a successful response; anything else is one ServiceError line."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ServiceError(
                f"{context or self.name}: the service answered with something that is not JSON "
                f"(HTTP {response.status_code}, "
                f"{response.headers.get('Content-Type') or 'no content type'}). "
                "Check the endpoint, then run the command again.",
                status=response.status_code,
                request_id=response.headers.get("x-ms-request-id"),
            )
        return body

    def get_json(self, path: str, **kwargs: Any) -> Any:
        return self.json(self.request("GET", path, **kwargs), kwargs.get("context", ""))

    def iter_pages(
        self, path: str, *, params: Mapping[str, Any] | None = None, context: str = ""
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's `value` list, following `nextLink` until the service stops giving one.

        The next page is fetched in the background while the caller works on this one, so
        turning JSON into records overlaps the network and the service's own time.
        """

        def fetch(url: str, query: Mapping[str, Any] | None, link: str = "URL") -> dict[str, Any]:
            response = self.request("GET", url, params=query, context=context, link=link)
            return self.json(response, context)

        seen: set[str] = set()
        body = fetch(path, params)
        while True:
            next_link = body.get("nextLink") or body.get("@odata.nextLink")
            pending = None
            if next_link and next_link not in seen:  # a looping nextLink is a service bug
                if len(seen) + 1 >= MAX_PAGES:
                    raise ServiceError(
                        f"{context or self.name}: the service still gave a next page after "
                        f"{MAX_PAGES:,} pages, so the list was stopped (its paging never "
                        "ends). Try again later, or narrow the list."
                    )
                seen.add(next_link)
                # nextLink carries its own query
                next_url = urljoin(self.url(path), next_link)
                # Checked here, not in the worker: a refusal must not wait for a page.
                self.check_link(next_url, "nextLink")
                # A daemon thread: a page that never comes must not hold the process at exit.
                pending = Task(fetch, next_url, None, "nextLink", name="azmodels-page")
            yield list(body.get("value") or [])
            if pending is None:
                return
            body = pending.result()

    def iter_items(self, path: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(path, **kwargs):
            yield from page

    def operation(self, response: requests.Response, *, context: str = "") -> Operation:
        """The handle for a long-running operation this request started."""
        return Operation(self, response, context=context)

    def close(self) -> None:
        self.session.close()
