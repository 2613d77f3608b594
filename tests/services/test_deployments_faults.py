"""Deployments when the service pushes back: quota exhaustion, and the whole lifecycle through a
sandbox that fails 20% of requests (429/500/503), which must end exactly where a fault-free run
ends, with no duplicate and no orphan deployment.

Each test starts its own sandbox child process (SandboxProcess with extra flags) and connects an
AzModels to it the way a notebook attaches to a running sandbox.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azmodels_support import retries_logged

from azmodels_magic import AzModels
from azmodels_magic.errors import NotFoundError, OperationFailedError, QuotaExceededError
from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.sandbox_launcher import SandboxProcess

PROVISION_SECONDS = 0.3


# -- helpers (conftest_deployments) ----------------------------------------------------------------


def connected(process: SandboxProcess, **settings) -> AzModels:
    info = process.start(timeout=60)
    options = {"progress": False, "poll_interval": 0.1, "retry_backoff": 0.05, **settings}
    az = AzModels(**options)
    az.use_sandbox(info)
    return az


def raw_deployments(az: AzModels) -> dict[str, dict]:
    """Every deployment ARM lists, by name (the plane retries injected faults); no duplicates."""
    arm = az.connection.arm
    found: dict[str, dict] = {}
    for item in arm.plane.iter_items(f"{arm.account_id}/deployments"):
        assert item["name"] not in found, f"ARM listed {item['name']} twice"
        found[item["name"]] = item
    return found


def state(az: AzModels) -> list[tuple]:
    """What a deployment list is made of, read straight from ARM."""
    rows = []
    for name, d in sorted(raw_deployments(az).items()):
        model = d["properties"]["model"]
        rows.append(
            (
                name,
                model["name"],
                model.get("version"),
                "custom" if model.get("source") else "base",
                d["properties"]["provisioningState"],
                d["sku"]["name"],
                d["sku"]["capacity"],
            )
        )
    return rows


def gone(az: AzModels, name: str) -> bool:
    try:
        az.connection.arm.get_deployment(name)
    except NotFoundError:
        return True
    return False


@pytest.fixture
def sandbox(tmp_path) -> Iterator:
    """Start sandboxes with any flags; every one started is stopped at the end."""
    started: list[SandboxProcess] = []
    apps: list[AzModels] = []

    def start(
        *,
        fault_rate: float = 0.0,
        seed: int | None = None,
        extra_args=(),
        provision_seconds: float = PROVISION_SECONDS,
        **settings,
    ):
        process = SandboxProcess(
            data_dir=tmp_path / f"sandbox-{len(started)}",
            fault_rate=fault_rate,
            seed=seed,
            provision_seconds=provision_seconds,
            page_size=3,
            extra_args=list(extra_args),
        )
        started.append(process)
        az = connected(process, **settings)
        apps.append(az)
        return az

    yield start
    for az in apps:
        az.close()
    for process in started:
        process.stop()


# -- quota -----------------------------------------------------------------------------------------


def test_quota_exhaustion_is_reported_and_creates_nothing(sandbox):
    az = sandbox(extra_args=["--quota", "GlobalStandard=20"])
    first = az.execute("deploy --name gpt-4o --deployment-name quota-a --capacity 15")
    assert first.value.status == "Running"

    with pytest.raises(QuotaExceededError) as refused:
        az.execute("deploy --name Phi-4 --deployment-name quota-b --capacity 10")
    text = str(refused.value)
    assert "InsufficientQuota" in text and "\n" not in text
    assert "15 of 20" in text  # the service's own account of what is used
    assert refused.value.code == "InsufficientQuota"
    assert gone(az, "quota-b")
    assert [row[0] for row in state(az)] == ["quota-a"]
    listed = az.execute("deployments list")
    assert listed.message == "1 deployment found (1 base, 0 custom)"

    # Scaling past the quota is refused the same way, and the capacity stays.
    with pytest.raises(QuotaExceededError) as scale_refused:
        az.execute("deployments scale --name quota-a --capacity 21")
    assert "InsufficientQuota" in str(scale_refused.value)
    assert raw_deployments(az)["quota-a"]["sku"] == {"name": "GlobalStandard", "capacity": 15}

    # What is left of the quota can still be used.
    az.execute("deploy --name Phi-4 --deployment-name quota-b --capacity 5")
    assert [row[0] for row in state(az)] == ["quota-a", "quota-b"]


# -- a creation that fails -----------------------------------------------------------------------


def test_a_creation_that_fails_is_reported_and_leaves_no_deployment(sandbox):
    """Someone deletes the deployment while it is being created: the create operation ends
    Canceled; deploy says so and leaves nothing behind."""
    az = sandbox(provision_seconds=3.0)
    other = AzModels(progress=False, poll_interval=0.1)
    other.use_sandbox(az.sandbox_info)
    outcome: dict[str, BaseException] = {}

    def deploy() -> None:
        try:
            az.execute("deploy --name gpt-4o-mini --deployment-name doomed")
        except BaseException as exc:  # handed to the test thread
            outcome["error"] = exc

    thread = threading.Thread(target=deploy)
    thread.start()
    deadline = time.monotonic() + 10
    while gone(other, "doomed"):
        assert time.monotonic() < deadline, "the deployment never appeared"
        time.sleep(0.05)
    assert other.connection.arm.get_deployment("doomed").status == "Creating"
    arm = other.connection.arm
    arm.delete_deployment("doomed")  # no wait: the deploy command is still waiting for its PUT
    thread.join(30)
    assert not thread.is_alive()
    error = outcome.get("error")
    assert isinstance(error, OperationFailedError), error
    text = str(error)
    assert "Deploy 'doomed' ended Canceled" in text and "\n" not in text
    assert gone(az, "doomed")
    assert raw_deployments(az) == {}
    other.close()


# -- the whole lifecycle, with and without faults ------------------------------------------------


def lifecycle(az: AzModels, folder: Path) -> tuple[list[tuple], list[tuple]]:
    """Deploy base and custom models, scale, delete: (state in the middle, state at the end)."""
    weights = write_safetensors(folder / "life.safetensors", {"w": ("F16", (8, 8))}, seed=7)
    az.execute(f"upload --base-model gpt-4o --source {weights} --name life-model")
    az.execute("deploy --name gpt-4o --deployment-name life-gpt")
    az.execute("deploy --name Phi-4 --deployment-name life-phi --capacity 2")
    az.execute("deploy --name life-model --deployment-name life-custom")
    az.execute("deploy --name life-model --type custom --deployment-name life-custom-2 --no-wait")
    az.execute("deployments scale --name life-gpt --capacity 20")
    az.execute("deployments scale --name life-custom --capacity 120")
    az.execute("deployments delete --name life-phi --force")
    details = az.execute("deployments show --name life-gpt").value
    assert (details.status, details.deployment.capacity) == ("Running", 20)
    listed = az.execute("deployments list")
    assert listed.message == "3 deployments found (1 base, 2 custom)"
    middle = state(az)
    for name in sorted(raw_deployments(az)):
        az.execute(f"deployments delete --name {name} --force")
    end = state(az)
    assert az.execute("deployments list").message == "0 deployments found (0 base, 0 custom)"
    return middle, end


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory) -> tuple[list[tuple], list[tuple]]:
    process = SandboxProcess(provision_seconds=PROVISION_SECONDS, page_size=3)
    az = connected(process)
    try:
        with retries_logged() as retries:
            result = lifecycle(az, tmp_path_factory.mktemp("fault-free"))
        assert retries == []
        return result
    finally:
        az.close()
        process.stop()


def test_the_fault_free_lifecycle_ends_as_expected(fault_free):
    middle, end = fault_free
    assert middle == [
        ("life-custom", "life-model", "1", "custom", "Succeeded", "GlobalProvisionedManaged", 120),
        ("life-custom-2", "life-model", "1", "custom", "Succeeded", "GlobalProvisionedManaged", 80),
        ("life-gpt", "gpt-4o", "2024-11-20", "base", "Succeeded", "GlobalStandard", 20),
    ]
    assert end == []


@pytest.mark.parametrize("seed", [11, 2024])
def test_lifecycle_with_faults_ends_like_a_fault_free_run(sandbox, tmp_path, fault_free, seed):
    az = sandbox(
        fault_rate=0.2,
        seed=seed,
        extra_args=["--fault-retry-after-ms", "100"],  # keep the 429s short for the suite
    )
    with retries_logged() as retries:
        middle, end = lifecycle(az, tmp_path)
    arm_retries = [line for line in retries if "/subscriptions/" in line]
    assert arm_retries, "the sandbox injected no fault the ARM plane had to retry"
    assert (middle, end) == fault_free
    # No orphan anywhere: nothing left in ARM, not even a deployment still being deleted.
    assert raw_deployments(az) == {}
    for name in ("life-gpt", "life-phi", "life-custom", "life-custom-2"):
        assert gone(az, name)
