"""The multi-region sandbox: usages, model capacities, accounts and quota held by deployments."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_support import Api, start_sandbox

CS = "providers/Microsoft.CognitiveServices"
GPT4O = {"format": "OpenAI", "name": "gpt-4o", "version": "2024-11-20"}
USAGE = "OpenAI.GlobalStandard.gpt-4o"


@pytest.fixture(scope="module")
def world() -> Iterator[Api]:
    process = start_sandbox(
        extra_args=[
            "--regions", "eastus,eastus2", "swedencentral",
            "--accounts", "team-b=swedencentral", "rg-other/team-c=eastus", "team-e=eastus2",
            "--quota", f"eastus:{USAGE}=50", "swedencentral:GlobalStandard=30",
            "eastus2:OpenAI.Standard.gpt-4o-mini=100",
        ]
    )  # fmt: skip
    assert process.info is not None
    yield Api(process.info)
    process.stop()


def usages(api: Api, region: str, **params) -> dict[str, dict]:
    items, _ = api.list_all(f"{api.sub}/{CS}/locations/{region}/usages", params=params)
    return {u["name"]["value"]: u for u in items}


def account_url(api: Api, name: str, group: str | None = None) -> str:
    return f"{api.sub}/resourceGroups/{group or api.info.resource_group}/{CS}/accounts/{name}"


def test_usages_are_per_region_and_deployments_consume_them(world: Api, unique) -> None:
    before = usages(world, "eastus")[USAGE]
    assert before["limit"] == 50 and before["unit"] == "Count"
    assert before["name"]["localizedValue"]
    elsewhere = usages(world, "eastus2")
    assert USAGE not in elsewhere  # gpt-4o is not offered in eastus2
    assert elsewhere["OpenAI.GlobalStandard.gpt-4o-mini"]["limit"] == 1000  # the default
    name = unique("q")
    assert world.deploy(name, GPT4O, "GlobalStandard", 20).status_code == 201
    assert usages(world, "eastus")[USAGE]["currentValue"] == before["currentValue"] + 20
    assert usages(world, "eastus2")["OpenAI.GlobalStandard.gpt-4o-mini"]["currentValue"] == 0
    # Over what is left: refused, and the message says how much is used of what.
    refused = world.deploy(unique("q"), GPT4O, "GlobalStandard", 31)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "InsufficientQuota" and "20 of 50" in error["message"]
    # Scale changes what is held, delete gives it back.
    world.wait_deployment(name)
    grown = world.call(
        "PATCH",
        f"{world.deployments}/{name}",
        json={"sku": {"name": "GlobalStandard", "capacity": 30}},
    )
    assert grown.status_code == 202
    assert usages(world, "eastus")[USAGE]["currentValue"] == before["currentValue"] + 30
    world.wait_deployment(name)
    world.call("DELETE", f"{world.deployments}/{name}")
    assert usages(world, "eastus")[USAGE]["currentValue"] == before["currentValue"]


def test_usage_filter_and_unknown_region(world: Api) -> None:
    found = usages(world, "eastus", **{"$filter": f"name.value eq '{USAGE}'"})
    assert list(found) == [USAGE]
    bad = world.call("GET", f"{world.sub}/{CS}/locations/mars/usages")
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "LocationNotAvailableForResourceType"
    assert "eastus,eastus2,swedencentral" in error["message"]


def test_sku_pool_is_shared_by_models_of_a_region(world: Api, unique) -> None:
    team_b = account_url(world, "team-b")
    mini = {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}
    held = []
    for model, units in ((GPT4O, 20), (mini, 11)):
        name = unique("pool")
        body = {
            "sku": {"name": "GlobalStandard", "capacity": units},
            "properties": {"model": model},
        }
        held.append((name, world.call("PUT", f"{team_b}/deployments/{name}", json=body)))
    assert held[0][1].status_code == 201, held[0][1].text
    assert held[1][1].status_code == 400  # 20 + 11 > 30 in swedencentral's GlobalStandard pool
    assert held[1][1].json()["error"]["code"] == "InsufficientQuota"
    pool = usages(world, "swedencentral")
    assert pool["OpenAI.GlobalStandard.gpt-4o"]["currentValue"] == 20
    assert pool["OpenAI.GlobalStandard.gpt-4o-mini"]["currentValue"] == 20
    assert pool["OpenAI.GlobalStandard.gpt-4o-mini"]["limit"] == 30
    # The other account's deployments are its own: not listed in the default account.
    listed, _ = world.list_all(world.deployments)
    assert held[0][0] not in {d["name"] for d in listed}
    mine, _ = world.list_all(f"{team_b}/deployments")
    assert [d["name"] for d in mine] == [held[0][0]]
    assert mine[0]["id"].endswith(f"/accounts/team-b/deployments/{held[0][0]}")
    world.call("DELETE", f"{team_b}/deployments/{held[0][0]}")


def test_model_capacities_follow_quota_and_catalog(world: Api, spec_log) -> None:
    query = {"modelFormat": "OpenAI", "modelName": "gpt-4o", "modelVersion": "2024-11-20"}
    items, _ = world.list_all(f"{world.sub}/{CS}/modelCapacities", params=query)
    by = {(i["location"], i["properties"]["skuName"]): i for i in items}
    assert {r for r, _ in by} == {"eastus", "swedencentral"}  # not offered in eastus2
    first = by[("eastus", "GlobalStandard")]
    assert first["properties"]["model"] == {k: GPT4O[k] for k in ("format", "name", "version")}
    assert first["properties"]["availableCapacity"] <= 50
    one, _ = world.list_all(f"{world.sub}/{CS}/locations/eastus/modelCapacities", params=query)
    assert {i["location"] for i in one} == {"eastus"}
    with spec_log.expected() as refused:
        url = f"{world.sub}/{CS}/modelCapacities"
        missing = world.call("GET", url, params={"modelName": "x"})
    assert missing.status_code == 400
    assert missing.json()["error"] == {"code": "InvalidParameter", "message":
        "ModelCapacities_List: query parameter 'modelFormat' is required but absent"}  # fmt: skip
    assert [(x["status"], x["what"]) for x in refused] == [(400, "request")]


def test_regions_offer_catalog_subsets(world: Api) -> None:
    sizes = {}
    for region in ("eastus", "eastus2", "swedencentral"):
        items, _ = world.list_all(f"{world.sub}/{CS}/locations/{region}/models")
        sizes[region] = len(items)
    assert sizes["eastus"] > sizes["eastus2"] > 0
    assert sizes["eastus"] > sizes["swedencentral"] > 0


def test_accounts_list_get_models_skus_projects(world: Api) -> None:
    items, _ = world.list_all(f"{world.sub}/{CS}/accounts")
    assert [(a["name"], a["location"]) for a in items] == [
        ("azmodels-sandbox", "eastus"),
        ("team-b", "swedencentral"),
        ("team-c", "eastus"),
        ("team-e", "eastus2"),
    ]
    for a in items:
        assert a["type"] == "Microsoft.CognitiveServices/accounts" and a["kind"] == "AIServices"
        assert a["properties"]["provisioningState"] == "Succeeded"
    group, _ = world.list_all(f"{world.sub}/resourceGroups/rg-other/{CS}/accounts")
    assert [a["name"] for a in group] == ["team-c"]
    got = world.call("GET", account_url(world, "team-c", "rg-other")).json()
    assert got["id"].endswith(
        "/resourceGroups/rg-other/providers/Microsoft.CognitiveServices/accounts/team-c"
    )
    # An account is found only in its own resource group.
    wrong = world.call("GET", account_url(world, "team-c"))
    assert wrong.status_code == 404
    models, _ = world.list_all(account_url(world, "team-b") + "/models")
    swedish, _ = world.list_all(f"{world.sub}/{CS}/locations/swedencentral/models")
    # An AIServices account's models: its region's catalog entries of that kind, once each.
    assert [m["name"] for m in models] == [
        e["model"]["name"] for e in swedish if e["kind"] == "AIServices"
    ]
    assert len(models) < len(swedish)
    skus = world.call("GET", account_url(world, "team-b") + "/skus").json()["value"]
    assert {"resourceType": "Microsoft.CognitiveServices/accounts",
            "sku": {"name": "S0", "tier": "Standard"}} in skus  # fmt: skip
    projects = world.call("GET", world.account + "/projects").json()["value"]
    assert [p["name"] for p in projects] == [f"{world.info.account}/{world.info.project}"]
    assert world.call("GET", account_url(world, "team-b") + "/projects").json()["value"] == []
    absent = world.call("GET", account_url(world, "team-b") + f"/projects/{world.info.project}")
    assert absent.status_code == 404


def test_api_versions_of_the_sdks_are_accepted_and_others_listed(world: Api) -> None:
    url = f"{world.sub}/{CS}/accounts"
    assert world.call("GET", url, version="2025-09-01").status_code == 200
    refused = world.call("GET", url, version="2023-05-01")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "InvalidApiVersionParameter" and "2025-09-01" in error["message"]


def test_bad_setup_is_one_line(tmp_path) -> None:
    from azmodels_magic.sandbox_launcher import SandboxProcess

    for args, expected in (
        (["--accounts", "team-x=mars"], "mars is not one of the regions"),
        (["--accounts", "bad name=eastus"], "expected [RESOURCE_GROUP/]NAME=REGION"),
        (["--quota", "mars:GlobalStandard=5"], "mars is not one of the regions"),
    ):
        process = SandboxProcess(data_dir=tmp_path, extra_args=args)
        with pytest.raises(Exception) as failed:
            process.start(timeout=30)
        assert expected in str(failed.value)


def test_a_data_folder_from_before_accounts_keeps_its_deployments(tmp_path) -> None:
    import sqlite3

    from azmodels_magic.sandbox.store import SCHEMA, Store

    old = SCHEMA.replace("    account TEXT NOT NULL COLLATE NOCASE,\n", "")
    old = old.replace(
        "    name TEXT NOT NULL COLLATE NOCASE,", "    name TEXT PRIMARY KEY COLLATE NOCASE,"
    )
    old = old.replace(",\n    target_usage TEXT,\n    PRIMARY KEY (account, name)\n", "\n")
    conn = sqlite3.connect(tmp_path / "db")
    conn.executescript(old)
    conn.execute(
        "INSERT INTO deployments (name, sku_name, capacity, model, custom, capabilities, "
        "rate_limits, skus, version_upgrade_option, tags, created_at, created_by, modified_at, "
        "accepted_until, ready_at, target_sku, target_capacity) VALUES ('chat', 'GlobalStandard', "
        "5, '{}', 0, '{}', '[]', '[]', 'NoAutoUpgrade', '{}', 1, 'u', 1, 1, 1, 'GlobalStandard', 5)"
    )
    conn.commit()
    conn.close()
    store = Store(tmp_path / "db", default_account="azmodels-sandbox")
    rows = store.query("SELECT account, name, capacity, target_usage FROM deployments")
    assert [tuple(r) for r in rows] == [("azmodels-sandbox", "chat", 5, None)]
    store.close()


def test_racing_deploys_never_exceed_the_quota(world: Api, unique) -> None:
    from concurrent.futures import ThreadPoolExecutor

    region, usage = "eastus2", "OpenAI.Standard.gpt-4o-mini"
    mini = {"format": "OpenAI", "name": "gpt-4o-mini", "version": "2024-07-18"}
    team = account_url(world, "team-e")
    assert world.call("GET", team).status_code == 200
    limit = int(usages(world, region)[usage]["limit"])
    names = [unique("race") for _ in range(12)]
    units = limit // 5

    def put(name: str) -> int:
        body = {"sku": {"name": "Standard", "capacity": units}, "properties": {"model": mini}}
        response = world.call("PUT", f"{team}/deployments/{name}", json=body)
        assert response.status_code == 201 or "InsufficientQuota" in response.text, response.text
        return response.status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(put, names))
    assert sorted(statuses) == [201] * 5 + [400] * 7
    assert usages(world, region)[usage]["currentValue"] == 5 * units
    for name, status in zip(names, statuses, strict=True):
        if status == 201:
            world.call("DELETE", f"{team}/deployments/{name}")


def test_latency_option_delays_every_request() -> None:
    import time

    process = start_sandbox(extra_args=["--latency-ms", "300"])
    try:
        api = Api(process.info)
        started = time.perf_counter()
        assert api.call("GET", f"{api.sub}/{CS}/accounts").status_code == 200
        assert time.perf_counter() - started >= 0.3
    finally:
        process.stop()


def test_usages_report_the_shared_and_fine_tune_pools(world: Api, unique) -> None:
    """As eastus2's usages do: one shared pool for serverless models of many formats, and the
    fine-tune pools the catalog's -finetune SKUs name; each usage listed once."""
    items, _ = world.list_all(f"{world.sub}/{CS}/locations/eastus/usages")
    names = [u["name"]["value"] for u in items]
    assert len(names) == len(set(names))
    assert {"AIServices.GlobalStandard.MaaS", "OpenAI.Standard.gpt-4o-finetune",
            "OpenAI.ProvisionedManaged"} <= set(names)  # fmt: skip
    assert all(set(u) == {"name", "currentValue", "limit", "unit"} for u in items)
    pool = "AIServices.GlobalStandard.MaaS"
    before = usages(world, "eastus")[pool]["currentValue"]
    held = 0
    phi = {"format": "Microsoft", "name": "Phi-4", "version": "7"}
    cohere = {"format": "Cohere", "name": "Cohere-command-r-plus-08-2024", "version": "1"}
    for model in (phi, cohere):
        name = unique("maas")
        assert world.deploy(name, model, "GlobalStandard").status_code == 201
        held += world.wait_deployment(name)["sku"]["capacity"]
    assert held >= 2
    assert usages(world, "eastus")[pool]["currentValue"] == before + held


def test_model_capacities_give_fine_tune_room_in_its_own_field(world: Api) -> None:
    query = {"modelFormat": "OpenAI", "modelName": "gpt-4o", "modelVersion": "2024-08-06"}
    items, _ = world.list_all(f"{world.sub}/{CS}/locations/eastus/modelCapacities", params=query)
    skus = [i["properties"]["skuName"] for i in items]
    assert len(skus) == len(set(skus)) and "Standard" in skus  # one row per SKU name
    rows = {i["properties"]["skuName"]: i["properties"] for i in items}
    assert rows["Standard"]["availableFinetuneCapacity"] > 0  # OpenAI.Standard.gpt-4o-finetune
    assert rows["DataZoneStandard"]["availableFinetuneCapacity"] == 0  # no fine-tune SKU
