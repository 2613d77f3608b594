"""TtlCache: reuse within the TTL; a load that invalidate() overtook is not stored."""

from __future__ import annotations

import threading

from azmodels_magic.cache import TtlCache


def test_values_are_reused_until_they_expire_or_are_refreshed():
    now = [0.0]
    cache = TtlCache(10, clock=lambda: now[0])
    loads = iter(range(100))
    assert cache.get("k", lambda: next(loads)) == 0
    assert cache.get("k", lambda: next(loads)) == 0
    assert cache.get("k", lambda: next(loads), refresh=True) == 1
    now[0] = 11.0
    assert cache.get("k", lambda: next(loads)) == 2


def test_a_load_started_before_invalidate_is_not_stored():
    cache = TtlCache(60)
    started, release = threading.Event(), threading.Event()
    results: list[str] = []

    def slow_stale_load() -> str:
        started.set()
        assert release.wait(5)
        return "stale"

    worker = threading.Thread(target=lambda: results.append(cache.get("models", slow_stale_load)))
    worker.start()
    assert started.wait(5)
    cache.invalidate("models")  # e.g. a model was registered while the list was loading
    release.set()
    worker.join(5)

    assert results == ["stale"]  # the caller that loaded still gets what it loaded
    assert cache.peek("models") is None
    assert cache.get("models", lambda: "fresh") == "fresh"
    assert cache.get("models", lambda: "unused") == "fresh"
