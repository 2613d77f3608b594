"""Microsoft's SDKs judge the sandbox: azure-mgmt-cognitiveservices, azure-mgmt-monitor and
azure-ai-projects drive it UNCHANGED, at their default api-versions.

Only two things are ours, both public extension points of azure-core:
- a TokenCredential that hands out the sandbox's token (the sandbox has no Entra ID), and
- `LoopbackHttp`, a per-call pipeline policy that sets the request context's `enforce_https` to
  False for loopback hosts only. azure-core's bearer-token policy refuses plain http unless that
  option is False (its documented per-operation keyword `enforce_https=False`); a per-call policy
  sets it for every request of a client, pollers and pagers included, without touching SDK code.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from urllib.parse import urlsplit

import pytest
import requests
from sandbox_support import QUOTA_LIMIT, QUOTA_SKU, Api

pytest.importorskip("azure.mgmt.cognitiveservices")
pytest.importorskip("azure.mgmt.monitor")
pytest.importorskip("azure.ai.projects")

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline.policies import SansIOHTTPPolicy

GPT4O = ("OpenAI", "gpt-4o", "2024-11-20")


class SandboxCredential:
    """A TokenCredential for the sandbox: its token, whatever the scope."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get_token(self, *scopes: str, **kwargs) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)


class LoopbackHttp(SansIOHTTPPolicy):
    """Lets the bearer-token policy send over http to a loopback address, nowhere else."""

    def on_request(self, request) -> None:
        host = urlsplit(request.http_request.url).hostname or ""
        try:
            loopback = host == "localhost" or ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            request.context["enforce_https"] = False


@pytest.fixture(scope="module")
def clients(api: Api):
    from azure.ai.projects import AIProjectClient
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient
    from azure.mgmt.monitor import MonitorManagementClient

    info = api.info
    credential = SandboxCredential(info.token)
    common = {"per_call_policies": [LoopbackHttp()]}
    cs = CognitiveServicesManagementClient(
        credential, info.subscription_id, base_url=info.arm_endpoint, **common
    )
    monitor = MonitorManagementClient(
        credential, info.subscription_id, base_url=info.arm_endpoint, **common
    )
    project = AIProjectClient(endpoint=info.project_endpoint, credential=credential, **common)
    yield cs, monitor, project
    for client in (cs, monitor, project):
        client.close()


def test_without_the_policy_the_sdk_refuses_http(api: Api) -> None:
    from azure.core.exceptions import ServiceRequestError
    from azure.mgmt.cognitiveservices import CognitiveServicesManagementClient

    info = api.info
    plain = CognitiveServicesManagementClient(
        SandboxCredential(info.token),
        info.subscription_id,
        base_url=info.arm_endpoint,
        retry_total=0,
    )
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        next(iter(plain.accounts.list()))


def test_catalog_usages_and_capacities(clients, api: Api) -> None:
    cs, _, _ = clients
    catalog = list(cs.models.list(location="eastus"))  # pages of PAGE_SIZE
    assert len(catalog) >= 30
    gpt = next(m for m in catalog if (m.model.name, m.model.version) == GPT4O[1:])
    assert gpt.model.format == "OpenAI" and gpt.kind and gpt.sku_name
    sku = next(s for s in gpt.model.skus if s.name == "GlobalStandard")
    assert sku.usage_name == "OpenAI.GlobalStandard.gpt-4o" and sku.capacity.maximum >= 1
    usages = {u.name.value: u for u in cs.usages.list(location="eastus")}
    usage = usages["OpenAI.GlobalStandard.gpt-4o"]
    assert usage.unit == "Count" and usage.limit == 1000 and usage.current_value >= 0
    assert any(
        u.limit == QUOTA_LIMIT for name, u in usages.items() if name.split(".")[1] == QUOTA_SKU
    )
    one = list(cs.usages.list(location="eastus", filter="name.value eq 'OpenAI.Standard.gpt-4o'"))
    assert [u.name.value for u in one] == ["OpenAI.Standard.gpt-4o"]
    fmt, name, version = GPT4O
    everywhere = list(
        cs.model_capacities.list(model_format=fmt, model_name=name, model_version=version)
    )
    assert {c.location for c in everywhere} >= {"eastus"}
    item = next(c for c in everywhere if c.location == "eastus" and c.name == "GlobalStandard")
    assert item.properties.model.name == name and item.properties.sku_name == "GlobalStandard"
    assert item.properties.available_capacity > 0
    here = list(
        cs.location_based_model_capacities.list(
            location="eastus", model_format=fmt, model_name=name, model_version=version
        )
    )
    assert {c.location for c in here} == {"eastus"}


def test_accounts_and_projects(clients, api: Api) -> None:
    cs, _, _ = clients
    info = api.info
    listed = list(cs.accounts.list())
    assert info.account in [a.name for a in listed]
    grouped = list(cs.accounts.list_by_resource_group(info.resource_group))
    assert info.account in [a.name for a in grouped]
    account = cs.accounts.get(info.resource_group, info.account)
    assert account.kind == "AIServices" and account.location == "eastus"
    assert account.properties.provisioning_state == "Succeeded"
    assert account.sku.name == "S0"
    models = list(cs.accounts.list_models(info.resource_group, info.account))
    assert any(m.name == "gpt-4o" for m in models)
    skus = cs.accounts.list_skus(info.resource_group, info.account)
    assert "S0" in [s.sku.name for s in skus.value]
    project = cs.projects.get(info.resource_group, info.account, info.project)
    assert project.properties.endpoints["AI Foundry API"] == info.project_endpoint
    projects = list(cs.projects.list(info.resource_group, info.account))
    assert [p.id for p in projects] == [project.id]
    with pytest.raises(ResourceNotFoundError):
        cs.accounts.get(info.resource_group, "no-such-account")


def test_deployment_lifecycle_with_pollers(clients, api: Api, unique) -> None:
    from azure.mgmt.cognitiveservices.models import (
        Deployment,
        DeploymentModel,
        DeploymentProperties,
        PatchResourceTagsAndSku,
        Sku,
    )

    cs, _, _ = clients
    rg, account = api.info.resource_group, api.info.account
    name = unique("sdk")
    fmt, model, version = GPT4O
    body = Deployment(
        sku=Sku(name="GlobalStandard", capacity=3),
        properties=DeploymentProperties(
            model=DeploymentModel(format=fmt, name=model, version=version)
        ),
        tags={"by": "sdk"},
    )
    created = cs.deployments.begin_create_or_update(rg, account, name, body).result()
    assert created.properties.provisioning_state == "Succeeded"
    assert created.sku.capacity == 3 and created.tags == {"by": "sdk"}
    got = cs.deployments.get(rg, account, name)
    assert got.id == created.id and got.properties.model.version == version
    assert name in [d.name for d in cs.deployments.list(rg, account)]
    usage = next(
        u for u in cs.usages.list("eastus") if u.name.value == "OpenAI.GlobalStandard.gpt-4o"
    )
    assert usage.current_value >= 3
    scaled = cs.deployments.begin_update(
        rg, account, name, PatchResourceTagsAndSku(sku=Sku(name="GlobalStandard", capacity=5))
    ).result()
    assert scaled.sku.capacity == 5
    skus = list(cs.deployments.list_skus(rg, account, name))
    assert "GlobalStandard" in [s.sku.name for s in skus]
    assert all(s.capacity.maximum >= s.capacity.minimum for s in skus)
    # The service refuses what the quota cannot hold, and the SDK shows ARM's error code.
    over = Deployment(
        sku=Sku(name=QUOTA_SKU, capacity=QUOTA_LIMIT + 1),
        properties=DeploymentProperties(
            model=DeploymentModel(format=fmt, name=model, version=version)
        ),
    )
    with pytest.raises(HttpResponseError) as refused:
        cs.deployments.begin_create_or_update(rg, account, unique("over"), over)
    assert refused.value.error.code == "InsufficientQuota"
    cs.deployments.begin_delete(rg, account, name).result()
    with pytest.raises(ResourceNotFoundError):
        cs.deployments.get(rg, account, name)


def test_metrics_through_azure_mgmt_monitor(clients, api: Api) -> None:
    _, monitor, _ = clients
    info = api.info
    resource = (
        f"subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}/providers/"
        f"Microsoft.CognitiveServices/accounts/{info.account}"
    )
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=24)
    result = monitor.metrics.list(
        resource,
        timespan=f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}",
        interval="PT1H",
        metricnames="ModelRequests,ServerErrors",
        aggregation="Total",
        filter="ModelDeploymentName eq '*'",
    )
    assert [m.name.value for m in result.value] == ["ModelRequests", "ServerErrors"]
    assert result.interval == "PT1H"
    for metric in result.value:
        assert metric.unit == "Count"


def test_beta_models_round_trip(clients, api: Api, unique) -> None:
    from azure.ai.projects.models import ModelPendingUploadRequest, ModelVersion
    from azure.storage.blob import ContainerClient

    _, _, project = clients
    models = project.beta.models
    name, version = unique("sdkmodel"), "1"
    pending = models.pending_upload(
        name=name,
        version=version,
        pending_upload_request=ModelPendingUploadRequest(
            pending_upload_type="TemporaryBlobReference"
        ),
    )
    raw = dict(pending)
    reference = raw.get("blobReferenceForConsumption") or raw.get("blobReference")
    sas = reference["credential"]["sasUri"]
    ContainerClient.from_container_url(sas).upload_blob("model.safetensors", b"weights" * 100)
    models.pending_create_version(
        name=name,
        version=version,
        model_version=ModelVersion(
            blob_uri=reference["blobUri"],
            weight_type="FullWeight",
            base_model="azureml://registries/azureml-fireworks/models/gpt-4o/versions/1",
        ),
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            got = models.get(name=name, version=version)
            if dict(got).get("provisioningState", "Succeeded") == "Succeeded":
                break
        except ResourceNotFoundError:
            pass
        assert time.monotonic() < deadline, "the registration never finished"
        time.sleep(0.2)
    assert got.name == name and got.version == version
    assert name in [m.name for m in models.list()]
    assert [v.version for v in models.list_versions(name)] == [version]
    updated = models.update(
        name=name,
        version=version,
        model_version_update={"description": "from the SDK", "tags": {"a": "b"}},
    )
    assert updated.description == "from the SDK" and updated.tags == {"a": "b"}
    credential = models.get_credentials(
        name=name, version=version, credential_request={"blobUri": got.blob_uri}
    )
    read_sas = dict(credential)["blobReference"]["credential"]["sasUri"]
    blobs = requests.get(read_sas + "&restype=container&comp=list", timeout=30)
    assert blobs.status_code == 200 and "model.safetensors" in blobs.text
    models.delete(name=name, version=version)
    with pytest.raises(ResourceNotFoundError):
        models.get(name=name, version=version)
