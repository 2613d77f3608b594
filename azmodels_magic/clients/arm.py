"""ArmClient: the base-model catalog, deployments, the account and its metrics, quota, regional
capacity and the subscription's accounts, over ARM."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..http.operation import Operation
from ..http.plane import Plane, segment
from ..records import Account, BaseModel, Deployment, ModelCapacity, QuotaUsage, region_key

PROVIDER = "Microsoft.CognitiveServices"


class ArmClient:
    """Typed access to the ARM routes of azure-api.md for one account."""

    def __init__(
        self,
        plane: Plane,
        *,
        subscription_id: str,
        resource_group: str,
        account: str,
        location: str = "",
        metrics_api_version: str = "2024-02-01",
    ) -> None:
        self.plane = plane
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account = account
        self._location = location
        self.metrics_api_version = metrics_api_version

    def __repr__(self) -> str:
        return f"ArmClient({self.account} in {self.resource_group})"

    @property
    def account_id(self) -> str:
        return (
            f"/subscriptions/{segment(self.subscription_id)}"
            f"/resourceGroups/{segment(self.resource_group)}"
            f"/providers/{PROVIDER}/accounts/{segment(self.account)}"
        )

    def project_id(self, project: str) -> str:
        return f"{self.account_id}/projects/{segment(project)}"

    @property
    def provider_path(self) -> str:
        """The subscription's Microsoft.CognitiveServices provider."""
        return f"/subscriptions/{segment(self.subscription_id)}/providers/{PROVIDER}"

    def for_account(self, account: str, *, resource_group: str, location: str = "") -> ArmClient:
        """A client for another account of the subscription, on the same connection."""
        return ArmClient(
            self.plane,
            subscription_id=self.subscription_id,
            resource_group=resource_group,
            account=account,
            location=location,
            metrics_api_version=self.metrics_api_version,
        )

    # -- account --------------------------------------------------------------------------------

    def get_account(self) -> Account:
        return Account.from_rest(
            self.plane.get_json(self.account_id, context=f"Account {self.account}")
        )

    @property
    def location(self) -> str:
        """The account's region: from the settings, else asked of ARM once."""
        if not self._location:
            self._location = self.get_account().region
        return self._location

    def list_keys(self) -> list[str]:
        """The account's API keys (secrets: never print or log them)."""
        response = self.plane.request(
            "POST", f"{self.account_id}/listKeys", context="Keys", idempotent=True
        )
        body = self.plane.json(response, "Keys")
        return [body[k] for k in ("key1", "key2") if body.get(k)]

    def endpoint(self) -> str:
        return self.get_account().endpoint

    # -- catalog --------------------------------------------------------------------------------

    def catalog(self, location: str = "") -> list[BaseModel]:
        """The region's catalog (the account's region by default), one record per model
        version: ARM lists a version once per account kind, and the entries are merged."""
        where = location or self.location
        path = f"{self.provider_path}/locations/{segment(where)}/models"
        merged: dict[tuple[str, str, str], BaseModel] = {}
        for item in self.plane.iter_items(
            path, context="Model catalog" if not location else f"Model catalog of {where}"
        ):
            model = BaseModel.from_rest(item)
            seen = merged.get(model.key)
            merged[model.key] = model if seen is None else seen.merged(model)
        return list(merged.values())

    # -- quota, capacity, accounts ----------------------------------------------------------------

    def iter_usages(self, location: str) -> Iterator[QuotaUsage]:
        """The subscription's quota in a region (every usage name, used and limit)."""
        path = f"{self.provider_path}/locations/{segment(location)}/usages"
        for item in self.plane.iter_items(path, context=f"Quota in {location}"):
            yield QuotaUsage.from_rest(location, item)

    def model_capacities(
        self, model_format: str, model_name: str, model_version: str, *, location: str = ""
    ) -> list[ModelCapacity]:
        """Capacity a model's SKUs can take now, per region (one region when `location`).
        ARM requires all three model parameters, as azure-mgmt-cognitiveservices sends them."""
        path = self.provider_path
        if location:
            path += f"/locations/{segment(location)}"
        params = {
            "modelFormat": model_format,
            "modelName": model_name,
            "modelVersion": model_version,
        }
        items = self.plane.iter_items(
            f"{path}/modelCapacities", params=params, context=f"Capacity of {model_name}"
        )
        return [ModelCapacity.from_rest(item) for item in items]

    def account_regions(self, kind: str) -> list[str]:
        """Regions where the subscription can create accounts of `kind` (e.g. AIServices): ARM's
        resource SKUs of Microsoft.CognitiveServices (ResourceSkus_List), as azd reads them."""
        regions: set[str] = set()
        for item in self.plane.iter_items(f"{self.provider_path}/skus", context="Regions"):
            if str(item.get("resourceType", "")).lower() != "accounts":
                continue
            if str(item.get("kind", "")).lower() != kind.lower():
                continue
            regions.update(region_key(str(r)) for r in item.get("locations") or [])
        return sorted(regions)

    def iter_accounts(self, resource_group: str | None = None) -> Iterator[Account]:
        """The subscription's accounts (of one resource group when given)."""
        path = f"/subscriptions/{segment(self.subscription_id)}"
        if resource_group:
            path += f"/resourceGroups/{segment(resource_group)}"
        for item in self.plane.iter_items(f"{path}/providers/{PROVIDER}/accounts",
                                          context="Accounts"):  # fmt: skip
            yield Account.from_rest(item)

    def projects(self) -> list[tuple[str, str, bool]]:
        """(name, Foundry endpoint, is default) of each Foundry project of this account."""
        out = []
        for item in self.plane.iter_items(f"{self.account_id}/projects", context="Projects"):
            props = item.get("properties") or {}
            endpoints = props.get("endpoints") or {}
            endpoint = endpoints.get("AI Foundry API") if isinstance(endpoints, dict) else ""
            name = str(item.get("name") or "").rsplit("/", 1)[-1]
            out.append((name, str(endpoint or ""), props.get("isDefault") is True))
        return out

    def project_names(self) -> list[str]:
        """The Foundry projects of this account."""
        items = self.plane.iter_items(f"{self.account_id}/projects", context="Projects")
        return [str(p.get("name") or "").rsplit("/", 1)[-1] for p in items]

    # -- deployments ----------------------------------------------------------------------------

    def _deployment_path(self, name: str = "") -> str:
        return f"{self.account_id}/deployments" + (f"/{segment(name)}" if name else "")

    def iter_deployments(self) -> Iterator[Deployment]:
        for item in self.plane.iter_items(self._deployment_path(), context="Deployments"):
            yield Deployment.from_rest(item)

    def get_deployment(self, name: str) -> Deployment:
        body = self.plane.get_json(self._deployment_path(name), context=f"Deployment '{name}'")
        return Deployment.from_rest(body)

    def put_deployment(
        self, name: str, *, sku: str, capacity: int, model: dict[str, Any], tags: dict | None = None
    ) -> Operation:
        body: dict[str, Any] = {
            "sku": {"name": sku, "capacity": capacity},
            "properties": {"model": model},
        }
        if tags:
            body["tags"] = tags
        context = f"Deploy '{name}'"
        response = self.plane.request(
            "PUT", self._deployment_path(name), json=body, context=context
        )
        return self.plane.operation(response, context=context)

    def patch_deployment(self, name: str, *, sku: str, capacity: int) -> Operation:
        response = self.plane.request(
            "PATCH",
            self._deployment_path(name),
            json={"sku": {"name": sku, "capacity": capacity}},
            context=f"Scale '{name}'",
            idempotent=True,  # an absolute capacity: twice is the same as once
        )
        return self.plane.operation(response, context=f"Scale '{name}'")

    def delete_deployment(self, name: str, *, context: str = "") -> Operation:
        """The deletion (status_code 204: there was nothing to delete)."""
        context = context or f"Delete deployment '{name}'"
        response = self.plane.request("DELETE", self._deployment_path(name), context=context)
        return self.plane.operation(response, context=context)

    # -- metrics --------------------------------------------------------------------------------

    def metrics(
        self, deployment: str, *, names: list[str], timespan: str, interval: str = "PT1H"
    ) -> dict[str, Any]:
        return self.plane.get_json(
            f"{self.account_id}/providers/Microsoft.Insights/metrics",
            params={
                "api-version": self.metrics_api_version,
                "metricnames": ",".join(names),
                "timespan": timespan,
                "interval": interval,
                "aggregation": "Total,Average",
                "$filter": "ModelDeploymentName eq '{}'".format(deployment.replace("'", "''")),
            },
            context=f"Metrics of '{deployment}'",
        )
