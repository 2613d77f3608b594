"""A deploy, scale or delete the service accepted is never reported as a failure.

A sandbox fails half of all requests (429/500/503, before doing any work) and the client retries
each only once, so polls after an accepted PUT/PATCH/DELETE often fail for good. Whatever the
command says is checked against ARM itself (a raw, patient client):
- an error means nothing changed;
- otherwise the change happened, and when its outcome could not be followed the command says
  "accepted, state unknown" with how to check;
- running the same command again converges (never DeploymentExists or "being scaled"); a
  different spec still refuses.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
from reliability_support import Raw

from azmodels_magic import AzModels
from azmodels_magic.errors import AzModelsError, ConflictError, NotFoundError
from azmodels_magic.sandbox_launcher import SandboxProcess

PROVISION = 0.3
MODEL = "gpt-4o-mini"


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> Iterator[tuple[AzModels, Raw]]:
    process = SandboxProcess(
        data_dir=tmp_path_factory.mktemp("faulty"),
        fault_rate=0.5,
        seed=20261128,
        provision_seconds=PROVISION,
        extra_args=["--fault-retry-after-ms", "20"],
    )
    info = process.start(timeout=60)
    az = AzModels(progress=False, poll_interval=0.05, retry_backoff=0.01, max_retries=1)
    az.use_sandbox(info)
    try:
        yield az, Raw(info)
    finally:
        az.close()
        process.stop()


def raw_deployment(raw: Raw, name: str) -> dict | None:
    response = raw.call("GET", f"{raw.account}/deployments/{name}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    return response.json()


def settled(raw: Raw, name: str) -> dict | None:
    """The deployment once nothing is moving (or None once gone)."""
    deadline = time.monotonic() + 20
    while True:
        found = raw_deployment(raw, name)
        if found is None or found["properties"]["provisioningState"] == "Succeeded":
            return found
        assert time.monotonic() < deadline, found
        time.sleep(0.1)


def create_raw(raw: Raw, name: str, capacity: int) -> None:
    body = {
        "sku": {"name": "GlobalStandard", "capacity": capacity},
        "properties": {"model": {"format": "OpenAI", "name": MODEL}},
    }
    response = raw.call("PUT", f"{raw.account}/deployments/{name}", json=body)
    assert response.status_code in (200, 201), response.text
    assert settled(raw, name) is not None


def is_accepted_unknown(message: str, name: str) -> bool:
    return "accepted" in message and "state is unknown" in message


def check_accepted_message(message: str, name: str) -> None:
    assert f"'{name}'" in message and f"deployments show --name {name}" in message
    assert "\n" not in message and "Traceback" not in message


def rerun_until_settled(az: AzModels, line: str, *, attempts: int = 30):
    """Run a command again as a person would after an unknown outcome: failures from injected
    faults are retried; a refusal (ConflictError) is never acceptable."""
    for _ in range(attempts):
        try:
            outcome = az.execute(line)
        except ConflictError as exc:
            pytest.fail(f"re-running `{line}` was refused: {exc}")
        except NotFoundError:
            raise
        except AzModelsError:
            continue
        if not is_accepted_unknown(outcome.message, ""):
            return outcome
    pytest.fail(f"`{line}` never settled")


def test_deploy_accepted_is_not_a_failure_and_the_same_deploy_converges(faulty):
    az, raw = faulty
    line = "deploy --name " + MODEL + " --deployment-name {name} --capacity 2"
    unknown: list[str] = []
    for i in range(24):
        name = f"acc-{i}"
        try:
            outcome = az.execute(line.format(name=name))
        except AzModelsError as exc:
            assert not isinstance(exc, ConflictError), exc
            # Reported as failed: then it must not exist, now or once things settle.
            assert settled(raw, name) is None, f"deploy said {exc!s} but {name} was created"
            continue
        assert settled(raw, name) is not None
        if is_accepted_unknown(outcome.message, name):
            check_accepted_message(outcome.message, name)
            assert outcome.value.state_unknown
            unknown.append(name)
        else:
            assert outcome.value.status == "Running", outcome.message
    assert unknown, "the faults never left a deploy's outcome unknown: the test proves nothing"

    for name in unknown:
        outcome = rerun_until_settled(az, line.format(name=name))
        assert outcome.value.status == "Running" and not outcome.value.state_unknown
        found = settled(raw, name)
        assert found["sku"] == {"name": "GlobalStandard", "capacity": 2}

    # A different spec on the same name is still refused, and changes nothing.
    for _ in range(30):
        try:
            az.execute(f"deploy --name {MODEL} --deployment-name {unknown[0]} --capacity 3")
        except ConflictError as exc:
            assert "already exists" in str(exc)
            break
        except AzModelsError:
            continue
        pytest.fail("a deploy with another capacity adopted the existing deployment")
    assert settled(raw, unknown[0])["sku"]["capacity"] == 2


def test_scale_accepted_is_not_a_failure_and_the_same_scale_converges(faulty):
    az, raw = faulty
    name = "scale-me"
    create_raw(raw, name, 1)
    unknown = 0
    for target in range(2, 18):
        before = settled(raw, name)["sku"]["capacity"]
        line = f"deployments scale --name {name} --capacity {target}"
        try:
            outcome = az.execute(line)
        except AzModelsError as exc:
            assert not isinstance(exc, ConflictError), exc
            assert settled(raw, name)["sku"]["capacity"] == before, f"scale said {exc!s}"
            continue
        if is_accepted_unknown(outcome.message, name):
            check_accepted_message(outcome.message, name)
            unknown += 1
            # At once, while the update may still be in flight: waited for, not refused.
            rerun_until_settled(az, line)
        assert settled(raw, name)["sku"]["capacity"] == target
    assert unknown, "the faults never left a scale's outcome unknown"


def test_delete_accepted_is_not_a_failure(faulty):
    az, raw = faulty
    unknown = 0
    for i in range(16):
        name = f"del-{i}"
        create_raw(raw, name, 1)
        line = f"deployments delete --name {name} --force"
        try:
            outcome = az.execute(line)
        except AzModelsError as exc:
            assert settled(raw, name) is not None, f"delete said {exc!s} but {name} is gone"
            continue
        if is_accepted_unknown(outcome.message, name):
            check_accepted_message(outcome.message, name)
            unknown += 1
            # At once: a delete in flight is followed to its end (or finished before the
            # re-run looked: then the deployment is simply not found).
            with contextlib.suppress(NotFoundError):
                rerun_until_settled(az, line)
        assert settled(raw, name) is None
    assert unknown, "the faults never left a delete's outcome unknown"


@pytest.fixture(scope="module")
def calm() -> Iterator[tuple[AzModels, Raw]]:
    """A sandbox without faults, slow to provision (2 s): room to act mid-creation."""
    from reliability_support import start_app

    az = start_app(provision_seconds=2.0)
    try:
        yield az, Raw(az.sandbox_info)
    finally:
        az.close()


def test_the_same_deploy_while_it_is_still_creating_waits_for_it(calm):
    """The re-run comes while the first creation is still in flight: it is adopted and followed
    to the end (no second PUT needed), and a different spec is still refused."""
    az, raw = calm
    create = {
        "sku": {"name": "GlobalStandard", "capacity": 2},
        "properties": {"model": {"format": "OpenAI", "name": MODEL}},
    }
    started = raw.call("PUT", f"{raw.account}/deployments/early", json=create)
    assert started.status_code == 201
    with pytest.raises(ConflictError, match="already exists"):
        az.execute(f"deploy --name {MODEL} --deployment-name early --capacity 3")
    states: list[str] = []
    details = az.deployments.deploy(
        model=MODEL, deployment_name="early", capacity=2, on_status=states.append
    )
    assert details.status == "Running" and not details.state_unknown
    assert states and states[-1] == "Succeeded"  # it did wait: the state moved
    assert [d["name"] for d in raw.deployments()] == ["early"]


def test_a_bug_while_following_an_accepted_deploy_is_not_a_failure(calm):
    """Anything that breaks after the service accepted (here the caller's status callback) leaves
    the deploy accepted with its state unknown, not an internal error."""
    az, raw = calm

    def broken_status(state: str) -> None:
        raise RuntimeError("the progress display broke")

    details = az.deployments.deploy(
        model=MODEL, deployment_name="followed", capacity=1, on_status=broken_status
    )
    assert "RuntimeError" in details.state_unknown
    assert settled(raw, "followed") is not None  # it was created
    again = az.execute(f"deploy --name {MODEL} --deployment-name followed --capacity 1")
    assert again.value.status == "Running" and not again.value.state_unknown
