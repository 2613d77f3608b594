"""Faults: the whole lifecycle against a sandbox that fails 20% of requests (429/500/503) ends in
exactly the state a fault-free run ends in, with byte-exact weights and nothing left behind.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from azmodels_support import retries_logged
from reliability_support import BLOCK, Raw, file_sha256, make_weights, sha256, start_app

MODEL = "rel-model"
SEEDS = (1, 2, 3)


def run_lifecycle(app, weights: Path) -> dict[str, Any]:
    """list, upload (multi-block), register, deploy base and custom, scale, delete everything.
    Returns what was observed along the way."""
    app.uploads.block_size, app.uploads.workers = BLOCK, 2
    raw = Raw(app.sandbox_info)
    seen: dict[str, Any] = {}

    catalog = app.run("list --type base")
    assert len(catalog) == 34
    assert app.run("list --type custom").empty

    outcome = app.execute(
        "upload --base-model gpt-4o "
        f"--source {weights} --name {MODEL} --version 1 --tags team=rel stage=test "
        "--description 'reliability battery' --no-progress"
    )
    report = outcome.value
    assert report.plan.blocks > 4, "the model must take several blocks"
    assert report.model.ready
    details = app.run(f"show {MODEL}")
    assert details.versions == ["1"]

    base = app.execute("deploy --name gpt-4o --deployment-name rel-base --capacity 2").value
    assert base.deployment.status.lower() in ("running", "succeeded")
    custom = app.execute(f"deploy --name {MODEL} --deployment-name rel-custom").value
    assert custom.deployment.model_name == MODEL
    app.execute("deployments scale --name rel-base --capacity 3")
    listed = app.run("deployments list")
    assert sorted(listed["deployment"]) == ["rel-base", "rel-custom"]

    seen["built"] = raw.wait_settled()
    stored = raw.download(MODEL, "1")
    seen["weights"] = {name: sha256(data) for name, data in stored.items()}

    app.execute("deployments delete --name rel-base --force")
    app.execute("deployments delete --name rel-custom --force")
    app.execute(f"delete --name {MODEL} --version 1 --force")
    seen["final"] = raw.wait_settled()
    seen["blobs"] = raw.blob_count()
    return seen


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return make_weights(tmp_path_factory.mktemp("fault-weights"))


@pytest.fixture(scope="module")
def runs(weights) -> dict[int | None, dict[str, Any]]:
    """The fault-free run (key None) and one run per seed, side by side: each sandbox is its
    own process, and the runs mostly wait on polls, so together they take the time of one."""
    apps = {None: start_app(max_retries=10)}
    try:
        for seed in SEEDS:
            # 429s ask for 200 ms (not the default second) to keep the battery short; the
            # client still has to honour Retry-After and retry every kind of fault.
            apps[seed] = start_app(
                max_retries=10,
                sandbox={
                    "fault_rate": 0.2,
                    "seed": seed,
                    "extra_args": ["--fault-retry-after-ms", "200"],
                },
            )
        with retries_logged() as retries, ThreadPoolExecutor(len(apps)) as pool:
            futures = {key: pool.submit(run_lifecycle, app, weights) for key, app in apps.items()}
            seen = {key: future.result() for key, future in futures.items()}
        for key, app in apps.items():  # each sandbox has its own address: its retries name it
            address = app.sandbox_info.arm_endpoint
            seen[key]["retries"] = sum(address + "/" in line for line in retries)
        return seen
    finally:
        for app in apps.values():
            app.close()


@pytest.fixture(scope="module")
def reference(runs) -> dict[str, Any]:
    return runs[None]


def _check_built(seen: dict[str, Any], weights: Path) -> None:
    built = seen["built"]
    assert [(m["name"], m["version"], m["state"]) for m in built["registry"]] == [
        (MODEL, "1", "Succeeded")
    ]
    assert [(d["name"], d["sku"]["capacity"], d["state"]) for d in built["deployments"]] == [
        ("rel-base", 3, "Succeeded"),
        ("rel-custom", 80, "Succeeded"),  # a custom deploy's default: GlobalProvisionedManaged 80
    ]
    # byte-exact: the registered model holds the file, nothing else
    assert seen["weights"]["model.safetensors"] == file_sha256(weights)
    assert set(seen["weights"]) == {"model.safetensors"}


def test_fault_free_reference(reference, weights) -> None:
    _check_built(reference, weights)
    assert reference["final"] == {"registry": [], "deployments": []}
    # The deleted model's weights stay: the credentials route's SAS may read them, not remove
    # them (read and list only), so exactly its one file is left, in its one container.
    assert sorted(reference["blobs"].values()) == [1]


@pytest.mark.parametrize("seed", SEEDS)
def test_lifecycle_under_faults_matches_fault_free_run(seed, runs, reference, weights) -> None:
    seen = runs[seed]
    assert seen["retries"] > 0, "the faults must have been met and retried"
    _check_built(seen, weights)
    # exactly the fault-free state: no duplicate, orphan or half-made resource
    assert seen["built"] == reference["built"]
    assert seen["weights"] == reference["weights"]
    assert seen["final"] == reference["final"]
    assert sorted(seen["blobs"].values()) == sorted(reference["blobs"].values()), seen["blobs"]
    assert len(seen["blobs"]) == len(reference["blobs"]), "an extra upload container was made"
