"""Injected faults: a seeded share of requests answered 429/500/503 before any work is done."""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    status: int
    code: str
    message: str
    headers: dict[str, str]


class FaultInjector:
    """Decides, thread-safely and reproducibly for a seed, which requests fail."""

    def __init__(self, rate: float = 0.0, seed: int | None = None, retry_after_ms: int = 1000):
        if not 0.0 <= rate <= 1.0:
            raise ValueError("the fault rate must be between 0 and 1")
        self.rate = rate
        self.retry_after_ms = max(0, int(retry_after_ms))
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.injected = 0

    def draw(self) -> Fault | None:
        """The fault for this request, or None to serve it."""
        if self.rate <= 0.0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            status = self._rng.choice((429, 500, 503))
            self.injected += 1
        if status == 429:
            ms = self.retry_after_ms
            return Fault(
                429,
                "TooManyRequests",
                "Rate limit is exceeded. Try again later (injected by the sandbox).",
                {"Retry-After": str(math.ceil(ms / 1000)), "retry-after-ms": str(ms)},
            )
        if status == 500:
            return Fault(
                500,
                "InternalServerError",
                "The server encountered an internal error (injected by the sandbox).",
                {},
            )
        return Fault(
            503,
            "ServiceUnavailable",
            "The service is temporarily unavailable (injected by the sandbox).",
            {},
        )
