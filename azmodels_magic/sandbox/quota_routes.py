"""ARM routes for quota, regional capacity and the subscription's accounts (azure-api.md,
"Quota, capacity and accounts"), in the shapes azure-mgmt-cognitiveservices reads.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from .catalog import CUSTOM_USAGE, CUSTOM_USAGE_LOCALIZED, base_skus, is_finetune_sku
from .kit import (
    ACCT,
    ACTION,
    CS,
    LOC,
    SUB,
    account_body,
    check_account,
    check_location,
    check_subscription,
    project_body,
    used_capacity,
)
from .regions import sku_usage, subscription
from .routing import SUBSCRIPTION, ApiError, Request, Response, Router, json_response

if TYPE_CHECKING:
    from .app import App

_USAGE_FILTER = re.compile(r"^\s*name[./]value\s+eq\s+'([^']*)'\s*$")


def register(router: Router) -> None:
    add = router.add
    add("GET", LOC + r"/usages", list_usages, "arm", "Microsoft.CognitiveServices/usages/read")
    add("GET", SUB + CS + r"/modelCapacities", model_capacities, "arm", f"{ACTION}/read")
    add("GET", LOC + r"/modelCapacities", location_model_capacities, "arm", f"{ACTION}/read")
    add("GET", SUB + CS + r"/accounts", list_accounts, "arm", f"{ACTION}/read")
    add(
        "GET",
        SUB + r"/resourceGroups/(?P<rg>[^/]+)" + CS + r"/accounts",
        list_group_accounts,
        "arm",
        f"{ACTION}/read",
    )
    add("GET", ACCT + r"/models", account_models, "arm", f"{ACTION}/models/read")
    add("GET", ACCT + r"/skus", account_skus, "arm", f"{ACTION}/skus/read")
    add("GET", ACCT + r"/projects", list_projects, "arm", f"{ACTION}/projects/read")
    add("GET", SUB + CS + r"/skus", resource_skus, "arm", f"{ACTION}/skus/read")
    add("GET", SUB + CS, provider, "resources", "Microsoft.Resources/subscriptions/read")


# -- usages --------------------------------------------------------------------------------------


def usage_items(app: App, region: str) -> list[dict[str, Any]]:
    sub = subscription(app)
    items = []
    for usage, sku in sub.usage_names(region):
        pool, limit = sub.pool(region, usage, sku)
        model = usage.split(".", 2)[2] if usage.count(".") >= 2 else usage
        localized = f"{sku} capacity units - {model}"
        if usage.lower() == CUSTOM_USAGE.lower():  # as ARM's canadacentral usages name it
            localized = CUSTOM_USAGE_LOCALIZED
        # Real answers (eastus2, swedencentral) carry only these four: no quotaPeriod (the
        # spec types it a string, never null) and no nextResetTime.
        items.append(
            {
                "name": {"value": usage, "localizedValue": localized},
                "currentValue": float(used_capacity(app, region, pool, None)),
                "limit": float(limit),
                "unit": "Count",
            }
        )
    return items


def list_usages(app: App, req: Request) -> Response:
    region = check_location(app, req)
    items = usage_items(app, region)
    raw = req.query.get("$filter")
    if raw:
        match = _USAGE_FILTER.match(raw)
        if not match:
            raise ApiError(400, "InvalidFilter", f"The $filter '{raw}' is not supported.")
        wanted = match.group(1).lower()
        items = [i for i in items if i["name"]["value"].lower() == wanted]
    offset = app.skip_token(req)
    page = items[offset : offset + app.settings.page_size]
    return json_response(200, app.page(req, page, len(items), offset))


# -- model capacities ------------------------------------------------------------------------------


def _capacity_query(req: Request) -> tuple[str, str, str]:
    wanted = []
    for key in ("modelFormat", "modelName", "modelVersion"):
        value = req.query.get(key)
        if not value:
            raise ApiError(
                400,
                "InvalidParameter",
                f"The query parameter '{key}' is required: modelFormat, modelName and "
                "modelVersion name the model.",
            )
        wanted.append(value)
    return wanted[0], wanted[1], wanted[2]


def capacity_items(app: App, regions: list[str], fmt: str, name: str, version: str):
    sub = subscription(app)
    items = []
    for region in regions:
        catalog = sub.catalog(region)
        entry = catalog.find(fmt, name, version) if catalog else None
        if entry is None:
            continue
        model = entry["model"]

        def available(sku: dict[str, Any], region: str = region, model: dict = model) -> int:
            pool, limit = sub.pool(region, sku_usage(model, sku), sku.get("name", ""))
            left = max(0, limit - used_capacity(app, region, pool, None))
            maximum = (sku.get("capacity") or {}).get("maximum") or model.get("maxCapacity")
            return min(left, maximum) if isinstance(maximum, int) else left

        # One row per SKU name: a fine-tune SKU's room is that row's availableFinetuneCapacity.
        finetune = {s.get("name"): s for s in model.get("skus") or [] if is_finetune_sku(s)}
        for sku in base_skus(model):
            tuned = finetune.get(sku.get("name"))
            items.append(
                {
                    "id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CognitiveServices/"
                    f"locations/{region}/models/{model['format']}.{model['name']}."
                    f"{model['version']}/skus/{sku['name']}",
                    "name": sku["name"],
                    "type": "Microsoft.CognitiveServices/locations/models/skus",
                    "location": region,
                    "properties": {
                        "model": {
                            "format": model["format"],
                            "name": model["name"],
                            "version": str(model["version"]),
                        },
                        "skuName": sku["name"],
                        "availableCapacity": float(available(sku)),
                        "availableFinetuneCapacity": float(available(tuned) if tuned else 0),
                    },
                }
            )
    return items


def model_capacities(app: App, req: Request) -> Response:
    check_subscription(req)
    fmt, name, version = _capacity_query(req)
    regions = list(subscription(app).regions)
    return json_response(200, {"value": capacity_items(app, regions, fmt, name, version)})


def location_model_capacities(app: App, req: Request) -> Response:
    region = check_location(app, req)
    fmt, name, version = _capacity_query(req)
    return json_response(200, {"value": capacity_items(app, [region], fmt, name, version)})


# -- accounts ------------------------------------------------------------------------------------


def list_accounts(app: App, req: Request) -> Response:
    check_subscription(req)
    specs = sorted(subscription(app).accounts.values(), key=lambda a: a.name.lower())
    return _account_page(app, req, specs)


def list_group_accounts(app: App, req: Request) -> Response:
    check_subscription(req)
    group = req.params["rg"].lower()
    specs = [a for a in subscription(app).accounts.values() if a.resource_group == group]
    if not specs and group not in {a.resource_group for a in subscription(app).accounts.values()}:
        raise ApiError(
            404, "ResourceGroupNotFound", f"Resource group '{req.params['rg']}' could not be found."
        )
    return _account_page(app, req, sorted(specs, key=lambda a: a.name.lower()))


def _account_page(app: App, req: Request, specs: list) -> Response:
    offset = app.skip_token(req)
    page = specs[offset : offset + app.settings.page_size]
    items = [account_body(app, spec) for spec in page]
    return json_response(200, app.page(req, items, len(specs), offset))


def account_models(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    catalog = subscription(app).catalog(spec.location) or app.catalog
    # The catalog lists a model once per account kind; an account's models are its kind's.
    mine = [e for e in catalog.entries if e.get("kind", spec.kind) == spec.kind]
    offset = app.skip_token(req)
    entries = mine[offset : offset + app.settings.page_size]
    return json_response(200, app.page(req, [dict(e["model"]) for e in entries], len(mine), offset))


def account_skus(app: App, req: Request) -> Response:
    check_account(req, app)
    value = [
        {"resourceType": "Microsoft.CognitiveServices/accounts", "sku": {"name": n, "tier": t}}
        for n, t in (("F0", "Free"), ("S0", "Standard"))
    ]
    return json_response(200, {"value": value})


def list_projects(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    items = [project_body(app)] if spec.has_project else []
    return json_response(200, {"value": items})


def display_name(region: str) -> str:
    """'eastus2' as ARM's provider listing writes it: 'East US 2'."""
    words = {"us": "US", "uk": "UK", "uae": "UAE"}
    out = region
    for known in ("north", "south", "east", "west", "central", "sweden", "us", "uk"):
        out = out.replace(known, f" {known} ")
    parts = [words.get(w, w.capitalize()) for w in out.split()]
    return " ".join(parts)


def resource_skus(app: App, req: Request) -> Response:
    """ResourceSkus_List: the account SKUs each kind can have, per region, shaped as recorded
    from real ARM (azd's Test_AIAgent_Init_NoPrompt_WithProject cassette): one entry per
    (kind, SKU, region), regions in upper case."""
    check_subscription(req)
    items = [
        {
            "resourceType": "accounts",
            "name": "S0",
            "tier": "Standard",
            "kind": kind,
            "locations": [region.upper()],
            "locationInfo": [{"location": region.upper(), "zones": [], "zoneDetails": []}],
            "restrictions": [],
        }
        for kind in ("AIServices", "OpenAI")
        for region in subscription(app).regions
    ]
    return json_response(200, {"value": items})


def provider(app: App, req: Request) -> Response:
    """The provider's registration (Microsoft.Resources): the regions where accounts can be."""
    check_subscription(req)
    locations = [display_name(r) for r in subscription(app).regions]
    return json_response(
        200,
        {
            "id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CognitiveServices",
            "namespace": "Microsoft.CognitiveServices",
            "registrationState": "Registered",
            "resourceTypes": [
                {"resourceType": "accounts", "locations": locations},
                {"resourceType": "locations/usages", "locations": locations},
                {"resourceType": "locations/models", "locations": locations},
            ],
        },
    )
