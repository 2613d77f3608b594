"""A small time-bounded cache for lists that are expensive to page through (catalog, models)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")


class TtlCache:
    """Values per key, reused for `seconds` after they were loaded; thread-safe."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._values: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._generation = 0  # bumped by invalidate(): loads begun before it are not stored

    def get(self, key: str, load: Callable[[], T], *, refresh: bool = False) -> T:
        with self._lock:
            hit = self._values.get(key)
            if hit and not refresh and self._clock() - hit[0] < self.seconds:
                return hit[1]
            generation = self._generation
        value = load()
        with self._lock:
            if self._generation == generation:
                self._values[key] = (self._clock(), value)
        return value

    def fresh(self, key: str) -> Any | None:
        """The cached value if it is still fresh, else None; never loads."""
        with self._lock:
            hit = self._values.get(key)
            return hit[1] if hit and self._clock() - hit[0] < self.seconds else None

    def peek(self, key: str) -> Any | None:
        """The cached value even if stale, or None (for tab completion: never blocks)."""
        hit = self._values.get(key)
        return hit[1] if hit else None

    def invalidate(self, *keys: str) -> None:
        """Drop `keys` (all when none) and what derives from them: keys under `key/`, e.g.
        "deployments/quota/eastus" goes with "deployments" (quota moves with deployments)."""
        with self._lock:
            self._generation += 1
            for key in keys or list(self._values):
                self._values.pop(key, None)
                for derived in [k for k in self._values if k.startswith(key + "/")]:
                    del self._values[derived]


@contextmanager
def bulk_objects():
    """Hold off the cyclic garbage collector while thousands of records are built at once.

    Records are acyclic, so the collector finds nothing in them; without this, the passes it
    triggers over ~20,000 new objects cost ~15% of a cold 5,000-model list."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
