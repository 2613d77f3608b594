"""The client against real catalogs and quotas (azd's recordings of real ARM answers, served as
recorded): one row per model version, SKUs once, formats with spaces, every usage name."""

from __future__ import annotations

import json

import pytest
from replay_support import RecordedAzure

from azmodels_magic import AzModels
from azmodels_magic.auth import StaticTokenCredential

SUBSCRIPTION = "4d042dc6-fe17-4698-a23f-ec6a8d1e98f4"  # as recorded


def connect(replay: RecordedAzure, location: str, subscription: str = SUBSCRIPTION) -> AzModels:
    return AzModels.connect(
        credential=StaticTokenCredential("replay-token"),
        arm_endpoint=replay.endpoint,
        subscription_id=subscription,
        resource_group="rg-replay",
        account="replay-account",
        location=location,
        # No project was recorded: its routes answer NotRecorded (404), i.e. no custom models.
        project_endpoint=f"{replay.endpoint}/api/projects/replay",
        progress=False,
        max_retries=0,
    )


@pytest.fixture(scope="module", params=["eastus2", "swedencentral"])
def region(request):
    replay = RecordedAzure(request.param)
    az = connect(replay, request.param)
    yield request.param, replay, az
    az.close()
    replay.close()


def unrecorded(replay: RecordedAzure) -> list[str]:
    """What the client asked that the recording lacks, but for the account's deployments (show
    lists those using the model; the recording was made without an account)."""
    return [u for u in replay.unrecorded if "/accounts/replay-account/deployments" not in u]


def recorded_catalog(replay: RecordedAzure, region: str) -> list[dict]:
    return replay.body(f"/locations/{region}/models")["value"]


def test_the_recording_lists_each_model_version_once_per_kind(region):
    name, replay, _ = region
    entries = recorded_catalog(replay, name)
    keys = {(e["model"]["format"], e["model"]["name"], e["model"]["version"]) for e in entries}
    assert len(entries) > len(keys) * 1.8  # the shape the client must merge (436 for 218)


def test_list_base_has_one_row_per_model_version_and_each_sku_once(region):
    name, replay, az = region
    frame = az.list_models(type="base")
    entries = recorded_catalog(replay, name)
    keys = {(e["model"]["format"], e["model"]["name"], e["model"]["version"]) for e in entries}
    assert len(frame) == len(keys)
    assert not frame.duplicated(subset=["name", "version", "publisher"]).any()
    for skus in frame["skus"]:
        assert len(skus) == len(set(skus)), skus
    assert unrecorded(replay) == []


def test_fine_tune_skus_are_not_offered_as_deployment_skus(region):
    _, _, az = region
    model = az.models.find("gpt-4o", type="base", version="2024-08-06")
    assert [s.name for s in model.skus].count("Standard") == 1
    standard = model.sku("Standard")
    assert standard is not None and standard.usage_name == "OpenAI.Standard.gpt-4o"
    assert {"OpenAI", "AIServices"} <= set(model.kinds)
    assert all(s.usage_name.endswith("-finetune") for s in model.finetune_skus)


def test_show_a_model_whose_format_has_a_space(region):
    _, replay, az = region
    details = az.show("Mistral-Large-3", type="base")
    assert details.model.format == "Mistral AI"
    assert [s.name for s in details.model.skus] == ["GlobalStandard", "DataZoneStandard"]
    assert unrecorded(replay) == []


def test_every_recorded_usage_name_is_read(region):
    name, replay, az = region
    recorded = replay.body(f"/locations/{name}/usages")["value"]
    frame = az.run(f"quota --region {name}")
    assert len(frame) == len(recorded)
    assert sorted(frame["usage_name"]) == sorted(u["name"]["value"] for u in recorded)
    assert unrecorded(replay) == []


def test_quota_of_a_model_served_from_a_shared_pool(region):
    """Mistral-Large-2411's only SKU draws on AIServices.GlobalStandard.MaaS (the catalog says):
    quota --model must show that usage, not nothing."""
    name, _, az = region
    frame = az.run(f"quota --region {name} --model Mistral-Large-2411")
    assert list(frame["usage_name"]) == ["AIServices.GlobalStandard.MaaS"]


def test_requests_carry_only_what_azure_was_asked(region):
    _, replay, _ = region
    asked = {(s.method, s.path.lower()) for s in replay.seen if "/accounts/" not in s.path}
    recorded = {(a["method"], a["url"].split("management.azure.com", 1)[1].split("?")[0].lower())
                for a in replay.answers.values()}  # fmt: skip
    assert asked <= recorded, asked - recorded
    assert all(s.query.get("api-version") == "2025-06-01" for s in replay.seen)
    assert json.dumps([s.query for s in replay.seen])  # queries are plain strings


@pytest.fixture(scope="module")
def two_regions():
    """eastus2 and swedencentral as recorded for one subscription, and the resource SKUs (where
    accounts can be) recorded for another, moved to it."""
    replay = RecordedAzure("eastus2", "swedencentral", "regions")
    replay.borrow("/providers/Microsoft.CognitiveServices/skus?", subscription=SUBSCRIPTION)
    az = connect(replay, "eastus2")
    yield replay, az
    az.close()
    replay.close()


def test_regions_of_a_model_whose_format_has_a_space(two_regions):
    """modelCapacities takes no format with a space: the regions' catalogs say where it is."""
    replay, az = two_regions
    frame = az.run("regions --name Mistral-Large-3 --sku GlobalStandard")
    assert {"eastus2", "swedencentral"} <= set(frame["region"])
    assert set(frame["sku"]) == {"GlobalStandard"}
    assert not any("modelCapacities" in s.path for s in replay.seen)
    row = frame[frame["region"] == "eastus2"].iloc[0]
    usages = {u["name"]["value"]: u for u in replay.body("/locations/eastus2/usages")["value"]}
    recorded = usages["AIServices.GlobalStandard.Mistral-Large-3"]
    assert row["quota_limit"] == recorded["limit"]
    assert row["quota_used"] == recorded["currentValue"]


def test_a_deploy_over_the_recorded_quota_is_refused_before_anything_is_sent(two_regions):
    replay, az = two_regions
    usages = {u["name"]["value"]: u for u in replay.body("/locations/eastus2/usages")["value"]}
    left = usages["AIServices.GlobalStandard.Mistral-Large-3"]["limit"]
    left -= usages["AIServices.GlobalStandard.Mistral-Large-3"]["currentValue"]
    from azmodels_magic.errors import QuotaExceededError

    with pytest.raises(QuotaExceededError) as caught:
        az.run(
            f"deploy --name Mistral-Large-3 --type base --deployment-name m3 --sku GlobalStandard "
            f"--capacity {left + 1000}"
        )
    assert "AIServices.GlobalStandard.Mistral-Large-3" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not [s for s in replay.seen if s.method in ("PUT", "PATCH", "POST", "DELETE")]


AGENT_SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"  # as azd's recorder replaced it


@pytest.fixture(scope="module")
def canada():
    """A real AIServices account in canadacentral, its region's catalog and usages."""
    replay = RecordedAzure("regions")
    az = AzModels.connect(
        credential=StaticTokenCredential("replay-token"),
        arm_endpoint=replay.endpoint,
        subscription_id=AGENT_SUBSCRIPTION,
        resource_group="rg-test-agents-recording-0000000000000000000",
        account="test-ai-account-000",
        project_endpoint=f"{replay.endpoint}/api/projects/test-proj0",
        progress=False,
        max_retries=0,
    )
    yield replay, az
    az.close()
    replay.close()


def test_the_account_is_read_as_recorded(canada):
    _, az = canada
    account = az.connection.arm.get_account()
    assert (account.kind, account.region) == ("AIServices", "canadacentral")


def test_a_deploy_over_a_real_exhausted_quota_says_so_and_sends_nothing(canada):
    """canadacentral's recorded gpt-4o-mini GlobalStandard quota: 9747 used of 2000."""
    from azmodels_magic.errors import QuotaExceededError

    replay, az = canada
    with pytest.raises(QuotaExceededError) as caught:
        az.run(
            "deploy --name gpt-4o-mini --type base --deployment-name mini --sku GlobalStandard "
            "--capacity 10"
        )
    text = str(caught.value)
    assert "OpenAI.GlobalStandard.gpt-4o-mini" in text and "9747 of 2000" in text
    assert not [s for s in replay.seen if s.method != "GET"]
