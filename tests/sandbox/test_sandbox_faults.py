"""Injected faults: only 429/500/503 with Azure-shaped bodies, reproducible for a seed."""

from __future__ import annotations

import random

from sandbox_support import Api, start_sandbox


def _statuses(api: Api, count: int) -> list[int]:
    return [api.call("GET", api.catalog).status_code for _ in range(count)]


def _expected(rate: float, seed: int, count: int) -> list[int]:
    """What the injector must answer: the same draws from random.Random(seed)."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        out.append(rng.choice((429, 500, 503)) if rng.random() < rate else 200)
    return out


def test_fault_rate_one_fails_everything_before_auth() -> None:
    process = start_sandbox(fault_rate=1.0, seed=1, extra_args=["--fault-retry-after-ms", "1500"])
    try:
        api = Api(process.info)
        seen = set()
        for token in ("owner", None):  # faults come before auth: no 401 here
            for _ in range(15):
                response = api.call("GET", api.catalog, token=token)
                seen.add(response.status_code)
                error = response.json()["error"]
                assert response.headers["x-ms-error-code"] == error["code"]
                expected = {429: "TooManyRequests", 500: "InternalServerError"}
                assert error["code"] == expected.get(response.status_code, "ServiceUnavailable")
                if response.status_code == 429:
                    assert response.headers["Retry-After"] == "2"
                    assert response.headers["retry-after-ms"] == "1500"
        assert seen == {429, 500, 503}
        url = f"{api.project}/models"
        assert api.call("GET", url).status_code in (429, 500, 503)
    finally:
        process.stop()


def test_fault_rate_with_a_seed_is_deterministic() -> None:
    process = start_sandbox(fault_rate=0.3, seed=42)
    try:
        statuses = _statuses(Api(process.info), 60)
    finally:
        process.stop()
    # The exact sequence random.Random(42) gives, so every run with this seed is the same.
    assert statuses == _expected(0.3, 42, 60)
    failures = sum(status != 200 for status in statuses)
    assert failures == sum(status != 200 for status in _expected(0.3, 42, 60))
    assert 5 < failures < 35
