"""ARM routes of the sandbox: catalog paging, auth, api-versions, deployments and operations."""

from __future__ import annotations

import time
import uuid

import pytest
from sandbox_support import PAGE_SIZE, PROVISION_SECONDS, QUOTA_LIMIT, QUOTA_SKU, Api, Clock

GPT4O = {"format": "OpenAI", "name": "gpt-4o"}


def _catalog_model(api: Api, sku: str) -> dict:
    """A catalog model offering `sku` with a capacity step of 1."""
    items, _ = api.list_all(api.catalog)
    for item in items:
        for s in item["model"]["skus"]:
            if s["name"] == sku and s["capacity"].get("step", 1) == 1:
                return item["model"]
    pytest.skip(f"no catalog model offers {sku}")


def test_catalog_pages_return_every_model_exactly_once_per_account_kind(api: Api) -> None:
    items, pages = api.list_all(api.catalog)
    assert len(items) >= 60
    assert pages == -(-len(items) // PAGE_SIZE)
    keys = [(m["kind"], m["model"]["format"], m["model"]["name"], m["model"]["version"])
            for m in items]  # fmt: skip
    assert len(set(keys)) == len(keys)
    # As real eastus2 lists them: each version for AIServices, and for OpenAI or MaaS.
    kinds: dict[tuple, set[str]] = {}
    for kind, *version in keys:
        kinds.setdefault(tuple(version), set()).add(kind)
    assert all(k == {"AIServices", "OpenAI" if v[0] == "OpenAI" else "MaaS"}
               for v, k in kinds.items()), kinds  # fmt: skip
    assert len(items) == 2 * len(kinds)
    first = api.call("GET", api.catalog).json()
    assert len(first["value"]) == PAGE_SIZE
    assert "api-version=2025-06-01" in first["nextLink"]
    assert "$skipToken=5" in first["nextLink"]
    assert first["nextLink"].startswith(api.arm)
    for item in items:
        assert {"kind", "skuName", "description", "model"} <= item.keys()
        assert item["model"]["skus"], item["model"]["name"]


def test_last_page_has_no_next_link(api: Api) -> None:
    items, _ = api.list_all(api.catalog)
    last = api.call("GET", api.catalog, params={"$skipToken": len(items) - 1}).json()
    assert len(last["value"]) == 1
    assert "nextLink" not in last


@pytest.mark.parametrize(
    ("token", "code"),
    [(None, "AuthenticationFailed"), ("not-the-token", "InvalidAuthenticationToken")],
)
def test_401_without_or_with_a_wrong_token(api: Api, token: str | None, code: str) -> None:
    response = api.call("GET", api.catalog, token=token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.headers["x-ms-error-code"] == code
    assert uuid.UUID(response.headers["x-ms-request-id"])
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]


def test_reader_token_reads_but_cannot_write(api: Api, unique) -> None:
    assert api.call("GET", api.deployments, token="reader").status_code == 200
    name = unique("reader")
    body = {"sku": {"name": "GlobalStandard", "capacity": 1}, "properties": {"model": GPT4O}}
    response = api.call("PUT", f"{api.deployments}/{name}", token="reader", json=body)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "Microsoft.CognitiveServices/accounts/deployments/write" in error["message"]
    keys = api.call("POST", f"{api.account}/listKeys", token="reader")
    assert keys.status_code == 403
    assert "listKeys/action" in keys.json()["error"]["message"]
    assert api.call("GET", f"{api.deployments}/{name}").status_code == 404


def test_api_version_missing_or_unknown(api: Api) -> None:
    missing = api.call("GET", api.catalog, version="")
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"
    wrong = api.call("GET", api.catalog, version="2019-01-01")
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "InvalidApiVersionParameter"
    assert "2025-06-01" in wrong.json()["error"]["message"]
    assert api.call("GET", api.catalog, version="2024-10-01").status_code == 200
    foundry = api.call("GET", f"{api.project}/models", version="2025-06-01")
    assert foundry.json()["error"]["code"] == "InvalidApiVersionParameter"
    assert api.call("GET", f"{api.project}/models", version="v1").status_code == 200


def test_account_and_keys(api: Api) -> None:
    account = api.call("GET", api.account).json()
    assert account["kind"] == "AIServices"
    assert account["properties"]["endpoint"] == api.arm + "/"
    assert account["properties"]["provisioningState"] == "Succeeded"
    keys = api.call("POST", f"{api.account}/listKeys").json()
    assert keys["key1"] and keys["key2"] and keys["key1"] != keys["key2"]
    assert api.call("POST", f"{api.account}/listKeys").json() == keys
    other = api.account.replace("/accounts/azmodels-sandbox", "/accounts/someone-else")
    assert api.call("GET", other).json()["error"]["code"] == "ResourceNotFound"


def test_deployment_lifecycle(api: Api, unique) -> None:
    name = unique("life")
    clock = Clock()
    created = api.deploy(name, GPT4O, "GlobalStandard", 5)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["properties"]["provisioningState"] == "Accepted"
    assert body["properties"]["model"]["version"]  # the default version was filled in
    assert body["type"] == "Microsoft.CognitiveServices/accounts/deployments"
    assert created.headers["Retry-After"] == "1"
    status_url = created.headers["Azure-AsyncOperation"]
    assert "/operationStatuses/" in status_url and "api-version=2025-06-01" in status_url
    status = api.call("GET", status_url, version="").json()
    if clock.before(PROVISION_SECONDS):
        assert status["status"] == "InProgress" and "endTime" not in status

    time.sleep(min(0.5, PROVISION_SECONDS / 4) + 0.05)
    creating = api.call("GET", f"{api.deployments}/{name}").json()
    if clock.before(PROVISION_SECONDS):
        assert creating["properties"]["provisioningState"] == "Creating"
        assert "deploymentState" not in creating["properties"]

    done = api.wait_deployment(name)
    assert done["properties"]["deploymentState"] == "Running"
    assert api.call("GET", status_url, version="").json()["status"] == "Succeeded"
    assert done["properties"]["capabilities"]["chatCompletion"] == "true"

    skus = api.call("GET", f"{api.deployments}/{name}/skus").json()["value"]
    assert "GlobalStandard" in {s["sku"]["name"] for s in skus}

    clock = Clock()
    scale = {"sku": {"name": "GlobalStandard", "capacity": 7}}
    scaled = api.call("PATCH", f"{api.deployments}/{name}", json=scale)
    assert scaled.status_code == 202
    assert scaled.content == b""  # Deployments_Update's 202: a Location header, no body
    # ARM 2025-06-01 has no Updating (DeploymentProvisioningState): a change in flight is Accepted
    during = api.call("GET", f"{api.deployments}/{name}").json()
    assert during["properties"]["deploymentState"] == "Running"
    assert during["properties"]["provisioningState"] in ("Accepted", "Succeeded")
    result_url = scaled.headers["Location"]
    assert "/operationResults/" in result_url
    pending = api.call("GET", result_url, version="")
    if clock.before(PROVISION_SECONDS / 2):
        assert pending.status_code == 202 and pending.headers["Retry-After"] == "1"
    after = api.wait_deployment(name)
    assert after["sku"]["capacity"] == 7
    result = api.call("GET", result_url, version="")
    assert result.status_code == 200 and result.json()["sku"]["capacity"] == 7

    clock = Clock()
    deleted = api.call("DELETE", f"{api.deployments}/{name}")
    assert deleted.status_code == 202
    assert "Azure-AsyncOperation" in deleted.headers and "Location" in deleted.headers
    deleting = api.call("GET", f"{api.deployments}/{name}")
    if clock.before(PROVISION_SECONDS / 2):
        assert deleting.json()["properties"]["provisioningState"] == "Deleting"
    time.sleep(PROVISION_SECONDS / 2 + 0.1)
    gone = api.call("GET", f"{api.deployments}/{name}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "DeploymentNotFound"
    assert api.call("DELETE", f"{api.deployments}/{name}").status_code == 204
    assert api.call("GET", deleted.headers["Location"], version="").status_code == 204


def test_put_on_existing_updates_with_200(api: Api, unique) -> None:
    name = unique("upd")
    assert api.deploy(name, GPT4O, "GlobalStandard", 2).status_code == 201
    api.wait_deployment(name)
    again = api.deploy(name, GPT4O, "GlobalStandard", 3)
    assert again.status_code == 200
    assert again.json()["properties"]["provisioningState"] == "Accepted"
    assert api.wait_deployment(name)["sku"]["capacity"] == 3
    api.call("DELETE", f"{api.deployments}/{name}")


def test_deployments_list_pages(api: Api, unique) -> None:
    names = [unique("page") for _ in range(PAGE_SIZE + 2)]
    for name in names:
        assert api.deploy(name, GPT4O, "GlobalStandard", 1).status_code == 201
    items, pages = api.list_all(api.deployments)
    listed = [i["name"] for i in items]
    assert set(names) <= set(listed)
    assert len(listed) == len(set(listed))
    assert pages >= 2
    for name in names:
        assert api.call("DELETE", f"{api.deployments}/{name}").status_code == 202


def test_validation_errors(api: Api, unique) -> None:
    url = f"{api.deployments}/{unique('bad')}"
    cases = [
        ({"properties": {"model": GPT4O}}, "InvalidRequestContent", "sku.name"),
        ({"sku": {"name": "GlobalStandard"}}, "InvalidRequestContent", "properties.model"),
        (
            {"sku": {"name": "GlobalStandard"}, "properties": {"model": {"format": "OpenAI"}}},
            "InvalidRequestContent",
            "properties.model.name",
        ),
        (
            {
                "sku": {"name": "GlobalStandard", "capacity": 1},
                "properties": {"model": {"format": "OpenAI", "name": "no-such-model"}},
            },
            "DeploymentModelNotSupported",
            "no-such-model",
        ),
        (
            {"sku": {"name": "Imaginary", "capacity": 1}, "properties": {"model": GPT4O}},
            "InvalidResourceProperties",
            "GlobalStandard",
        ),
        (
            {"sku": {"name": "GlobalStandard", "capacity": 0}, "properties": {"model": GPT4O}},
            "InvalidCapacity",
            "between 1 and",
        ),
    ]
    for body, code, fragment in cases:
        response = api.call("PUT", url, json=body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert error["code"] == code, (body, error)
        assert fragment in error["message"], error
        assert response.headers["x-ms-error-code"] == code
    bad_json = api.call("PUT", url, data=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.json()["error"]["code"] == "InvalidRequestContent"


def test_capacity_step_is_enforced(api: Api, unique) -> None:
    items, _ = api.list_all(api.catalog)
    for item in items:
        for sku in item["model"]["skus"]:
            cap = sku["capacity"]
            if cap.get("step", 1) > 1:
                model = {"format": item["model"]["format"], "name": item["model"]["name"]}
                model["version"] = item["model"]["version"]
                off_step = cap["minimum"] + 1
                response = api.deploy(unique("step"), model, sku["name"], off_step)
                assert response.status_code == 400
                assert response.json()["error"]["code"] == "InvalidCapacity"
                assert f"steps of {cap['step']}" in response.json()["error"]["message"]
                return
    pytest.skip("no catalog SKU has a step above 1")


def test_quota(api: Api, unique) -> None:
    model = _catalog_model(api, QUOTA_SKU)
    ref = {"format": model["format"], "name": model["name"], "version": model["version"]}
    first = unique("quota")
    assert api.deploy(first, ref, QUOTA_SKU, 30).status_code == 201
    refused = api.deploy(unique("quota"), ref, QUOTA_SKU, 21)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "InsufficientQuota"
    assert "30 of 50" in error["message"] and "21 requested" in error["message"]
    second = unique("quota")
    assert api.deploy(second, ref, QUOTA_SKU, QUOTA_LIMIT - 30).status_code == 201
    api.wait_deployment(first)
    grow = api.call(
        "PATCH", f"{api.deployments}/{first}", json={"sku": {"name": QUOTA_SKU, "capacity": 31}}
    )
    assert grow.json()["error"]["code"] == "InsufficientQuota"
    for name in (first, second):
        api.call("DELETE", f"{api.deployments}/{name}")
    # A deleting deployment no longer holds quota.
    third = unique("quota")
    assert api.deploy(third, ref, QUOTA_SKU, QUOTA_LIMIT).status_code == 201
    api.call("DELETE", f"{api.deployments}/{third}")


def test_operation_unknown_is_404(api: Api) -> None:
    url = f"{api.sub}/providers/Microsoft.CognitiveServices/locations/eastus/operationStatuses/nope"
    response = api.call("GET", url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


def test_patch_absent_is_404_and_unknown_route_is_404(api: Api) -> None:
    scale = {"sku": {"name": "GlobalStandard", "capacity": 2}}
    response = api.call("PATCH", f"{api.deployments}/absent-one", json=scale)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DeploymentNotFound"
    nowhere = api.call("GET", f"{api.arm}/nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["error"]["code"] == "NotFound"


def test_delete_while_creating_cancels_the_create(api: Api, unique) -> None:
    name = unique("cancel")
    clock = Clock()
    created = api.deploy(name, GPT4O, "GlobalStandard", 1)
    assert created.status_code == 201
    assert api.call("DELETE", f"{api.deployments}/{name}").status_code == 202
    status = api.call("GET", created.headers["Azure-AsyncOperation"], version="").json()
    again = api.deploy(name, GPT4O, "GlobalStandard", 1)
    if clock.before(PROVISION_SECONDS / 2):
        assert status["status"] == "Canceled"
        assert status["error"]["code"] == "Canceled"
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "RequestConflict"
    time.sleep(PROVISION_SECONDS / 2 + 0.1)
    assert api.deploy(name, GPT4O, "GlobalStandard", 1).status_code == 201
    api.call("DELETE", f"{api.deployments}/{name}")
