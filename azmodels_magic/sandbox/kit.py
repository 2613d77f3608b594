"""The sandbox's kit shared by its route modules: the ARM scopes (path patterns and the checks of
subscription, resource group, account and location), the account and project bodies, a
deployment's state at a time, quota held, and the poll hint of long-running operations.

Route modules (arm_routes, quota_routes, foundry_routes, inference) import this and
`routing`; their SQL is behind `store.Store`'s named methods.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .regions import AccountSpec, region_key, subscription
from .routing import ACCOUNT, PROJECT, RESOURCE_GROUP, SUBSCRIPTION, ApiError, Request
from .store import loads

if TYPE_CHECKING:
    from .app import App

CS = r"/providers/Microsoft\.CognitiveServices"
SUB = r"/subscriptions/(?P<sub>[^/]+)"
ACCT = SUB + r"/resourceGroups/(?P<rg>[^/]+)" + CS + r"/accounts/(?P<account>[^/]+)"
LOC = SUB + CS + r"/locations/(?P<location>[^/]+)"
ACTION = "Microsoft.CognitiveServices/accounts"


# -- scopes ---------------------------------------------------------------------------------------


def check_subscription(req: Request) -> None:
    sub = req.params["sub"]
    if sub.lower() != SUBSCRIPTION:
        raise ApiError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def account_id(spec: AccountSpec) -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{spec.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{spec.name}"
    )


def check_account(req: Request, app: App | None = None) -> AccountSpec:
    """The account the path names (404 when the subscription has none of that name)."""
    check_subscription(req)
    rg, account = req.params["rg"], req.params["account"]
    spec = subscription(app).account(account) if app is not None else None
    if spec is None and account.lower() == ACCOUNT:
        spec = AccountSpec(ACCOUNT, RESOURCE_GROUP, "", has_project=True)
    groups = {RESOURCE_GROUP}
    if app is not None:
        groups |= {a.resource_group for a in subscription(app).accounts.values()}
    if rg.lower() not in groups:
        raise ApiError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    if spec is None or spec.resource_group != rg.lower():
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.CognitiveServices/accounts/{account}' under resource group "
            f"'{rg}' was not found.",
        )
    if spec.hung:
        hang()
    return spec


def hang() -> None:
    """Never answer (an account whose region is down): the client's timeouts must cope. The
    connection is held until the client gives up; the server's threads are daemons."""
    while True:
        time.sleep(60)


def check_location(app: App, req: Request) -> str:
    """The region the path names, if the subscription has it."""
    check_subscription(req)
    region = region_key(req.params["location"])
    sub = subscription(app)
    if sub.catalog(region) is None:
        raise ApiError(
            400,
            "LocationNotAvailableForResourceType",
            f"The provided location '{req.params['location']}' is not available for resource "
            "type 'Microsoft.CognitiveServices/accounts'. List of available regions for the "
            f"resource type is '{','.join(sub.regions)}'.",
        )
    return region


def account_body(app: App, spec: AccountSpec) -> dict[str, Any]:
    return {
        "id": account_id(spec),
        "name": spec.name,
        "type": "Microsoft.CognitiveServices/accounts",
        "location": spec.location,
        "kind": spec.kind,
        "sku": {"name": "S0"},
        "tags": {},
        "properties": {
            "endpoint": f"{app.base_url}/",
            "endpoints": {
                "AI Foundry API": f"{app.base_url}/",
                "OpenAI Language Model Instance API": f"{app.base_url}/",
            },
            "provisioningState": "Succeeded",
            "customSubDomainName": spec.name,
            "allowProjectManagement": True,
        },
    }


def project_body(app: App) -> dict[str, Any]:
    return {
        "id": app.project_arm_id,
        "name": f"{ACCOUNT}/{PROJECT}",
        "type": "Microsoft.CognitiveServices/accounts/projects",
        "location": app.settings.location,
        "properties": {
            "provisioningState": "Succeeded",
            "displayName": PROJECT,
            "isDefault": True,
            "endpoints": {"AI Foundry API": app.project_endpoint},
        },
    }


def view(row: Any, t: float) -> dict[str, Any] | None:
    """The deployment as it is at time t, or None once its deletion has finished."""
    if row is None or (row["gone_at"] is not None and t >= row["gone_at"]):
        return None
    d = dict(row)
    pending = loads(d.pop("pending"), None)
    changing = False
    if d["delete_at"] is not None:
        state = "Deleting"
    elif t < d["accepted_until"]:
        state = "Accepted"
    elif t < d["ready_at"]:
        state = "Creating"
    elif pending and t < d["pending_until"]:
        state, changing = "Accepted", True
    else:
        state = "Succeeded"
        if pending:
            d.update(pending)
    d["state"] = state
    d["pending"] = pending
    d["serving"] = state == "Succeeded" or changing  # a scale in flight keeps it serving
    return d


def deployment_at(app: App, t: float, name: str, account: str = ACCOUNT) -> dict | None:
    """Deployment `name` of `account` as it is at time t, or None."""
    return view(app.store.deployment(account, name), t)


def poll_hint(app: App) -> dict[str, str]:
    """When to poll again: Retry-After in whole seconds, as ARM sends it, and the finer
    retry-after-ms (a quarter of the provisioning time), so fast sandboxes poll fast."""
    ms = int(min(1000, max(50, app.settings.provision_seconds * 250)))
    return {"Retry-After": "1", "retry-after-ms": str(ms)}


def used_capacity(app: App, region: str, pool: str, exclude: tuple[str, str] | None) -> int:
    """Capacity held in a quota pool of a region by deployments not being deleted."""
    sub = subscription(app)
    used = 0
    for row in app.store.deployment_targets():
        spec = sub.account(row["account"])
        if spec is None or spec.location != region_key(region):
            continue
        if exclude and (row["account"].lower(), row["name"].lower()) == exclude:
            continue
        usage = row["target_usage"] or row["target_sku"]
        if sub.pool(region, usage, row["target_sku"])[0] == pool:
            used += row["target_capacity"]
    return used
