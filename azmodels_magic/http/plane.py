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

from ..auth import TokenProvider
from ..errors import (
    AuthenticationError,
    AzModelsError,
    OperationFailedError,
    OperationTimeoutError,
    ServiceError,
    ValidationError,
    error_for_status,
)
from ..redaction import get_logger, strip_query
from .backoff import MAX_SERVER_DELAY, RETRY_STATUSES, Backoff, server_delay
from .origin import Origin, ensure_same_origin, ensure_secure, may_follow_operation

log = get_logger(__name__)

USER_AGENT = "azmodels-magic/0.1"
_TERMINAL = {"succeeded", "failed", "canceled", "cancelled"}
StatusCallback = Callable[[str], None]
# Failures on the way (no answer, or an answer cut off or garbled in transit): safe to retry.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def segment(value: str) -> str:
    """`value` as one URL path segment: `chat#old` stays one name, `a/b` cannot add a level."""
    if value in (".", ".."):  # would climb a level (DELETE .../deployments/.. = the account)
        raise ValidationError(f"{value!r} is not a valid name.")
    return quote(value, safe="")


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
        self._sleep = sleep
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
        operation: bool = False,
    ) -> requests.Response:
        """Send one request, retrying what is safe to retry; raise a typed error on failure.

        `ok` decides which responses are returned rather than raised (default: 2xx). `link`
        names where an absolute URL came from (nextLink, Location...) for a refusal.
        `operation`: `path` is an operation's Location, sent as given, which may also be on
        Azure ML's operations host (`may_follow_operation`).
        """
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
                if attempt >= self.max_retries:
                    raise ServiceError(
                        f"{context or self.name}: could not reach {urlsplit(url).netloc} after "
                        f"{attempt + 1} tries ({type(exc).__name__}). Check the network and "
                        "the endpoint, then run the command again."
                    ) from None
                delay = self.backoff.delay(attempt)
                log.debug("%s %s failed (%s); retry in %.2fs", method, url, exc, delay)
                self._sleep(delay)
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
            if response.status_code in RETRY_STATUSES and attempt < self.max_retries:
                delay = self.backoff.delay(attempt, response.headers)
                log.debug("%s %s: %s, retry in %.2fs", method, url, response.status_code, delay)
                self._sleep(delay)
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
        pool = None
        try:
            body = fetch(path, params)
            while True:
                next_link = body.get("nextLink") or body.get("@odata.nextLink")
                pending = None
                if next_link and next_link not in seen:  # a looping nextLink is a service bug
                    seen.add(next_link)
                    if pool is None:
                        from concurrent.futures import ThreadPoolExecutor

                        pool = ThreadPoolExecutor(1, thread_name_prefix="azmodels-page")
                    # nextLink carries its own query
                    next_url = urljoin(self.url(path), next_link)
                    # Checked here, not in the worker: a refusal must not wait for a page.
                    self.check_link(next_url, "nextLink")
                    pending = pool.submit(fetch, next_url, None, "nextLink")
                yield list(body.get("value") or [])
                if pending is None:
                    return
                body = pending.result()
        finally:
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)

    def iter_items(self, path: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        for page in self.iter_pages(path, **kwargs):
            yield from page

    def wait(
        self,
        response: requests.Response,
        *,
        context: str = "",
        timeout: float | None = None,
        on_status: StatusCallback | None = None,
    ) -> dict[str, Any]:
        """Follow a long-running operation to its end and return the last status body.

        Polls Azure-AsyncOperation (or Operation-Location) when given, else Location; honours
        Retry-After; raises OperationFailedError on Failed/Canceled and OperationTimeoutError
        when `timeout` passes (the operation may still finish on the service).
        """
        monitor_header = next(
            (h for h in ("Azure-AsyncOperation", "Operation-Location") if response.headers.get(h)),
            None,
        )
        monitor = response.headers.get(monitor_header) if monitor_header else None
        location = response.headers.get("Location")
        if not monitor and not location:
            return self.json(response, context) if response.content else {}
        deadline = time.monotonic() + (self.operation_timeout if timeout is None else timeout)
        last = response
        # The first answer may already carry the operation's end (an operation status body, as
        # createAsync's 202 does): act on it rather than sleep a poll interval first.
        body = self._first_status(response)
        status = str(body.get("status") or "") if body else ""
        if on_status and status:
            on_status(status)
        while status.lower() not in _TERMINAL:
            asked = server_delay(last.headers)
            wait = self.poll_interval if asked is None else min(asked, MAX_SERVER_DELAY)
            if time.monotonic() + wait > deadline:
                limit = self.operation_timeout if timeout is None else timeout
                raise OperationTimeoutError(
                    f"{context or 'The operation'} is still running after {limit:.0f}s; it may "
                    "still finish on the service: check again later."
                )
            self._sleep(wait)
            last = self.request(
                "GET",
                urljoin(response.url or self.base_url + "/", monitor or location),
                context=context,
                link=monitor_header or "Location",
            )
            body = self.json(last, context) if last.content else {}
            # A Location monitor answers 202 while running and 200/204 when done.
            implied = "InProgress" if (not monitor and last.status_code == 202) else "Succeeded"
            status = str(body.get("status") or (implied if not monitor else "InProgress"))
            if on_status:
                on_status(status)
        if status.lower() != "succeeded":
            error = body.get("error") or {}
            raise OperationFailedError(
                f"{context or 'The operation'} ended {status}: "
                f"{error.get('message') or 'the service gave no reason'}",
                code=error.get("code"),
                request_id=last.headers.get("x-ms-request-id"),
            )
        return body

    def _first_status(self, response: requests.Response) -> dict[str, Any] | None:
        """The operation status body the first answer carries, if it is one (a top-level
        `status` string); a resource body (ARM's 201 with provisioningState) is not."""
        if response.status_code not in (200, 201, 202) or not response.content:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        if isinstance(body, dict) and isinstance(body.get("status"), str):
            return body
        return None

    def close(self) -> None:
        self.session.close()
