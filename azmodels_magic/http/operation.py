"""One handle for every long-running operation (deploy, scale, delete, register), and one poll
loop with one injectable clock for everything that waits.

A client returns an `Operation` for a request the service accepted; nothing above the clients
holds a `requests.Response`. The operation knows its first answer (`initial`, e.g. the
deployment ARM describes with its 201), follows `Azure-AsyncOperation` (or `Operation-Location`)
when given, else `Location`, honouring `Retry-After` (as azure-core's LRO poller does), and ends
in one of three outcomes: succeeded, failed (the service said Failed/Canceled: raised as
OperationFailedError) or unknown (following it failed: `follow` says why, since the change was
accepted and is not a failure of the command).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from urllib.parse import urljoin

from ..errors import AzModelsError, OperationFailedError, OperationTimeoutError
from ..redaction import get_logger, redact
from .backoff import MAX_SERVER_DELAY, server_delay

if TYPE_CHECKING:
    import requests

log = get_logger(__name__)

T = TypeVar("T")
StatusCallback = Callable[[str], None]
TERMINAL = frozenset({"succeeded", "failed", "canceled", "cancelled"})
MONITOR_HEADERS = ("Azure-AsyncOperation", "Operation-Location")


class Clock:
    """Time for polling: injectable, so a test can run hours of polls in no time."""

    def __init__(
        self,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.now = now
        self.sleep = sleep


def poll_until(
    step: Callable[[], T],
    finished: Callable[[T], bool],
    *,
    first: T,
    interval: Callable[[T], float],
    timeout: float,
    clock: Clock,
    what: str,
) -> T:
    """From `first`, wait `interval(last)` and call `step` until `finished(last)`. The one poll
    loop: an operation's status, a deployment being created, a registration appearing. Raises
    OperationTimeoutError when the next wait would pass `timeout` seconds."""
    deadline = clock.now() + timeout
    last = first
    while not finished(last):
        wait = interval(last)
        if clock.now() + wait > deadline:
            raise OperationTimeoutError(
                f"{what} is still running after {timeout:.0f}s; it may still finish on the "
                "service: check again later."
            )
        clock.sleep(wait)
        last = step()
    return last


@dataclass(frozen=True)
class Poll:
    """One look at an operation: the answer (None: its first), its body and status."""

    answer: requests.Response | None  # None: the operation's first answer
    body: dict[str, Any]
    status: str


class PollingPlane(Protocol):
    """What an operation needs of its plane (`http.plane.Plane` is one)."""

    base_url: str
    poll_interval: float
    operation_timeout: float
    clock: Clock

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response: ...


class Operation:
    """A long-running operation the service accepted. See the module docstring."""

    def __init__(
        self,
        plane: PollingPlane,
        response: requests.Response,
        *,
        context: str,
        clock: Clock | None = None,
    ) -> None:
        self.plane = plane
        self.context = context
        self.clock = clock or plane.clock
        self.status_code = response.status_code
        self.request_id = response.headers.get("x-ms-request-id")
        self.initial: dict[str, Any] = _json_object(response)
        header = next((h for h in MONITOR_HEADERS if response.headers.get(h)), None)
        self._monitor_header = header
        self._monitor = response.headers.get(header) if header else None
        self._location = response.headers.get("Location")
        self._base = response.url or plane.base_url + "/"
        self._first_delay = server_delay(response.headers)
        # The first answer may already carry the operation's status (createAsync's 202 body).
        first = self.initial.get("status") if response.status_code in (200, 201, 202) else None
        self.status = first if isinstance(first, str) else ""
        self.result: dict[str, Any] = self.initial if self.finished_on_arrival else {}

    def __repr__(self) -> str:
        return f"Operation({self.context!r}, {self.status or self.status_code})"

    @property
    def followed_by(self) -> str:
        """The header the operation is followed by ("" when there is nothing to follow)."""
        return self._monitor_header or ("Location" if self._location else "")

    @property
    def finished_on_arrival(self) -> bool:
        """Nothing to follow: the first answer was the end (200, 204, a body and no monitor)."""
        return not self._monitor and not self._location

    def wait(self, *, timeout: float | None = None, on_status: StatusCallback | None = None):
        """Follow the operation to its end; the last status body. Raises OperationFailedError
        when the service says Failed/Canceled, OperationTimeoutError after `timeout` seconds
        (the operation may still finish), and the plane's errors when a poll fails."""
        if self.finished_on_arrival:
            return self.result
        if on_status and self.status:
            on_status(self.status)

        def step() -> Poll:
            answer = self.plane.request(
                "GET",
                urljoin(self._base, self._monitor or self._location),
                context=self.context,
                link=self._monitor_header or "Location",
            )
            body = _json_object(answer)
            # A Location monitor answers 202 while running and 200/204 when done.
            implied = "InProgress" if (self._monitor or answer.status_code == 202) else "Succeeded"
            polled = Poll(answer, body, str(body.get("status") or implied))
            if on_status:
                on_status(polled.status)
            return polled

        def interval(last: Poll) -> float:
            asked = server_delay(last.answer.headers) if last.answer else self._first_delay
            return self.plane.poll_interval if asked is None else min(asked, MAX_SERVER_DELAY)

        last = poll_until(
            step,
            lambda last: last.status.lower() in TERMINAL,
            # The first answer may already carry the end (createAsync's 202 body does).
            first=Poll(None, self.initial, self.status or "InProgress"),
            interval=interval,
            timeout=self.plane.operation_timeout if timeout is None else timeout,
            clock=self.clock,
            what=self.context or "The operation",
        )
        self.status = last.status
        if last.status.lower() != "succeeded":
            error = last.body.get("error") or {}
            raise OperationFailedError(
                f"{self.context or 'The operation'} ended {last.status}: "
                f"{error.get('message') or 'the service gave no reason'}",
                code=error.get("code"),
                request_id=last.answer.headers.get("x-ms-request-id")
                if last.answer
                else self.request_id,
            )
        self.result = last.body
        return last.body

    def follow(self, *, on_status: StatusCallback | None = None) -> str:
        """Wait for the end; "" when it succeeded, else why its state is unknown. A Failed or
        Canceled operation is raised: that is a real failure. Anything else going wrong while
        following (polls failing, the wait timing out, even a bug) leaves the change accepted
        and its outcome unknown."""
        try:
            self.wait(on_status=on_status)
        except OperationFailedError:
            raise
        except AzModelsError as exc:
            return str(exc).rstrip(".")
        except Exception as exc:
            # No exc_info: a traceback's frames could quote a URL with its SAS, unredacted.
            reason = redact(f"following it failed with {type(exc).__name__}: {exc}")
            log.debug("following %s: %s", self.context, reason)
            return reason
        return ""


def _json_object(response: requests.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
