"""quota, regions, accounts and the deploy pre-check, over real HTTP against a multi-region
sandbox with several accounts."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import requests
from azmodels_support import start_app

from azmodels_magic.errors import (
    NotFoundError,
    QuotaExceededError,
    UsageError,
    ValidationError,
)

USAGE = "OpenAI.GlobalStandard.gpt-4o"
LIMIT = 50


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    data = tmp_path_factory.mktemp("quota-sandbox")
    app = start_app(
        sandbox={
            "data_dir": str(data),
            "extra_args": [
                "--accounts", "team-b=swedencentral", "ops/team-c=westus3",
                "locked=eastus2:denied",
                "--quota", f"eastus:{USAGE}={LIMIT}",
            ],
        },
    )  # fmt: skip
    app.cache_seconds = 600  # what the tests see fresh was invalidated, not expired
    app.sandbox_log = Path(data) / "sandbox.log"
    yield app
    app.close()


def rest(app, method: str, path: str, **kwargs) -> requests.Response:
    info = app.sandbox_info
    return requests.request(
        method,
        info.arm_endpoint + path,
        params={"api-version": "2025-06-01"},
        headers={"Authorization": f"Bearer {info.token}"},
        timeout=30,
        **kwargs,
    )


def deployment_path(app, name: str, account: str | None = None, group: str | None = None) -> str:
    info = app.sandbox_info
    return (
        f"/subscriptions/{info.subscription_id}/resourceGroups/{group or info.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{account or info.account}"
        f"/deployments/{name}"
    )


def used(app, region: str = "eastus", usage: str = USAGE) -> int:
    frame = app.execute(f"quota --region {region}").value
    row = frame[frame["usage_name"] == usage]
    return int(row["used"].iloc[0])


def puts_of(app, name: str) -> list[str]:
    lines = app.sandbox_log.read_text().splitlines()
    return [line for line in lines if re.search(rf"PUT \S+/deployments/{re.escape(name)} ", line)]


def test_quota_rows_columns_and_types(world):
    outcome = world.execute("quota --model gpt-4o")
    frame = outcome.value
    assert list(frame.columns) == [
        "region", "usage_name", "model", "sku", "used", "limit", "available", "unit",
    ]  # fmt: skip
    assert set(frame["region"]) == {"eastus"}
    # gpt-4o's own usages, and the shared pools its catalog SKUs draw on (as in real catalogs:
    # ProvisionedManaged -> OpenAI.ProvisionedManaged)
    declared = {s.usage_name for m in world.models.base_versions("gpt-4o") for s in m.skus}
    pairs = zip(frame["usage_name"], frame["model"], strict=True)
    assert {u for u, m in pairs if m != "gpt-4o"} <= declared
    assert "gpt-4o" in set(frame["model"])
    for column in ("used", "limit", "available"):
        assert str(frame[column].dtype) == "Int64"
    row = frame[frame["usage_name"] == USAGE].iloc[0]
    assert (row["sku"], row["limit"], row["unit"]) == ("GlobalStandard", LIMIT, "Count")
    assert row["available"] == row["limit"] - row["used"]
    assert outcome.message.endswith("in eastus.")
    several = world.execute("quota --region eastus swedencentral --sku GlobalStandard").value
    assert set(several["region"]) == {"eastus", "swedencentral"}
    assert set(several["sku"]) == {"GlobalStandard"}
    everywhere = world.execute("quota --all-regions --model gpt-4o-mini").value
    assert set(everywhere["region"]) >= {"eastus", "eastus2", "swedencentral"}


def test_quota_bad_input_is_one_line(world):
    with pytest.raises(UsageError, match="--region or --all-regions, not both"):
        world.execute("quota --region eastus --all-regions")
    with pytest.raises(ValidationError) as refused:
        world.execute("quota --region mars")
    text = str(refused.value)
    assert "mars" in text and "eastus" in text and "\n" not in text


def test_quota_of_an_unknown_model_says_it_is_unknown_as_regions_does(world):
    for line in ("quota --all-regions --model no-such-model", "regions no-such-model"):
        with pytest.raises(NotFoundError) as caught:
            world.execute(line)
        assert "No model named 'no-such-model'" in str(caught.value), line
    assert len(world.execute("quota --model gpt-4o").value) > 0  # a known one: its rows


def test_quota_moves_with_deploy_scale_and_delete_at_once(world):
    before = used(world)  # now cached for 600 s: only invalidation can refresh it
    world.execute(
        "deploy --name gpt-4o --deployment-name q-moves --sku GlobalStandard --capacity 5"
    )
    assert used(world) == before + 5
    world.execute("deployments scale --name q-moves --capacity 7")
    assert used(world) == before + 7
    world.execute("deployments delete --name q-moves --force")
    assert used(world) == before


def test_deploy_over_quota_sends_nothing_and_the_suggestion_works(world):
    world.execute("deploy --name gpt-4o --deployment-name q-big --sku GlobalStandard --capacity 40")
    try:
        left = LIMIT - used(world)
        with pytest.raises(QuotaExceededError) as refused:
            world.execute(
                "deploy --name gpt-4o --deployment-name q-more --sku GlobalStandard --capacity 20"
            )
        text = str(refused.value)
        assert refused.value.code == "InsufficientQuota" and "\n" not in text
        assert f"needs 20, {left} left of {LIMIT} in eastus" in text
        assert puts_of(world, "q-more") == []  # the sandbox's own log: no PUT was sent
        commands = re.findall(r"`azmodels (deploy [^`]+)`", text)
        assert 1 <= len(commands) <= 3
        assert "--region swedencentral" in commands[0]  # your account's region comes first
        done = world.execute(commands[0])
        assert done.value.region == "swedencentral" and done.value.status == "Running"
        path = deployment_path(world, "q-more", "team-b")
        assert rest(world, "GET", path).json()["sku"] == {"name": "GlobalStandard", "capacity": 20}
        rest(world, "DELETE", path)
    finally:
        world.execute("deployments delete --name q-big --force")


def test_the_services_own_refusal_is_reported_the_same_way(world):
    used(world)  # the pre-check will read these (soon stale) figures
    world.execute("regions --name gpt-4o")
    # Another client takes the quota between our check and our PUT.
    body = {
        "sku": {"name": "GlobalStandard", "capacity": LIMIT},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}},
    }
    other = deployment_path(world, "q-other")
    assert rest(world, "PUT", other, json=body).status_code == 201
    try:
        with pytest.raises(QuotaExceededError) as refused:
            world.execute(
                "deploy --name gpt-4o --deployment-name q-race --sku GlobalStandard --capacity 5"
            )
        text = str(refused.value)
        assert "InsufficientQuota" in text and "It fits in swedencentral" in text
        assert len(puts_of(world, "q-race")) == 1  # sent once, refused by the service
        assert rest(world, "GET", deployment_path(world, "q-race")).status_code == 404
    finally:
        rest(world, "DELETE", other)


def patches_of(app, name: str) -> list[str]:
    lines = app.sandbox_log.read_text().splitlines()
    return [line for line in lines if re.search(rf"PATCH \S+/deployments/{re.escape(name)} ", line)]


def test_scale_up_needs_quota_only_for_what_it_adds(world):
    world.deployments.cache.invalidate()  # earlier tests changed deployments behind its back
    world.execute("deploy --name gpt-4o --deployment-name q-grow --capacity 30")
    try:
        left = LIMIT - used(world)
        # Up to exactly what is left: the deployment's own 30 units are not counted twice.
        world.execute(f"deployments scale --name q-grow --capacity {30 + left}")
        assert used(world) == LIMIT
        with pytest.raises(QuotaExceededError) as refused:
            world.execute(f"deployments scale --name q-grow --capacity {30 + left + 5}")
        text = str(refused.value)
        assert refused.value.code == "InsufficientQuota" and "\n" not in text
        assert f"needs 5, 0 left of {LIMIT} in eastus" in text, text
        assert "nothing was sent" in text and "It fits in swedencentral" in text, text
        assert len(patches_of(world, "q-grow")) == 1  # only the scale that fitted was sent
        world.execute("deployments scale --name q-grow --capacity 10")  # down: no quota needed
        assert used(world) == LIMIT - left - 20
    finally:
        world.execute("deployments delete --name q-grow --force")


def test_the_services_own_refusal_of_a_scale_is_reported_the_same_way(world):
    world.deployments.cache.invalidate()  # earlier tests changed deployments behind its back
    world.execute("deploy --name gpt-4o --deployment-name q-raced --capacity 5")
    used(world)  # the pre-check will read these (soon stale) figures
    world.execute("regions --name gpt-4o")
    # Another client takes the rest of the quota between our check and our PATCH.
    body = {
        "sku": {"name": "GlobalStandard", "capacity": LIMIT - used(world)},
        "properties": {"model": {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}},
    }
    other = deployment_path(world, "q-other2")
    assert rest(world, "PUT", other, json=body).status_code == 201
    try:
        with pytest.raises(QuotaExceededError) as refused:
            world.execute("deployments scale --name q-raced --capacity 8")
        text = str(refused.value)
        assert "InsufficientQuota" in text and "It fits in swedencentral" in text, text
        # The service's own words count the deployment's units as used, and ask only for 3.
        assert "require 3 new capacity" in text and f"{LIMIT} of {LIMIT} units are used" in text
        assert len(patches_of(world, "q-raced")) == 1  # sent once, refused by the service
        sku = rest(world, "GET", deployment_path(world, "q-raced")).json()["sku"]
        assert sku == {"name": "GlobalStandard", "capacity": 5}
    finally:
        rest(world, "DELETE", other)
        world.execute("deployments delete --name q-raced --force")


def test_regions_fits_agrees_with_what_deploy_accepts(world):
    """A capacity off the SKU's step fits nowhere (deploy refuses it), and the answer names
    the nearest valid capacities, as deploy's refusal does."""
    outcome = world.execute("regions gpt-4.1 --capacity 75 --sku ProvisionedManaged")
    assert len(outcome.value) > 0 and not outcome.value["fits"].any()
    assert "deployable in 0 regions; for ProvisionedManaged, capacity 75 is not on the step" in (
        outcome.message
    )
    assert "nearest: 50 or 100" in outcome.message
    with pytest.raises(ValidationError, match="nearest: 50 or 100"):
        world.execute("deploy gpt-4.1 --deployment-name q-step --sku ProvisionedManaged "
                      "--capacity 75")  # fmt: skip
    on_step = world.execute("regions gpt-4.1 --capacity 100 --sku ProvisionedManaged")
    assert on_step.value["fits"].any()


def test_regions_sorted_by_what_fits_with_your_accounts_marked(world):
    outcome = world.execute("regions --name gpt-4o --sku GlobalStandard --capacity 100")
    frame = outcome.value
    assert list(frame.columns) == [
        "region", "sku", "model_version", "available_capacity", "quota_used", "quota_limit",
        "quota_available", "deployable", "fits", "account",
    ]  # fmt: skip
    assert str(frame["fits"].dtype) == "boolean"
    rows = {r.region: r for r in frame.itertuples()}
    assert not rows["eastus"].fits and rows["eastus"].quota_limit == LIMIT  # quota too small
    assert rows["swedencentral"].fits and rows["swedencentral"].account == "team-b"
    assert "westus3" not in rows and "eastus2" not in rows  # gpt-4o is not offered there
    assert list(frame["fits"]) == sorted(frame["fits"], reverse=True)
    assert "swedencentral" in outcome.message
    too_much = world.execute("regions --name gpt-4o --sku GlobalStandard --capacity 30000")
    assert not too_much.value["fits"].any()
    assert "deployable in 0 regions; lower --capacity" in too_much.message
    with pytest.raises(ValidationError, match="SKU 'Nope' is not offered"):
        world.execute("regions --name gpt-4o --sku Nope")
    with pytest.raises(NotFoundError):
        world.execute("regions --name no-such-model")


def test_deploy_region_without_account_or_model_sends_nothing(world):
    with pytest.raises(ValidationError) as refused:
        world.execute("deploy --name gpt-4o-mini --deployment-name q-nowhere --region westeurope")
    assert refused.value.code == "NoAccountInRegion"
    assert "az cognitiveservices account create" in str(refused.value)
    with pytest.raises(ValidationError) as missing:
        world.execute("deploy --name gpt-4o --deployment-name q-west --region westus3")
    assert "not offered in westus3" in str(missing.value)
    assert puts_of(world, "q-nowhere") == [] and puts_of(world, "q-west") == []


def test_accounts_list_and_connect_switch(world):
    outcome = world.execute("accounts list")
    frame = outcome.value
    assert list(frame.columns) == [
        "account", "resource_group", "region", "kind", "projects", "deployments", "note",
    ]  # fmt: skip
    rows = {r.account: r for r in frame.itertuples()}
    assert rows["team-c"].resource_group == "ops" and rows["team-c"].region == "westus3"
    assert rows["azmodels-sandbox"].projects == 1 and rows["team-b"].projects == 0
    assert "AuthorizationFailed" in rows["locked"].note  # unreadable: a note, not a failure
    assert "(connected: azmodels-sandbox)" in outcome.message
    with pytest.raises(NotFoundError, match=r"Did you mean .*team-b"):
        world.execute("connect --account team-d")
    try:
        switched = world.execute("connect --account team-c")
        assert "westus3" in switched.message and "ops" in switched.message
        world.execute("deploy --name gpt-4.1-mini --deployment-name q-there --no-wait")
        listed = world.execute("deployments list").value
        assert list(listed["deployment"]) == ["q-there"]
        assert rest(world, "GET", deployment_path(world, "q-there", "team-c", "ops")).ok
    finally:
        world.execute("connect --account azmodels-sandbox")
    assert world.connection.arm.location == "eastus"


def test_all_accounts_in_one_frame_with_a_warning_row(world):
    world.execute("deploy --name gpt-4o-mini --deployment-name q-all --no-wait")
    try:
        outcome = world.execute("deployments list --all-accounts")
        frame = outcome.value
        assert list(frame.columns[:2]) == ["account", "region"] and frame.columns[-1] == "note"
        mine = frame[frame["deployment"] == "q-all"].iloc[0]
        assert (mine["account"], mine["region"]) == ("azmodels-sandbox", "eastus")
        warning = frame[frame["account"] == "locked"].iloc[0]
        assert warning["status"] == "Warning" and "AuthorizationFailed" in warning["note"]
        assert "1 account could not be read" in outcome.message
        filtered = world.execute("deployments list --all-accounts --model gpt-4o-mini").value
        assert set(filtered["model"].dropna()) == {"gpt-4o-mini"}
    finally:
        world.execute("deployments delete --name q-all --force")


def test_parallel_reads_are_bounded_and_a_slow_one_times_out():
    from azmodels_magic.services.quota import in_parallel

    running, peak = [0], [0]

    def work(seconds: float) -> float:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        time.sleep(seconds)
        running[0] -= 1
        return seconds

    started = time.monotonic()
    results = in_parallel([0.2] * 6 + [5.0], work, concurrency=3, timeout=1.5)
    assert time.monotonic() - started < 3
    assert peak[0] <= 3
    assert [r for _, r, e in results[:6]] == [0.2] * 6
    assert isinstance(results[6][2], TimeoutError)


def test_quota_chart_beside_the_table_and_table_alone_without_matplotlib(world, monkeypatch):
    import sys

    from azmodels_magic.presentation.display import _html_formatter

    world.deployments.deploy(model="gpt-4o", deployment_name="charted", capacity=1)
    try:  # the chart draws the quotas in use
        frame = world.execute("quota --model gpt-4o").value
    finally:
        world.deployments.delete("charted")
    shown = _html_formatter(frame)
    assert "<svg" in shown and "OpenAI.GlobalStandard.gpt-4o" in shown
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    alone = _html_formatter(frame)
    assert "<svg" not in alone and "OpenAI.GlobalStandard.gpt-4o" in alone


def test_chart_is_the_same_for_the_same_quota(world):
    from azmodels_magic.presentation.quota_views import quota_chart_svg

    frame = world.execute("quota --model gpt-4o").value
    assert quota_chart_svg(frame) == quota_chart_svg(frame.copy())


def test_sandbox_start_takes_regions_accounts_and_quota():
    from azmodels_magic import AzModels

    app = AzModels(progress=False, poll_interval=0.1)
    try:
        app.execute(
            "sandbox start --provision-seconds 0.2 --regions eastus westus3 "
            "--accounts team-w=westus3 --quota GlobalStandard=5"
        )
        accounts = app.execute("accounts list").value
        assert list(accounts["account"]) == ["azmodels-sandbox", "team-w"]
        quota = app.execute("quota --all-regions --model gpt-4.1").value
        assert set(quota["region"]) <= {"eastus", "westus3"}
        assert set(quota[quota["sku"] == "GlobalStandard"]["limit"]) == {5}
    finally:
        app.close()


def test_deploy_region_uses_your_account_found_there(world):
    outcome = world.execute(
        "deploy --name gpt-4.1-mini --deployment-name q-found --region westus3 --no-wait"
    )
    assert outcome.value.region == "westus3"
    path = deployment_path(world, "q-found", "team-c", "ops")  # another resource group too
    assert rest(world, "GET", path).json()["properties"]["model"]["name"] == "gpt-4.1-mini"
    assert rest(world, "GET", deployment_path(world, "q-found")).status_code == 404
    rest(world, "DELETE", path)


def test_tab_completes_accounts_regions_and_models(world):
    from azmodels_magic.completion import AzModelsCompleter

    completer = AzModelsCompleter(world, budget=10)
    assert "team-b" in completer.complete("%azmodels connect --account te")
    assert completer.complete("%azmodels quota --region sw") == ["swedencentral"]
    assert "westus3" in completer.complete("%azmodels deploy --name gpt-4o --region w")
    assert "gpt-4o" in completer.complete("%azmodels regions --name gpt-4")
    assert "GlobalStandard" in completer.complete("%azmodels regions --name gpt-4o --sku Glo")


def test_rerunning_a_deploy_that_took_the_last_quota_adopts_it(world):
    """The deployment itself holds the quota the pre-check would find missing: the same deploy
    run again (say, after 'accepted, state unknown') picks it up instead of refusing."""
    left = LIMIT - used(world)
    assert left > 0
    command = f"deploy --name gpt-4o --deployment-name q-all --sku GlobalStandard --capacity {left}"
    first = world.execute(command)
    try:
        assert first.value.status == "Running"
        assert used(world) == LIMIT  # nothing left for anyone
        puts_before = len(puts_of(world, "q-all"))
        again = world.execute(command)
        assert again.value.name == "q-all" and again.value.status == "Running"
        assert len(puts_of(world, "q-all")) == puts_before  # adopted, nothing new sent
        # A different deploy still meets the pre-check: no quota left, one line, nothing sent.
        with pytest.raises(QuotaExceededError, match="0 left of") as refused:
            world.execute("deploy --name gpt-4o --deployment-name q-next --sku GlobalStandard")
        assert puts_of(world, "q-next") == [], str(refused.value)
    finally:
        world.execute("deployments delete --name q-all --force")
