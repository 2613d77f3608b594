"""ARM routes: the base-model catalog, the account, deployments and their long-running operations.

A deployment's state is derived from stored timestamps when read: Accepted for min(0.5, S/4)
seconds, Creating until S (--provision-seconds), then Succeeded; an update is Accepted for S/2
(ARM 2025-06-01's DeploymentProvisioningState has no Updating; the deployment keeps serving)
then applied; a delete is Deleting for S/2, then the deployment is gone.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from .catalog import CUSTOM_CAPABILITIES, CUSTOM_SKUS, base_skus, is_custom_format
from .kit import (
    ACCT,
    ACTION,
    LOC,
    account_body,
    account_id,
    check_account,
    check_location,
    check_subscription,
    deployment_at,
    poll_hint,
    project_body,
    used_capacity,
    view,
)
from .regions import AccountSpec, sku_usage, subscription
from .routing import (
    ACCOUNT,
    PROJECT,
    SUBSCRIPTION,
    USER,
    ApiError,
    Request,
    Response,
    Router,
    empty_response,
    iso,
    json_response,
    raw_json_response,
)
from .store import dumps, loads, now

if TYPE_CHECKING:
    from .app import App

# `\Z`, not `$`: `$` also matches before a trailing newline.
DEPLOYMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,63}\Z")
UPGRADE_OPTIONS = ("OnceNewDefaultVersionAvailable", "OnceCurrentVersionExpired", "NoAutoUpgrade")
DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"


def register(router: Router) -> None:
    add = router.add
    add("GET", LOC + r"/models", list_catalog, "arm", f"{ACTION}/models/read")
    add("GET", LOC + r"/operationStatuses/(?P<op>[^/]+)", operation_status, "arm", "read")
    add("GET", LOC + r"/operationResults/(?P<op>[^/]+)", operation_result, "arm", "read")
    add("GET", ACCT, get_account, "arm", f"{ACTION}/read")
    add("POST", ACCT + r"/listKeys", list_keys, "arm", f"{ACTION}/listKeys/action")
    add("GET", ACCT + r"/projects", list_projects, "arm", f"{ACTION}/projects/read")
    project = ACCT + r"/projects/(?P<project>[^/]+)"
    add("GET", project, get_project, "arm", f"{ACTION}/projects/read")
    dep = ACCT + r"/deployments"
    add("GET", dep, list_deployments, "arm", f"{ACTION}/deployments/read")
    one = dep + r"/(?P<name>[^/]+)"
    add("GET", one, get_deployment, "arm", f"{ACTION}/deployments/read")
    add("PUT", one, put_deployment, "arm", f"{ACTION}/deployments/write")
    add("PATCH", one, patch_deployment, "arm", f"{ACTION}/deployments/write")
    add("DELETE", one, delete_deployment, "arm", f"{ACTION}/deployments/delete")
    add("GET", one + r"/skus", deployment_skus, "arm", f"{ACTION}/deployments/skus/read")


# -- catalog, account, project -------------------------------------------------------------------


def list_catalog(app: App, req: Request) -> Response:
    catalog = subscription(app).catalog(check_location(app, req)) or app.catalog
    offset = app.skip_token(req)
    size = app.settings.page_size
    chunk = catalog.serialised[offset : offset + size]
    text = '{"value":[' + ",".join(chunk) + "]"
    if offset + len(chunk) < len(catalog):
        text += ',"nextLink":' + dumps(app.next_link(req, offset + len(chunk)))
    return raw_json_response(200, text + "}")


def get_account(app: App, req: Request) -> Response:
    return json_response(200, account_body(app, check_account(req, app)))


def list_keys(app: App, req: Request) -> Response:
    check_account(req, app)
    return json_response(200, {"key1": app.keys[0], "key2": app.keys[1]})


def get_project(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    if not spec.has_project or req.params["project"].lower() != PROJECT:
        raise ApiError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.CognitiveServices/accounts/{spec.name}/projects/"
            f"{req.params['project']}' was not found.",
        )
    return json_response(200, project_body(app))


def list_projects(app: App, req: Request) -> Response:
    """Projects_List: the default account has the sandbox's one project, the others none."""
    spec = check_account(req, app)
    items = [project_body(app)] if spec.has_project else []
    return json_response(200, {"value": items})


# -- deployment state ------------------------------------------------------------------------------


def settle(app: App, t: float) -> None:
    """Apply finished updates and drop finished deletions (call inside a transaction)."""
    app.store.drop_gone_deployments(t)
    for row in app.store.deployments_with_update_due(t):
        d = view(row, t)
        if d is not None and d["state"] == "Succeeded":
            app.store.apply_deployment_update(d)


def deployment_body(app: App, d: dict[str, Any]) -> dict[str, Any]:
    capacity = d["capacity"]
    rate_limits = []
    for limit in loads(d["rate_limits"], []):
        scaled = dict(limit)
        if isinstance(scaled.get("count"), int | float):
            scaled["count"] = scaled["count"] * capacity
        rate_limits.append(scaled)
    props: dict[str, Any] = {
        "model": loads(d["model"]),
        "provisioningState": d["state"],
        "capabilities": loads(d["capabilities"], {}),
        "rateLimits": rate_limits,
        "versionUpgradeOption": d["version_upgrade_option"],
    }
    if d["rai_policy_name"]:
        props["raiPolicyName"] = d["rai_policy_name"]
    if d["serving"]:
        props["deploymentState"] = "Running"
    return {
        "id": f"{_account_path(app, d['account'])}/deployments/{d['name']}",
        "name": d["name"],
        "type": DEPLOYMENT_TYPE,
        "sku": {"name": d["sku_name"], "capacity": capacity},
        "tags": loads(d["tags"], {}),
        "systemData": {
            "createdBy": d["created_by"],
            "createdByType": "User",
            "createdAt": iso(d["created_at"]),
            "lastModifiedBy": d["created_by"],
            "lastModifiedByType": "User",
            "lastModifiedAt": iso(d["modified_at"]),
        },
        "properties": props,
    }


def _account_path(app: App, account: str) -> str:
    spec = subscription(app).account(account)
    return account_id(spec) if spec else app.account_id


def not_found(name: str, account: str = ACCOUNT) -> ApiError:
    return ApiError(
        404,
        "DeploymentNotFound",
        f"The deployment '{name}' was not found in account '{account}'.",
    )


def operation_headers(
    app: App, req: Request, op_id: str, location: bool, region: str = ""
) -> dict[str, str]:
    version = {"api-version": req.query.get("api-version")}
    loc = f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CognitiveServices/locations/"
    loc += region or app.settings.location
    headers = {
        "Azure-AsyncOperation": app.url(f"{loc}/operationStatuses/{op_id}", **version),
        **poll_hint(app),
    }
    if location:
        headers["Location"] = app.url(f"{loc}/operationResults/{op_id}", **version)
    return headers


def new_operation(app: App, kind: str, target: str, start: float, end: float) -> str:
    op_id = str(uuid.uuid4())
    app.store.insert_operation(op_id, kind, target, start, end, None)
    return op_id


# -- deployment routes ---------------------------------------------------------------------------


def check_readable(spec: AccountSpec) -> None:
    if spec.denied:
        raise ApiError(
            403,
            "AuthorizationFailed",
            "The client does not have authorization to perform action "
            f"'{ACTION}/deployments/read' over scope '.../accounts/{spec.name}' or the scope is "
            "invalid.",
        )


def list_deployments(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    check_readable(spec)
    offset = app.skip_token(req)
    t = now()
    size = app.settings.page_size
    with app.store.transaction():
        settle(app, t)
        total = app.store.count_deployments(spec.name)
        rows = app.store.deployments_page(spec.name, size, offset)
    items = [deployment_body(app, d) for d in (view(r, t) for r in rows) if d is not None]
    return json_response(200, app.page(req, items, total, offset))


def get_deployment(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    name = req.params["name"]
    d = deployment_at(app, now(), name, spec.name)
    if d is None:
        raise not_found(name, spec.name)
    return json_response(200, deployment_body(app, d))


def deployment_skus(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    name = req.params["name"]
    d = deployment_at(app, now(), name, spec.name)
    if d is None:
        raise not_found(name, spec.name)
    value = [
        {"resourceType": DEPLOYMENT_TYPE, "sku": {"name": sku["name"]}, "capacity": sku["capacity"]}
        for sku in loads(d["skus"], [])
    ]
    return json_response(200, {"value": value})


def _sku_capacity(sku: dict[str, Any], max_capacity: Any) -> dict[str, Any]:
    cap = dict(sku.get("capacity") or {})
    cap.setdefault("minimum", 1)
    if not cap.get("maximum"):
        cap["maximum"] = max_capacity if isinstance(max_capacity, int) else 1_000_000
    cap["step"] = cap.get("step") or 1
    cap.setdefault("default", cap["minimum"])
    return cap


def choose_sku(skus: list[dict[str, Any]], sku_name: str, label: str) -> dict[str, Any]:
    for sku in skus:
        if str(sku.get("name", "")).lower() == sku_name.lower():
            return sku
    allowed = ", ".join(str(s.get("name")) for s in skus) or "none"
    raise ApiError(
        400,
        "InvalidResourceProperties",
        f"The SKU '{sku_name}' is not supported for model {label}. Allowed SKUs: {allowed}.",
    )


def check_capacity(sku: dict[str, Any], capacity: Any, max_capacity: Any) -> int:
    cap = _sku_capacity(sku, max_capacity)
    if capacity is None:
        return int(cap["default"])
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ApiError(400, "InvalidRequestContent", "sku.capacity must be an integer.")
    lo, hi, step = cap["minimum"], cap["maximum"], cap["step"]
    allowed = cap.get("allowedValues")
    valid = lo <= capacity <= hi and (capacity - lo) % step == 0
    if allowed:
        valid = valid and capacity in allowed
    if not valid:
        extra = f" (allowed values: {allowed})" if allowed else ""
        raise ApiError(
            400,
            "InvalidCapacity",
            f"The capacity {capacity} is not valid for SKU '{sku['name']}': it must be between "
            f"{lo} and {hi} in steps of {step}{extra}.",
        )
    return capacity


def resolve_model(app: App, model: dict[str, Any], region: str = "") -> dict[str, Any]:
    """Check a deployment's properties.model; returns what the deployment row keeps of it."""
    fmt, name, version = model.get("format"), model.get("name"), model.get("version")
    for key, value in (("format", fmt), ("name", name)):
        if not isinstance(value, str) or not value:
            raise ApiError(
                400, "InvalidRequestContent", f"properties.model.{key} is required (a string)."
            )
    if version is not None and not isinstance(version, str):
        raise ApiError(400, "InvalidRequestContent", "properties.model.version must be a string.")
    source = model.get("source")
    custom_format = is_custom_format(fmt)
    if source and not custom_format:
        raise ApiError(
            400,
            "InvalidResourceProperties",
            f"The model format '{fmt}' is not supported for a model from source '{source}': a "
            "custom model deploys with a custom format such as FireworksCustom.",
        )
    if custom_format and not source:
        raise ApiError(
            400,
            "InvalidResourceProperties",
            f"The model format '{fmt}' requires properties.model.source: the ARM id of the "
            "project the custom model is registered in.",
        )
    if source:
        if not isinstance(source, str) or source.rstrip("/").lower() != app.project_arm_id.lower():
            raise ApiError(
                400,
                "InvalidResourceProperties",
                f"properties.model.source must be the project's ARM id '{app.project_arm_id}'.",
            )
        ready = app.store.ready_model_version(name, version, now())
        if ready is None:
            label = f"'{name}' version '{version}'" if version else f"'{name}'"
            raise ApiError(
                400,
                "DeploymentModelNotFound",
                f"The custom model {label} is not registered in project '{PROJECT}' or has not "
                "finished provisioning (provisioningState must be Succeeded).",
            )
        resolved = {"format": fmt, "name": name, "version": ready, "source": source}
        return {
            "model": resolved,
            "entry": {"format": fmt, "name": name},
            "custom": 1,
            "skus": CUSTOM_SKUS,
            "capabilities": CUSTOM_CAPABILITIES,
            "max_capacity": None,
            "label": f"'{name}' version '{ready}'",
        }
    region = region or app.settings.location
    catalog = subscription(app).catalog(region) or app.catalog
    entry = catalog.find(fmt, name, version)
    if entry is None:
        label = f"{fmt} '{name}'" + (f" version '{version}'" if version else "")
        raise ApiError(
            400,
            "DeploymentModelNotSupported",
            f"The model {label} is not supported in location '{region}': it is not "
            "in the model catalog.",
        )
    m = entry["model"]
    resolved = {"format": m["format"], "name": m["name"], "version": str(m.get("version", ""))}
    if m.get("publisher"):
        resolved["publisher"] = m["publisher"]
    return {
        "model": resolved,
        "entry": m,
        "custom": 0,
        "skus": base_skus(m),
        "capabilities": m.get("capabilities") or {},
        "max_capacity": m.get("maxCapacity"),
        "label": f"{m['format']} '{m['name']}' version '{resolved['version']}'",
    }


def check_quota(
    app: App, spec: AccountSpec, usage: str, sku_name: str, capacity: int, exclude: str | None
) -> None:
    region = spec.location or app.settings.location
    pool, limit = subscription(app).pool(region, usage, sku_name)
    skip = (spec.name.lower(), exclude.lower()) if exclude else None
    used = used_capacity(app, region, pool, None)
    # A deployment being changed already holds its own capacity: only the difference is new.
    held = used - used_capacity(app, region, pool, skip) if skip else 0
    added = capacity - held
    if added > 0 and used + added > limit:
        raise ApiError(
            400,
            "InsufficientQuota",
            f"This operation require {added} new capacity in quota {usage} (SKU '{sku_name}') "
            f"in {region}, which is bigger than the current available capacity "
            f"{max(0, limit - used)}: {used} of {limit} units are used, {capacity} requested.",
        )


def _target(d: dict[str, Any]) -> tuple[str, int, str]:
    source = d["pending"] or d
    return source["sku_name"], source["capacity"], source["model"]


def put_deployment(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    region = spec.location or app.settings.location
    name = req.params["name"]
    if not DEPLOYMENT_NAME.match(name):
        raise ApiError(
            400,
            "InvalidResourceName",
            f"The deployment name '{name}' is invalid: use 2-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit.",
        )
    body = req.json_object()
    sku, props = body.get("sku"), body.get("properties")
    if not isinstance(sku, dict) or not isinstance(sku.get("name"), str) or not sku["name"]:
        raise ApiError(400, "InvalidRequestContent", "sku.name is required.")
    if not isinstance(props, dict) or not isinstance(props.get("model"), dict):
        raise ApiError(400, "InvalidRequestContent", "properties.model is required.")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ApiError(400, "InvalidRequestContent", "tags must be an object of strings.")
    upgrade = props.get("versionUpgradeOption")
    if upgrade is not None and upgrade not in UPGRADE_OPTIONS:
        raise ApiError(
            400,
            "InvalidRequestContent",
            f"properties.versionUpgradeOption must be one of {', '.join(UPGRADE_OPTIONS)}.",
        )
    rai = props.get("raiPolicyName")
    t = now()
    s = app.settings.provision_seconds
    with app.store.transaction():
        settle(app, t)
        existing = deployment_at(app, t, name, spec.name)
        if existing is not None and existing["state"] == "Deleting":
            raise ApiError(
                409, "RequestConflict", f"The deployment '{name}' is being deleted; retry later."
            )
        resolved = resolve_model(app, props["model"], region)
        chosen = choose_sku(resolved["skus"], sku["name"], resolved["label"])
        capacity = check_capacity(chosen, sku.get("capacity"), resolved["max_capacity"])
        sku_name = chosen["name"]
        usage = sku_usage(resolved["entry"], chosen)
        model_json = dumps(resolved["model"])
        if upgrade is None:
            upgrade = "NoAutoUpgrade" if resolved["custom"] else "OnceNewDefaultVersionAvailable"
        columns = {
            "sku_name": sku_name,
            "capacity": capacity,
            "model": model_json,
            "custom": resolved["custom"],
            "capabilities": dumps(resolved["capabilities"]),
            "rate_limits": dumps(chosen.get("rateLimits") or []),
            "usage": usage,
            "skus": dumps(
                [
                    {"name": k["name"], "capacity": _sku_capacity(k, resolved["max_capacity"])}
                    for k in resolved["skus"]
                ]
            ),
        }
        if existing is None:
            check_quota(app, spec, usage, sku_name, capacity, None)
            app.store.delete_deployment(spec.name, name)
            ready = t + s
            op_id = new_operation(app, "deployment-create", f"{spec.name}/{name}", t, ready)
            app.store.insert_deployment(
                {
                    **columns,
                    "account": spec.name,
                    "name": name,
                    "upgrade": upgrade,
                    "rai": rai,
                    "tags": dumps(tags),
                    "t": t,
                    "user": USER,
                    "accepted": t + min(0.5, s / 4),
                    "ready": ready,
                    "op": op_id,
                },
            )
            d = deployment_at(app, t, name, spec.name)
            return json_response(
                201, deployment_body(app, d), operation_headers(app, req, op_id, False, region)
            )
        same = _target(existing) == (sku_name, capacity, model_json)
        if existing["state"] != "Succeeded" and not same:
            raise ApiError(
                409,
                "RequestConflict",
                f"The deployment '{name}' is {existing['state']}: another operation is in "
                "progress; retry when it has finished.",
            )
        app.store.set_deployment_settings(spec.name, existing["name"], dumps(tags), upgrade, rai, t)
        headers: dict[str, str] = {}
        if existing["state"] != "Succeeded":  # an idempotent retry of the running operation
            headers = operation_headers(app, req, existing["last_op"], False, region)
        elif not same:
            check_quota(app, spec, usage, sku_name, capacity, existing["name"])
            op_id = _start_update(app, spec.name, existing["name"], columns, t)
            headers = operation_headers(app, req, op_id, False, region)
        d = deployment_at(app, t, name, spec.name)
        return json_response(200, deployment_body(app, d), headers)


def _start_update(app: App, account: str, name: str, columns: dict[str, Any], t: float) -> str:
    until = t + app.settings.provision_seconds / 2
    op_id = new_operation(app, "deployment-update", f"{account}/{name}", t, until)
    columns = dict(columns)
    usage = columns.pop("usage")
    target = (columns["sku_name"], columns["capacity"], usage)
    app.store.start_deployment_update(account, name, dumps(columns), until, target, t, op_id)
    return op_id


def patch_deployment(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    region = spec.location or app.settings.location
    name = req.params["name"]
    body = req.json_object()
    sku, tags = body.get("sku"), body.get("tags")
    if sku is None and tags is None:
        raise ApiError(400, "InvalidRequestContent", "The body must set sku and/or tags.")
    if sku is not None and (not isinstance(sku, dict) or sku.get("capacity") is None):
        raise ApiError(400, "InvalidRequestContent", "sku.capacity is required.")
    if tags is not None and (
        not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())
    ):
        raise ApiError(400, "InvalidRequestContent", "tags must be an object of strings.")
    t = now()
    with app.store.transaction():
        settle(app, t)
        d = deployment_at(app, t, name, spec.name)
        if d is None:
            raise not_found(name, spec.name)
        if d["state"] != "Succeeded":
            raise ApiError(
                409,
                "RequestConflict",
                f"The deployment '{name}' is {d['state']}: another operation is in progress; "
                "retry when it has finished.",
            )
        if tags is not None:
            app.store.set_deployment_tags(spec.name, name, dumps(tags), t)
        if sku is None:
            return json_response(200, deployment_body(app, deployment_at(app, t, name, spec.name)))
        skus = loads(d["skus"], [])
        sku_name = sku.get("name") or d["sku_name"]
        if not isinstance(sku_name, str):
            raise ApiError(400, "InvalidRequestContent", "sku.name must be a string.")
        model = loads(d["model"])
        chosen = choose_sku(skus, sku_name, f"'{model.get('name')}'")
        capacity = check_capacity(chosen, sku["capacity"], None)
        if chosen["name"] != d["sku_name"] and not d["custom"]:
            catalog = subscription(app).catalog(region) or app.catalog
            entry = catalog.find(model["format"], model["name"], model.get("version"))
        elif d["custom"]:
            entry = {"model": model}
        else:
            entry = None
        if chosen["name"] == d["sku_name"] and d["target_usage"]:
            usage = d["target_usage"]
        else:
            usage = sku_usage((entry or {"model": model})["model"], chosen)
        check_quota(app, spec, usage, chosen["name"], capacity, d["name"])
        columns = {
            "sku_name": chosen["name"],
            "capacity": capacity,
            "model": d["model"],
            "custom": d["custom"],
            "capabilities": d["capabilities"],
            "rate_limits": d["rate_limits"],
            "skus": d["skus"],
            "usage": usage,
        }
        if chosen["name"] != d["sku_name"] and not d["custom"]:
            for k in (entry or {}).get("model", {}).get("skus", []):
                if k.get("name") == chosen["name"]:
                    columns["rate_limits"] = dumps(k.get("rateLimits") or [])
        op_id = _start_update(app, spec.name, d["name"], columns, t)
    # Deployments_Update's 202 declares a Location header and no body.
    return empty_response(202, operation_headers(app, req, op_id, True, region))


def delete_deployment(app: App, req: Request) -> Response:
    spec = check_account(req, app)
    region = spec.location or app.settings.location
    name = req.params["name"]
    t = now()
    with app.store.transaction():
        settle(app, t)
        d = deployment_at(app, t, name, spec.name)
        if d is None:
            return empty_response(204)
        if d["state"] == "Deleting":
            return empty_response(202, operation_headers(app, req, d["last_op"], True, region))
        # A delete cancels a create or update still in flight.
        canceled = dumps({"code": "Canceled", "message": "The deployment was deleted."})
        app.store.cancel_running_operations((d["create_op"], d["last_op"]), t, canceled)
        gone = t + app.settings.provision_seconds / 2
        op_id = new_operation(app, "deployment-delete", f"{spec.name}/{d['name']}", t, gone)
        app.store.start_deployment_delete(spec.name, d["name"], t, gone, op_id)
    return empty_response(202, operation_headers(app, req, op_id, True, region))


# -- operations ----------------------------------------------------------------------------------


def op_state(row: Any, t: float) -> tuple[str, float | None]:
    """(status, end time or None) of an operation at time t."""
    if row["final_status"]:
        return row["final_status"], row["ends_at"]
    if t < row["ends_at"]:
        return "InProgress", None
    return "Succeeded", row["ends_at"]


def _operation(app: App, req: Request) -> Any:
    check_subscription(req)
    row = app.store.operation(req.params["op"])
    if row is None or not row["kind"].startswith("deployment-"):
        raise ApiError(404, "NotFound", f"The operation '{req.params['op']}' was not found.")
    return row


def operation_status(app: App, req: Request) -> Response:
    row = _operation(app, req)
    status, ended = op_state(row, now())
    body: dict[str, Any] = {
        "id": f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.CognitiveServices/locations/"
        f"{req.params['location']}/operationStatuses/{row['id']}",
        "name": row["id"],
        "status": status,
        "startTime": iso(row["started_at"]),
    }
    if ended is not None:
        body["endTime"] = iso(ended)
    if row["error"]:
        body["error"] = loads(row["error"])
    # While it runs, say when to ask again (the SDKs' pollers otherwise wait 30 s).
    return json_response(200, body, poll_hint(app) if status == "InProgress" else None)


def operation_result(app: App, req: Request) -> Response:
    row = _operation(app, req)
    t = now()
    status, _ = op_state(row, t)
    if status == "InProgress":
        return empty_response(202, {"Location": app.url(req.path, **req.query), **poll_hint(app)})
    if status != "Succeeded":
        error = loads(row["error"], {"code": status, "message": f"The operation {status}."})
        raise ApiError(409, error["code"], error["message"])
    if row["kind"] == "deployment-delete":
        return empty_response(204)
    account, _, name = row["target"].rpartition("/")
    d = deployment_at(app, t, name, account or ACCOUNT)
    if d is None:
        return empty_response(204)
    return json_response(200, deployment_body(app, d))
