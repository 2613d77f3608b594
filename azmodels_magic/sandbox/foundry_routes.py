"""Foundry project routes: custom models, their upload slots (real SAS on Azurite), registration
as a long-running operation, updates, deletion and read credentials.

A registration is refused while the weights are incomplete: no committed blob, or a staged but
uncommitted block. What the files should be is the client's business (real Azure reads no
manifest of ours), so the sandbox checks only what the storage itself says.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from .azurite import DEV_ACCOUNT
from .catalog import version_key
from .kit import poll_hint
from .routing import (
    ACCOUNT,
    PROJECT,
    RESOURCE_GROUP,
    SUBSCRIPTION,
    USER,
    ApiError,
    Request,
    Response,
    Router,
    empty_response,
    iso,
    json_response,
)
from .store import dumps, loads, now

if TYPE_CHECKING:
    from .app import App

PROJ = r"/api/projects/(?P<project>[^/]+)"
VERSION = PROJ + r"/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"
# Where createAsync's Location points, on the operations listener: the path shape azd expects
# of Azure ML's operations host (EVIDENCE.md §1, azd custom_create.go:365).
OPERATION_PATH = re.compile(
    r"/api/projects/(?P<project>[^/]+)/models/(?P<name>[^/]+)/versions/(?P<version>[^/]+)"
    r"/createAsync/operations/(?P<op>[^/]+)"
)
# `\Z`, not `$`: `$` also matches before a trailing newline.
MODEL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,29}\Z")
MODEL_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
WEIGHT_TYPES = ("FullWeight", "LoRA", "DraftModel")
ACTION = "Microsoft.CognitiveServices/accounts/AIServices/models"


def register(router: Router) -> None:
    add = router.add
    add("GET", PROJ + r"/models", list_models, "foundry", f"{ACTION}/read")
    add("GET", PROJ + r"/models/(?P<name>[^/]+)/versions", list_versions, "foundry", "read")
    add("GET", VERSION, get_version, "foundry", f"{ACTION}/read")
    add("PATCH", VERSION, patch_version, "foundry", f"{ACTION}/write")
    add("DELETE", VERSION, delete_version, "foundry", f"{ACTION}/delete")
    upload = VERSION + r"/startPendingUpload"
    add("POST", upload, start_pending_upload, "foundry", f"{ACTION}/write")
    add("POST", VERSION + r"/createAsync", create_async, "foundry", f"{ACTION}/write")
    add("POST", VERSION + r"/credentials", credentials, "foundry", f"{ACTION}/credentials/action")
    add("GET", PROJ + r"/operations/(?P<op>[^/]+)", get_operation, "foundry", "read")


def storage_account_arm_id() -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}"
        f"/providers/Microsoft.Storage/storageAccounts/{DEV_ACCOUNT}"
    )


def check_project(req: Request) -> None:
    project = req.params["project"]
    if project != PROJECT:
        raise ApiError(404, "NotFound", f"The project '{project}' was not found.")


def check_names(req: Request) -> tuple[str, str]:
    name, version = req.params["name"], req.params["version"]
    if not MODEL_NAME.match(name):
        raise ApiError(
            400,
            "InvalidModelName",
            f"The model name '{name}' is invalid: use 2-30 letters, digits or '-', starting with "
            "a letter.",
        )
    if not MODEL_VERSION.match(version):
        raise ApiError(
            400,
            "InvalidModelVersion",
            f"The model version '{version}' is invalid: use up to 64 letters, digits, '.', '_' "
            "or '-', starting with a letter or digit.",
        )
    return name, version


def version_not_found(name: str, version: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f"Model '{name}' version '{version}' was not found in project '{PROJECT}'.",
        extra={"innererror": {"code": "ModelVersionNotFound"}},
    )


def version_exists(name: str, version: str) -> ApiError:
    return ApiError(
        409,
        "ModelVersionExists",
        f"Model '{name}' version '{version}' already exists in project '{PROJECT}'; choose "
        "another version or delete it first.",
    )


def model_body(app: App, row: Any, t: float) -> dict[str, Any]:
    body = {
        "id": f"azureai://accounts/{ACCOUNT}/projects/{PROJECT}/models/{row['name']}"
        f"/versions/{row['version']}",
        "name": row["name"],
        "version": row["version"],
        "description": row["description"],
        "blobUri": app.container_url(row["container"], row["prefix"]),
        "weightType": row["weight_type"],
        "baseModel": row["base_model"],
        "tags": loads(row["tags"], {}),
        "properties": {},
        "systemData": {
            "createdAt": iso(row["created_at"]),
            "createdBy": row["created_by"],
            "createdByType": "User",
            "lastModifiedAt": iso(row["modified_at"]),
        },
        "provisioningState": "Succeeded" if t >= row["ready_at"] else "Creating",
    }
    if row["lora_config"]:
        body["loraConfig"] = loads(row["lora_config"])
    extra = loads(row["extra"], {}) if row["extra"] else {}
    body.update({k: v for k, v in extra.items() if k in ("catalogInfo", "artifactProfile",
                                                         "warnings")})  # fmt: skip
    # Unset optional strings are left out: ModelVersion types them string, never null.
    return {k: v for k, v in body.items() if not (k in _OMIT_WHEN_NULL and v is None)}


_OMIT_WHEN_NULL = frozenset({"description", "baseModel"})


def sas_for(app: App, container: str, **permissions: bool) -> str:
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas

    start = datetime.now(UTC) - timedelta(minutes=5)  # tolerate clock skew like Azure does
    return generate_container_sas(
        account_name=DEV_ACCOUNT,
        container_name=container,
        account_key=app.storage_key,
        permission=ContainerSasPermissions(**permissions),
        start=start,
        expiry=datetime.now(UTC) + timedelta(minutes=app.settings.sas_minutes),
    )


# -- reads ---------------------------------------------------------------------------------------


def list_models(app: App, req: Request) -> Response:
    check_project(req)
    offset = app.skip_token(req)
    latest: dict[str, Any] = {}
    for row in app.store.models():
        best = latest.get(row["name"])
        key = (version_key(row["version"]), row["created_at"])
        if best is None or key > (version_key(best["version"]), best["created_at"]):
            latest[row["name"]] = row
    rows = [latest[name] for name in sorted(latest, key=str.lower)]
    t = now()
    page = rows[offset : offset + app.settings.page_size]
    items = [model_body(app, r, t) for r in page]
    return json_response(200, app.page(req, items, len(rows), offset))


def list_versions(app: App, req: Request) -> Response:
    check_project(req)
    offset = app.skip_token(req)
    rows = sorted(
        app.store.model_versions(req.params["name"]),
        key=lambda r: (version_key(r["version"]), r["created_at"]),
    )
    t = now()
    page = rows[offset : offset + app.settings.page_size]
    items = [model_body(app, r, t) for r in page]
    return json_response(200, app.page(req, items, len(rows), offset))


def get_version(app: App, req: Request) -> Response:
    check_project(req)
    name, version = req.params["name"], req.params["version"]
    row = app.store.model(name, version)
    if row is None:
        raise version_not_found(name, version)
    return json_response(200, model_body(app, row, now()))


# -- upload slot ---------------------------------------------------------------------------------


def start_pending_upload(app: App, req: Request) -> Response:
    check_project(req)
    name, version = check_names(req)
    body = req.json_object(required=False)
    kind = body.get("pendingUploadType", "TemporaryBlobReference")
    if kind != "TemporaryBlobReference":
        raise ApiError(
            400,
            "InvalidRequestContent",
            f"pendingUploadType '{kind}' is not supported; use 'TemporaryBlobReference'.",
        )
    upload_id = body.get("pendingUploadId")
    if upload_id is not None and (not isinstance(upload_id, str) or not upload_id.strip()):
        raise ApiError(400, "InvalidRequestContent", "pendingUploadId must be a non-empty string.")
    with app.store.transaction():
        if app.store.model(name, version) is not None:
            raise version_exists(name, version)
        row = None
        if upload_id:
            row = app.store.pending_upload(upload_id)
        if row is not None and (row["name"], row["version"]) != (name, version):
            raise ApiError(
                400,
                "InvalidRequestContent",
                f"pendingUploadId '{upload_id}' belongs to model '{row['name']}' version "
                f"'{row['version']}'.",
            )
        if row is None:
            upload_id = upload_id or str(uuid.uuid4())
            container = f"upload-{uuid.uuid4().hex}"
            app.store.insert_pending_upload(
                upload_id, name, version, container, str(uuid.uuid4()), now()
            )
            row = app.store.pending_upload(upload_id)
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):  # also recreates one lost with Azurite's data
        app.blob_service().create_container(row["container"])
    sas = sas_for(app, row["container"], read=True, add=True, create=True, write=True, list=True)
    url = app.container_url(row["container"])
    account = storage_account_arm_id()
    return json_response(
        200,
        {
            # Both shapes: the spec's ModelPendingUploadResponse (blobReference), and what the
            # service returns per azure-ai-projects' _patch_models.py and azd's client reads.
            "blobReference": {
                "blobUri": url,
                "storageAccountArmId": account,
                "credential": {"type": "SAS", "sasUri": f"{url}?{sas}"},
            },
            "blobReferenceForConsumption": {
                "blobUri": url,
                "storageAccountArmId": account,
                "credential": {"credentialType": "SAS", "sasUri": f"{url}?{sas}"},
            },
            "temporaryDataReferenceId": row["data_reference_id"],
            "pendingUploadId": row["id"],
            "pendingUploadType": "TemporaryBlobReference",
        },
    )


# -- registration --------------------------------------------------------------------------------


def _incomplete(message: str) -> ApiError:
    return ApiError(400, "UploadIncomplete", message)


def parse_blob_uri(app: App, blob_uri: str) -> tuple[str, str]:
    """(container, prefix) of a blobUri handed out by startPendingUpload."""
    parts = unquote(urlsplit(blob_uri).path).lstrip("/").split("/", 2)
    if len(parts) < 2 or parts[0] != DEV_ACCOUNT or not parts[1]:
        raise _incomplete(f"blobUri '{blob_uri.split('?')[0]}' is not a container of this project.")
    container, prefix = parts[1], parts[2] if len(parts) > 2 else ""
    if not app.store.is_upload_container(container):
        raise _incomplete(
            f"blobUri '{blob_uri.split('?')[0]}' was not handed out by startPendingUpload."
        )
    return container, prefix


def check_weights(app: App, container: str, prefix: str) -> list[str]:
    """Raise UploadIncomplete unless the container holds complete, committed weights."""
    from azure.core.exceptions import ResourceNotFoundError

    client = app.blob_service().get_container_client(container)
    starts = prefix or None
    try:
        committed = {b.name: b.size for b in client.list_blobs(name_starts_with=starts)}
        everything = [
            b.name for b in client.list_blobs(name_starts_with=starts, include=["uncommittedblobs"])
        ]
    except ResourceNotFoundError:
        raise _incomplete(f"The upload container '{container}' no longer exists.") from None
    staged_only = sorted(set(everything) - set(committed))
    if staged_only:
        raise _incomplete(
            f"{len(staged_only)} blob(s) have staged blocks but were never committed, e.g. "
            f"'{staged_only[0]}'."
        )
    if not committed:
        raise _incomplete(f"The upload container '{container}' holds no committed blob.")

    for name, count in _uncommitted_blocks(app, container, sorted(committed)):
        if count:
            raise _incomplete(f"The blob '{name}' has {count} uncommitted block(s).")
    return sorted(committed)


def _uncommitted_blocks(app: App, container: str, names: list[str]) -> Iterator[tuple[str, int]]:
    """(name, uncommitted block count) of each blob: one Get Block List per blob, asked several
    at a time on kept-alive connections with a read SAS. Plain http.client, not the SDK's
    pipeline, whose per-request CPU made a folder of thousands of small files take far longer to
    check than to upload."""
    import http.client

    endpoint = urlsplit(app.azurite_endpoint)  # the sandbox's own check: not counted
    query = f"comp=blocklist&blocklisttype=uncommitted&{sas_for(app, container, read=True)}"
    local = threading.local()
    opened: list[http.client.HTTPConnection] = []

    def connection(fresh: bool = False) -> http.client.HTTPConnection:
        if fresh or getattr(local, "conn", None) is None:
            local.conn = http.client.HTTPConnection(endpoint.hostname, endpoint.port, timeout=60)
            opened.append(local.conn)
        return local.conn

    def pending(name: str) -> tuple[str, int]:
        path = f"{endpoint.path}/{container}/{quote(name)}?{query}"
        for attempt in range(3):
            conn = connection(fresh=attempt > 0)
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                if attempt == 2:
                    raise
                continue
            if response.status == 200:
                return name, body.count(b"<Block>")
            if response.status == 404:
                raise _incomplete(f"The blob '{name}' was removed while it was checked.")
            if response.status < 500 or attempt == 2:
                raise RuntimeError(f"Get Block List of '{name}': HTTP {response.status}")
        raise AssertionError("unreachable")

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(names)))) as pool:
            yield from pool.map(pending, names)
    finally:
        for conn in opened:
            conn.close()


def base_model_of(body: dict[str, Any], weight_type: str) -> Any:
    """The base model, from the spec/SDK's top-level `baseModel` or azd's
    `derivedModelInformation.baseModel` (EVIDENCE.md §1): required unless DraftModel."""
    derived = body.get("derivedModelInformation")
    if derived is not None and not isinstance(derived, dict):
        raise ApiError(400, "InvalidRequestContent", "derivedModelInformation must be an object.")
    top, nested = body.get("baseModel"), (derived or {}).get("baseModel")
    if top is not None and nested is not None and top != nested:
        raise ApiError(
            400,
            "InvalidRequestContent",
            "baseModel and derivedModelInformation.baseModel name different models.",
        )
    base = top if top is not None else nested
    if base is None and weight_type != "DraftModel":
        raise ApiError(
            400,
            "InvalidRequestContent",
            "baseModel is required unless weightType is DraftModel.",
        )
    return base


def check_base_model(app: App, base: Any) -> str | None:
    if base is None:
        return None
    if not isinstance(base, str) or not base.strip():
        raise ApiError(400, "InvalidRequestContent", "baseModel must be a non-empty string.")
    name = base.strip()
    match = re.search(r"/models/([^/]+)(?:/versions/[^/]+)?/?\Z", name)  # azureml:// asset ids
    short = match.group(1) if match else name
    if app.catalog.has_name(short):
        return name
    if app.store.has_model(short):
        return name
    raise ApiError(
        400,
        "BaseModelNotFound",
        f"The base model '{name}' is neither in the model catalog nor a registered custom model.",
    )


def create_async(app: App, req: Request) -> Response:
    check_project(req)
    name, version = check_names(req)
    body = req.json_object()
    blob_uri = body.get("blobUri")
    if not isinstance(blob_uri, str) or not blob_uri:
        raise ApiError(400, "InvalidRequestContent", "blobUri is required.")
    weight_type = body.get("weightType")
    if weight_type not in WEIGHT_TYPES:
        raise ApiError(
            400, "InvalidRequestContent", f"weightType must be one of {', '.join(WEIGHT_TYPES)}."
        )
    description = body.get("description")
    if description is not None and not isinstance(description, str):
        raise ApiError(400, "InvalidRequestContent", "description must be a string.")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise ApiError(400, "InvalidRequestContent", "tags must be an object of strings.")
    base = base_model_of(body, weight_type)
    lora = body.get("loraConfig")
    if lora is not None:
        check_lora(lora)
    catalog = body.get("catalogInfo")
    if catalog is not None and (
        not isinstance(catalog, dict) or not isinstance(catalog.get("publisherId", ""), str)
    ):
        raise ApiError(400, "InvalidRequestContent", "catalogInfo.publisherId must be a string.")
    if app.store.model(name, version) is not None:
        raise version_exists(name, version)
    container, prefix = parse_blob_uri(app, blob_uri)
    base = check_base_model(app, base)
    extra = {"catalogInfo": catalog} if catalog else {}
    t = now()
    op_id = str(uuid.uuid4())
    with app.store.transaction():
        if app.store.model(name, version) is not None:
            raise version_exists(name, version)
        # The version shows as Creating at once (the name is never left without a version
        # while an overwrite registers again); it is removed if its weights fail the check.
        app.store.insert_operation(op_id, "model-create", name, t, CHECKING, version)
        app.store.insert_model(
            (
                name,
                version,
                description,
                dumps(tags),
                weight_type,
                base,
                dumps(lora) if lora else None,
                dumps(extra),
                container,
                prefix,
                t,
                USER,
                t,
                CHECKING,
                op_id,
            ),
        )
    # As Azure does: answer at once and check the weights in the background (the client polls).
    _start_check(app, op_id)
    # On Azure the Location is on another host (Azure ML's operations host): here, the
    # operations listener. Spec CreateModelVersionAsyncResponse: 202, Location header, body
    # {location, operationResult}; no Operation-Location (EVIDENCE.md §1).
    location = app.operations_url(
        f"/api/projects/{PROJECT}/models/{quote(name, safe='')}/versions/"
        f"{quote(version, safe='')}/createAsync/operations/{op_id}",
        **{"api-version": req.query["api-version"]},
    )
    headers = {"Location": location, **poll_hint(app)}
    return json_response(202, {"location": location, "operationResult": None}, headers)


# What the service reports of the files it was given (spec artifactProfile and warnings,
# EVIDENCE.md §1), judged here by file name as the sandbox reads no weights: pickles need
# code to load (PyTorch .bin/.pt/.pth/.pkl/.ckpt), .py is custom code, .so/.dll native code.
_PICKLES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt")
_DATA_ONLY = (
    ".safetensors",
    ".gguf",
    ".onnx",
    ".json",
    ".txt",
    ".model",
    ".md",
    ".tiktoken",
    ".jinja",
    ".yaml",
    ".yml",
)


def artifact_profile(names: list[str]) -> dict[str, Any]:
    """{artifactProfile: {category, signals}, warnings} for the stored file names."""
    lower = [n.lower() for n in names]
    signals = []
    if any(n.endswith(_PICKLES) for n in lower):
        signals.append("PickleDeserialization")
    if any(n.endswith(".py") for n in lower):
        signals.append("CustomPythonCode")
    if any(n.endswith((".so", ".dll", ".dylib")) for n in lower):
        signals.append("NativeBinary")
    known = _PICKLES + _DATA_ONLY + (".py", ".so", ".dll", ".dylib")
    unknown = [n for n in lower if not n.endswith(known)]
    if signals:
        category = "RuntimeDependent"
        warnings = [{
            "code": "RuntimeDependentArtifact",
            "message": "The model's files need code to load (" + ", ".join(signals) + "): "
            "review them before you deploy.",
        }]  # fmt: skip
    elif unknown:
        category, signals = "Unknown", ["UnknownFormat"]
        warnings = [{
            "code": "UnclassifiedArtifact",
            "message": f"{len(unknown)} file(s) of a format the service does not classify.",
        }]  # fmt: skip
    else:
        category, warnings = "DataOnly", []
    profile: dict[str, Any] = {"category": category}
    if signals:
        profile["signals"] = signals
    return {"artifactProfile": profile, "warnings": warnings}


def check_lora(lora: Any) -> None:
    """loraConfig {rank: int, alpha: int, targetModules: [str], dropout: float} (spec)."""
    if not isinstance(lora, dict):
        raise ApiError(400, "InvalidRequestContent", "loraConfig must be an object.")
    for key in ("rank", "alpha"):
        value = lora.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ApiError(400, "InvalidRequestContent", f"loraConfig.{key} must be an integer.")
    modules = lora.get("targetModules")
    if modules is not None and (
        not isinstance(modules, list) or not all(isinstance(m, str) for m in modules)
    ):
        raise ApiError(
            400, "InvalidRequestContent", "loraConfig.targetModules must be a list of strings."
        )
    dropout = lora.get("dropout")
    if dropout is not None and (isinstance(dropout, bool) or not isinstance(dropout, int | float)):
        raise ApiError(400, "InvalidRequestContent", "loraConfig.dropout must be a number.")


# The end (and ready time) of a registration whose weights are still being checked.
CHECKING = 1e18
_running: set[str] = set()
_running_lock = threading.Lock()


def _start_check(app: App, op_id: str) -> None:
    """Check the weights of operation `op_id` in a thread, unless one is at it already (a
    sandbox restarted mid-check starts it again at the next poll)."""
    with _running_lock:
        if op_id in _running:
            return
        _running.add(op_id)
    threading.Thread(
        target=_finish_registration, args=(app, op_id), name=f"check-{op_id[:8]}", daemon=True
    ).start()


def _finish_registration(app: App, op_id: str) -> None:
    try:
        op = app.store.operation(op_id)
        row = app.store.model_of_operation(op_id)
        if op is None or op["ends_at"] != CHECKING:
            return
        if row is None:  # deleted while checked
            gone = f"Model '{op['target']}' version '{op['version']}' was deleted."
            _fail(app, op_id, "ModelDeleted", gone)
            return
        try:
            names = check_weights(app, row["container"], row["prefix"])
        except ApiError as exc:
            _fail(app, op_id, exc.code, exc.message)
            return
        except Exception as exc:  # the operation must end, whatever went wrong
            _fail(app, op_id, "InternalError", f"Checking the weights failed: {exc}")
            return
        ready = now() + min(0.5, app.settings.provision_seconds)
        extra = {**(loads(row["extra"], {}) if row["extra"] else {}), **artifact_profile(names)}
        with app.store.transaction():
            app.store.set_model_ready(op_id, ready, dumps(extra))
            app.store.end_operation(op_id, ready)
    finally:
        with _running_lock:
            _running.discard(op_id)


# A failed registration's version stays visible (Creating) at least this long: a client that
# polls the version, as the SDK's create() does, sees it before it goes (and knows it failed).
FAIL_AFTER_SECONDS = 0.5


def _fail(app: App, op_id: str, code: str, message: str) -> None:
    op = app.store.operation(op_id)
    if op is not None:
        time.sleep(max(0.0, op["started_at"] + FAIL_AFTER_SECONDS - now()))
    with app.store.transaction():
        app.store.delete_model_of_operation(op_id)
        app.store.fail_operation(op_id, now(), dumps({"code": code, "message": message}))


def operation_body(app: App, op_id: str, t: float) -> dict[str, Any]:
    op = app.store.operation(op_id)
    if op is None or op["kind"] != "model-create":
        raise ApiError(404, "NotFound", f"The operation '{op_id}' was not found.")
    if op["final_status"] == "Failed":
        return {"id": op_id, "status": "Failed", "error": loads(op["error"])}
    if op["ends_at"] == CHECKING:
        _start_check(app, op_id)
        return {"id": op_id, "status": "InProgress"}
    if t < op["ends_at"]:
        return {"id": op_id, "status": "InProgress"}
    row = app.store.model(op["target"], op["version"])
    if row is None or row["op_id"] != op_id:
        return {
            "id": op_id,
            "status": "Failed",
            "error": {
                "code": "ModelDeleted",
                "message": f"Model '{op['target']}' version '{op['version']}' was deleted.",
            },
        }
    return {"id": op_id, "status": "Succeeded", "result": model_body(app, row, t)}


def poll_operation(app: App, req: Request) -> Response:
    """A poll on the operations listener: the first answers 202 with a new Location (azd
    follows one, §1), later ones 200 with the operation's status."""
    check_project(req)
    op_id = req.params["op"]
    body = operation_body(app, op_id, now())
    op = app.store.operation(op_id)
    if (op["target"], op["version"]) != (
        unquote(req.params["name"]),
        unquote(req.params["version"]),
    ):
        raise ApiError(404, "NotFound", f"The operation '{op_id}' was not found.")
    if req.query.get("hop") != "1":
        query = {**req.query, "hop": "1"}
        moved = app.operations_url(req.path, **query)
        return json_response(202, {"location": moved, "operationResult": None},
                             {"Location": moved, **poll_hint(app)})  # fmt: skip
    return json_response(200, body, poll_hint(app) if body["status"] == "InProgress" else None)


def get_operation(app: App, req: Request) -> Response:
    check_project(req)
    body = operation_body(app, req.params["op"], now())
    return json_response(200, body, poll_hint(app) if body["status"] == "InProgress" else None)


# -- update, delete, credentials -----------------------------------------------------------------


def patch_version(app: App, req: Request) -> Response:
    check_project(req)
    name, version = req.params["name"], req.params["version"]
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/merge-patch+json":
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"The content type '{content_type or 'none'}' is not supported; use "
            "'application/merge-patch+json'.",
        )
    body = req.json_object()
    with app.store.transaction():
        row = app.store.model(name, version)
        if row is None:
            raise version_not_found(name, version)
        description = row["description"]
        if "description" in body:
            if body["description"] is not None and not isinstance(body["description"], str):
                raise ApiError(400, "InvalidRequestContent", "description must be a string.")
            description = body["description"]
        tags = loads(row["tags"], {})
        if "tags" in body and body["tags"] is not None:
            if not isinstance(body["tags"], dict):
                raise ApiError(400, "InvalidRequestContent", "tags must be an object.")
            for key, value in body["tags"].items():
                if value is None:
                    tags.pop(key, None)
                elif isinstance(value, str):
                    tags[key] = value
                else:
                    raise ApiError(
                        400, "InvalidRequestContent", f"The tag '{key}' must be a string or null."
                    )
        app.store.set_model_description_tags(name, version, description, dumps(tags), now())
        row = app.store.model(name, version)
    return json_response(200, model_body(app, row, now()))


def delete_version(app: App, req: Request) -> Response:
    check_project(req)
    app.store.delete_model(req.params["name"], req.params["version"])
    # 200 whether or not it existed, as azure-ai-projects 2.10 documents and requires (the
    # TypeSpec says 204; the SDK accepts only 200: EVIDENCE.md §2).
    return empty_response(200)


def credentials(app: App, req: Request) -> Response:
    check_project(req)
    name, version = req.params["name"], req.params["version"]
    # ModelCredentialRequest {blobUri}: required (Spec and SDK 2.10, EVIDENCE.md §2).
    asked = req.json_object(required=False).get("blobUri")
    if not isinstance(asked, str) or not asked.strip():
        raise ApiError(
            400,
            "InvalidRequestContent",
            "The request body must be a ModelCredentialRequest with blobUri: the storage "
            "location of the model version.",
        )
    row = app.store.model(name, version)
    if row is None:
        raise version_not_found(name, version)
    blob_uri = app.container_url(row["container"], row["prefix"])
    if asked.split("?", 1)[0].rstrip("/") != blob_uri.rstrip("/"):
        raise ApiError(
            400,
            "InvalidRequestContent",
            f"blobUri '{asked.split('?', 1)[0]}' is not the storage of model '{name}' version "
            f"'{version}'.",
        )
    # Read access: the weights can be read and listed, never changed or removed through it.
    sas = sas_for(app, row["container"], read=True, list=True)
    sas_uri = f"{app.container_url(row['container'])}?{sas}"
    account = storage_account_arm_id()
    return json_response(
        200,
        {
            "blobReferenceForConsumption": {
                "blobUri": blob_uri,
                "storageAccountArmId": account,
                "credential": {"credentialType": "SAS", "sasUri": sas_uri},
            },
            # The shape azure-ai-projects' DatasetCredential requires.
            "blobReference": {
                "blobUri": blob_uri,
                "storageAccountArmId": account,
                "credential": {"type": "SAS", "sasUri": sas_uri},
            },
        },
    )
