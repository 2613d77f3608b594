"""The HTTP plane against the running sandbox: retries, Retry-After, paging, LRO, errors."""

from __future__ import annotations

import logging

import pytest
from azmodels_support import retries_logged, start_app

from azmodels_magic.auth import StaticTokenCredential, TokenProvider
from azmodels_magic.errors import (
    AuthenticationError,
    NotFoundError,
    OperationTimeoutError,
    ValidationError,
)
from azmodels_magic.http.backoff import Backoff
from azmodels_magic.http.plane import Plane

CATALOG = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/providers/"
    "Microsoft.CognitiveServices/locations/eastus/models"
)


def _plane(info, *, token=None, sleeps=None, **kwargs) -> Plane:
    return Plane(
        name="ARM",
        base_url=info.arm_endpoint,
        scope="https://management.azure.com/.default",
        tokens=TokenProvider(StaticTokenCredential(token or info.token)),
        api_version="2025-06-01",
        backoff=Backoff(base=0.01, maximum=0.05),
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **kwargs,
    )


@pytest.fixture(scope="module")
def flaky():
    """A sandbox answering 40% of requests with 429/500/503 (429s ask for 300 ms)."""
    from azmodels_magic.sandbox_launcher import SandboxProcess

    process = SandboxProcess(
        fault_rate=0.4, seed=7, page_size=4, extra_args=["--fault-retry-after-ms", "300"]
    )
    yield process.start()
    process.stop()


def test_paging_follows_next_link_and_returns_each_item_once(app):
    plane = _plane(app.sandbox_info)
    pages = list(plane.iter_pages(CATALOG))
    # The catalog lists a version once per account kind (as ARM does): that is the item.
    names = [(m["kind"], m["model"]["name"], m["model"]["version"]) for page in pages for m in page]
    assert len(pages) == -(-len(names) // 5)  # the fixture's page size is 5
    assert len(names) == len(set(names)) >= 60


def test_faults_are_retried_and_retry_after_is_honoured(flaky):
    sleeps: list[float] = []
    plane = _plane(flaky, sleeps=sleeps, max_retries=12)
    with retries_logged() as retries:
        names = [m["model"]["name"] for m in plane.iter_items(CATALOG)]
    assert len(names) >= 30
    assert len(retries) == len(sleeps) > 0
    # 429s carry retry-after-ms: 300 and must be waited exactly; 5xx use our short backoff.
    assert 0.3 in sleeps
    assert all(s == 0.3 or s <= 0.05 for s in sleeps)


def test_exhausted_retries_raise_a_service_error_with_the_code(flaky):
    plane = _plane(flaky, max_retries=0)
    with pytest.raises(Exception) as caught:
        for _ in range(30):
            list(plane.iter_items(CATALOG))
    error = caught.value
    assert error.status in (429, 500, 503)
    assert error.code in ("TooManyRequests", "InternalServerError", "ServiceUnavailable")
    assert error.request_id


def test_errors_carry_code_message_and_request_id(app):
    plane = _plane(app.sandbox_info)
    with pytest.raises(NotFoundError) as caught:
        plane.get_json(app.connection.arm.account_id + "/deployments/missing", context="Get")
    error = caught.value
    assert error.code == "DeploymentNotFound"
    assert error.status == 404
    assert error.request_id and error.request_id in str(error)
    assert str(error).startswith("Get: ")


def test_a_wrong_token_is_one_authentication_error_with_the_sign_in_hint(app):
    plane = _plane(app.sandbox_info, token="not-the-token")
    with pytest.raises(AuthenticationError) as caught:
        list(plane.iter_items(CATALOG))
    assert "az login" in str(caught.value)
    assert "not-the-token" not in str(caught.value)


def test_long_running_operation_is_followed_to_its_end(app):
    arm = app.connection.arm
    states: list[str] = []
    operation = arm.put_deployment(
        "lro-check", sku="GlobalStandard", capacity=1,
        model={"format": "OpenAI", "name": "gpt-4o-mini"},
    )  # fmt: skip
    assert operation.status_code == 201
    assert operation.followed_by == "Azure-AsyncOperation"
    assert operation.initial["name"] == "lro-check"  # the deployment the 201 describes
    body = operation.wait(on_status=states.append)
    assert body["status"] == "Succeeded"
    assert states[-1] == "Succeeded"
    assert arm.get_deployment("lro-check").provisioning_state == "Succeeded"
    gone = arm.delete_deployment("lro-check")
    assert gone.status_code == 202
    assert gone.wait()["status"] == "Succeeded"
    with pytest.raises(NotFoundError):
        arm.get_deployment("lro-check")


def test_operation_timeout_says_it_may_still_finish():
    app = start_app(provision_seconds=5)
    try:
        arm = app.connection.arm
        operation = arm.put_deployment(
            "slow", sku="GlobalStandard", capacity=1, model={"format": "OpenAI", "name": "o3-mini"}
        )
        with pytest.raises(OperationTimeoutError, match="may still finish"):
            operation.wait(timeout=0.5)
    finally:
        app.close()


def test_plain_http_is_refused_off_loopback():
    with pytest.raises(ValidationError, match="use https"):
        Plane(
            name="ARM",
            base_url="http://management.example.com",
            scope="x",
            tokens=TokenProvider(StaticTokenCredential("t")),
            api_version="1",
        )


def test_debug_logs_http_calls_to_stderr_without_secrets(app, capfd):
    app.debug = True
    try:
        app.models.catalog(refresh=True)
    finally:
        app.debug = False
    err = capfd.readouterr().err
    assert "azmodels DEBUG GET" in err
    assert app.sandbox_info.token not in err
    app.models.catalog(refresh=True)
    assert "azmodels DEBUG" not in capfd.readouterr().err
    assert logging.getLogger("azmodels_magic").level == logging.NOTSET
