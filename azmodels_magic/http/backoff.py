"""The one backoff rule every retry and poll uses: the server's word first, else exponential
backoff with full jitter, capped."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from time import time

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_SERVER_DELAY = 300.0  # a Retry-After beyond this is a bug on the other side, not advice


REFUSED_RETRIES = 2  # a refused connection is tried this many more times (a restart's blip)


def refused_connection(exc: BaseException) -> bool:
    """Whether the connection was actively refused (no listener), not lost or timed out. The
    REST planes and blob storage (azure-core's errors wrap the same requests ones) ask this."""
    seen: BaseException | None = exc
    for _ in range(10):  # azure-core -> requests -> urllib3 MaxRetryError -> NewConnectionError
        if seen is None:
            return False
        if isinstance(seen, ConnectionRefusedError):
            return True
        reason = getattr(seen, "reason", None)
        inner = getattr(seen, "inner_exception", None)  # azure-core's AzureError
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        for candidate in (reason, inner, nested, seen.__context__):
            if isinstance(candidate, BaseException):
                seen = candidate
                break
        else:
            return False
    return False


def server_delay(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, x-ms-retry-after-ms, Retry-After)."""
    if not headers:
        return None
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:  # an HTTP date
            return max(0.0, parsedate_to_datetime(value).timestamp() - time())
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number `attempt` (0-based)."""

    base: float = 0.5
    maximum: float = 30.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, headers: Mapping[str, str] | None = None) -> float:
        asked = server_delay(headers)
        if asked is not None:
            return min(asked, MAX_SERVER_DELAY)
        ceiling = min(self.maximum, self.base * (2**attempt))
        return self.rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True)
class TransportSettings:
    """The retries, backoff and timeout every leg honours: the REST planes (`Plane`) and blob
    storage (`clients.storage.open_container`) alike, from the same settings."""

    max_retries: int = 6
    backoff: Backoff = field(default_factory=Backoff)
    timeout: float = 60.0
