"""Foundry project routes: upload slots (real SAS on Azurite), registration, update, deletion."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from sandbox_support import Api, Clock

BASE = "azureml://registries/azureml-fireworks/models/gpt-4o/versions/1"


def _slot(api: Api, name: str, version: str, upload_id: str | None = None) -> dict:
    body = {"pendingUploadType": "TemporaryBlobReference"}
    if upload_id:
        body["pendingUploadId"] = upload_id
    response = api.call("POST", f"{_base(api, name, version)}/startPendingUpload", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _base(api: Api, name: str, version: str) -> str:
    return f"{api.project}/models/{name}/versions/{version}"


def _register(api: Api, name: str, version: str, blob_uri: str, **extra):
    body = {"blobUri": blob_uri, "weightType": "FullWeight", **extra}
    if "baseModel" not in extra and "derivedModelInformation" not in extra:
        body["baseModel"] = BASE  # required unless DraftModel
    return api.call("POST", f"{_base(api, name, version)}/createAsync", json=body)


def test_upload_register_and_read_back(api: Api, unique) -> None:
    name = unique("m")
    slot = _slot(api, name, "1")
    ref = slot["blobReferenceForConsumption"]
    assert ref["credential"]["credentialType"] == "SAS"
    assert "?" not in ref["blobUri"]
    assert ref["blobUri"].startswith(api.info.blob_endpoint + "/upload-")
    assert ref["credential"]["sasUri"].startswith(ref["blobUri"] + "?")
    assert "sig=" in ref["credential"]["sasUri"]
    assert slot["pendingUploadType"] == "TemporaryBlobReference"
    assert slot["pendingUploadId"] and slot["temporaryDataReferenceId"]

    container = ContainerClient.from_container_url(ref["credential"]["sasUri"])
    weights = b"\x00\x01" * 5000
    container.upload_blob("model.safetensors", weights)
    manifest = {"files": [{"path": "model.safetensors", "size": len(weights)}]}
    container.upload_blob("azmodels-manifest.json", json.dumps(manifest).encode())
    assert sorted(b.name for b in container.list_blobs()) == [
        "azmodels-manifest.json",
        "model.safetensors",
    ]

    clock = Clock()
    accepted = _register(api, name, "1", ref["blobUri"], description="tiny", tags={"team": "nlp"})
    assert accepted.status_code == 202, accepted.text
    location = accepted.headers["Location"]
    # As on Azure: another origin (the operations listener), azd's path shape, and the spec's
    # body {location, operationResult}.
    main, ops = urlsplit(api.project), urlsplit(location)
    assert ops.hostname == main.hostname and ops.port != main.port
    assert (
        ops.path
        == f"{main.path}/models/{name}/versions/1/createAsync/operations/"
        + (ops.path.rsplit("/", 1)[1])
    )
    assert "api-version=" in location
    assert accepted.json() == {"location": location, "operationResult": None}
    assert "Operation-Location" not in accepted.headers
    first = api.call("GET", location, version="")
    assert first.status_code == 202  # the first poll moves the operation (azd follows it)
    moved = first.headers["Location"]
    assert urlsplit(moved).port == ops.port and moved != location
    model = api.call("GET", _base(api, name, "1")).json()
    if clock.before(0.5):
        assert api.call("GET", moved, version="").json()["status"] in ("NotStarted", "InProgress")
        assert model["provisioningState"] == "Creating"
    unauthenticated = api.call("GET", moved, version="", token=None)
    assert unauthenticated.status_code == 401  # the same bearer check as the main listener

    done = api.wait_operation(location)
    assert done["status"] == "Succeeded"
    assert done["result"]["name"] == name
    model = api.call("GET", _base(api, name, "1")).json()
    assert model["provisioningState"] == "Succeeded"
    assert (
        model["id"]
        == f"azureai://accounts/azmodels-sandbox/projects/sandbox-project/models/{name}/versions/1"
    )
    assert model["blobUri"] == ref["blobUri"]
    assert model["description"] == "tiny" and model["tags"] == {"team": "nlp"}
    assert model["weightType"] == "FullWeight"
    assert {"createdAt", "createdBy", "lastModifiedAt"} <= model["systemData"].keys()

    listed, _ = api.list_all(f"{api.project}/models")
    assert name in {m["name"] for m in listed}
    versions, _ = api.list_all(f"{api.project}/models/{name}/versions")
    assert [v["version"] for v in versions] == ["1"]

    slot = {"pendingUploadType": "TemporaryBlobReference"}
    again = api.call("POST", f"{_base(api, name, '1')}/startPendingUpload", json=slot)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ModelVersionExists"
    assert _register(api, name, "1", ref["blobUri"]).status_code == 409

    creds = api.credentials(name, "1").json()
    read = ContainerClient.from_container_url(
        creds["blobReferenceForConsumption"]["credential"]["sasUri"]
    )
    assert read.download_blob("model.safetensors").readall() == weights
    with pytest.raises(HttpResponseError):  # read credentials can't write
        read.upload_blob("extra.bin", b"x")


def test_latest_version_listed_and_versions_paged(api: Api, unique) -> None:
    name = unique("v")
    for version in ("1", "2", "10"):
        response = api.upload_model(name, version, {"w.bin": version.encode()})
        assert response.status_code == 202, response.text
        api.wait_operation(response.headers["Location"])
    listed, _ = api.list_all(f"{api.project}/models")
    mine = [m for m in listed if m["name"] == name]
    assert [m["version"] for m in mine] == ["10"]
    versions, _ = api.list_all(f"{api.project}/models/{name}/versions")
    assert [v["version"] for v in versions] == ["1", "2", "10"]


def test_resume_with_the_same_pending_upload_id(api: Api, unique) -> None:
    name = unique("r")
    first = _slot(api, name, "1", upload_id="resume-me")
    second = _slot(api, name, "1", upload_id="resume-me")
    uri = first["blobReferenceForConsumption"]["blobUri"]
    assert second["blobReferenceForConsumption"]["blobUri"] == uri
    assert second["pendingUploadId"] == "resume-me"
    other = _slot(api, name, "1")
    assert other["blobReferenceForConsumption"]["blobUri"] != uri


def test_upload_incomplete_is_refused(api: Api, unique) -> None:
    name = unique("inc")
    ref = _slot(api, name, "1")["blobReferenceForConsumption"]
    container = ContainerClient.from_container_url(ref["credential"]["sasUri"])

    # As on Azure, the weights are checked after the 202: the poll tells the failure.
    empty = _refused(api, _register(api, name, "1", ref["blobUri"]))
    assert empty["error"]["code"] == "UploadIncomplete"
    assert "no committed blob" in empty["error"]["message"]
    assert api.call("GET", _base(api, name, "1")).status_code == 404

    block = base64.b64encode(b"block-000").decode()
    container.get_blob_client("big.bin").stage_block(block, b"x" * 100)
    staged = _refused(api, _register(api, name, "1", ref["blobUri"]))
    assert staged["error"]["code"] == "UploadIncomplete"
    assert "big.bin" in staged["error"]["message"]

    container.get_blob_client("big.bin").commit_block_list([block])
    container.get_blob_client("big.bin").stage_block(base64.b64encode(b"block-001").decode(), b"y")
    partial = _refused(api, _register(api, name, "1", ref["blobUri"]))
    assert partial["error"]["code"] == "UploadIncomplete"
    assert "uncommitted" in partial["error"]["message"]

    container.get_blob_client("big.bin").commit_block_list([block])
    # The client's private manifest means nothing to the service (real Azure reads none): one
    # that names a missing file does not stop a registration of complete, committed blobs.
    manifest = {"files": [{"path": "big.bin", "size": 100}, {"path": "tok.json", "size": 3}]}
    container.upload_blob("azmodels-manifest.json", json.dumps(manifest).encode())
    ok = _register(api, name, "1", ref["blobUri"])
    assert ok.status_code == 202, ok.text
    assert api.wait_operation(ok.headers["Location"])["status"] == "Succeeded"
    assert api.call("GET", _base(api, name, "1")).status_code == 200


def _refused(api: Api, response: Any) -> dict[str, Any]:
    """The failed operation a registration of incomplete weights ends in."""
    assert response.status_code == 202, response.text
    assert response.json()["location"] == response.headers["Location"]
    assert response.headers["retry-after-ms"]
    done = api.wait_operation(response.headers["Location"])
    assert done["status"] == "Failed", done
    return done


def test_a_second_registration_while_the_first_is_checked_is_refused(api: Api, unique) -> None:
    name = unique("dup")
    ref = _slot(api, name, "1")["blobReferenceForConsumption"]
    container = ContainerClient.from_container_url(ref["credential"]["sasUri"])
    for i in range(200):  # enough blobs that the background check takes a while
        container.upload_blob(f"f{i}.bin", b"x")
    first = _register(api, name, "1", ref["blobUri"])
    second = _register(api, name, "1", ref["blobUri"])
    assert first.status_code == 202, first.text
    # While the first is still checked, or once it registered: a conflict either way.
    assert second.status_code == 409, second.text
    assert api.wait_operation(first.headers["Location"])["status"] == "Succeeded"


def test_register_refuses_foreign_blob_uri_and_unknown_base(api: Api, unique) -> None:
    name = unique("f")
    foreign = f"{api.info.blob_endpoint}/not-handed-out"
    response = _register(api, name, "1", foreign)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UploadIncomplete"
    ok = api.upload_model(name, "1", {"w.bin": b"1"})
    api.wait_operation(ok.headers["Location"])
    ref_uri = api.call("GET", _base(api, name, "1")).json()["blobUri"]
    bad_base = _register(
        api, name, "2", ref_uri, derivedModelInformation={"baseModel": "no-such-base"}
    )
    assert bad_base.status_code == 400
    assert bad_base.json()["error"]["code"] == "BaseModelNotFound"
    good_base = _register(
        api, name, "2", ref_uri, weightType="LoRA", derivedModelInformation={"baseModel": "gpt-4o"}
    )
    assert good_base.status_code == 202, good_base.text
    done = api.wait_operation(good_base.headers["Location"])
    assert done["result"]["baseModel"] == "gpt-4o"
    assert done["result"]["weightType"] == "LoRA"


@pytest.mark.parametrize("name", ["1abc", "a", "has_underscore", "x" * 31])
def test_invalid_model_names(api: Api, name: str) -> None:
    slot = {"pendingUploadType": "TemporaryBlobReference"}
    response = api.call("POST", f"{_base(api, name, '1')}/startPendingUpload", json=slot)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "InvalidModelName"


def test_patch_tags_merge_and_delete(api: Api, unique, spec_log) -> None:
    name = unique("p")
    created = api.upload_model(name, "1", {"w.bin": b"w"}, tags={"a": "1", "b": "2"})
    api.wait_operation(created.headers["Location"])
    url = _base(api, name, "1")
    merge = {"Content-Type": "application/merge-patch+json"}
    patch = {"description": "new", "tags": {"b": None, "c": "3"}}
    response = api.call("PATCH", url, data=json.dumps(patch), headers=merge)
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == {"a": "1", "c": "3"}
    assert response.json()["description"] == "new"
    assert api.call("GET", url).json()["tags"] == {"a": "1", "c": "3"}
    wrong_type = api.call("PATCH", url, json=patch)
    assert wrong_type.status_code == 415

    blob_uri = api.call("GET", url).json()["blobUri"]
    # ModelCredentialRequest's blobUri is required (spec, SDK 2.10): one clear 400 without it
    # (the spec check answers before the route; both name what is missing).
    with spec_log.expected() as logged:
        for body in (None, {}, {"blobUri": ""}, {"blobUri": 3}):
            refused = api.call("POST", f"{url}/credentials", json=body)
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["code"] == "InvalidRequestContent"
            message = refused.json()["error"]["message"]
            assert "blobUri" in message or "body is required" in message, message
    assert logged  # the spec refused some of them itself
    other = api.call("POST", f"{url}/credentials", json={"blobUri": blob_uri + "-other"})
    assert other.status_code == 400
    creds = api.credentials(name, "1").json()["blobReferenceForConsumption"]
    # Read and list only: the weights cannot be changed or removed through it.
    reader = ContainerClient.from_container_url(creds["credential"]["sasUri"])
    assert [b.name for b in reader.list_blobs()] == ["w.bin"]
    with pytest.raises(HttpResponseError):
        reader.delete_blob("w.bin")
    with pytest.raises(HttpResponseError):
        reader.upload_blob("w.bin", b"changed", overwrite=True)
    assert api.call("DELETE", url).status_code == 200
    missing = api.call("GET", url)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    assert api.call("DELETE", url).status_code == 200  # absent too (SDK 2.10: 200 only)
    gone = api.call("POST", f"{url}/credentials", json={"blobUri": blob_uri})
    assert gone.status_code == 404
    # Deleting the registration keeps the weights.
    assert reader.download_blob("w.bin").readall() == b"w"


def test_reader_token_cannot_write_models(api: Api, unique) -> None:
    assert api.call("GET", f"{api.project}/models", token="reader").status_code == 200
    url = f"{_base(api, unique('ro'), '1')}/startPendingUpload"
    response = api.call("POST", url, token="reader", json={})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "AuthorizationFailed"
    assert "models/write" in error["message"]


def test_wrong_project_is_404(api: Api) -> None:
    url = api.project.replace("sandbox-project", "other-project") + "/models"
    response = api.call("GET", url, version="v1")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NotFound"


def test_custom_model_deployment(api: Api, unique) -> None:
    """As strict as the evidence (EVIDENCE.md section 4: azd PR 7283 and a hands-on report): a
    custom format with model.source = the project, GlobalProvisionedManaged from 80 in steps of
    40 (gpt-oss-120b's PTU minimum and increment), drawing on the Fireworks PTU usage."""
    name = unique("cm")
    clock = Clock()
    created = api.upload_model(name, "1", {"w.bin": b"w"})
    source = (
        f"/subscriptions/{api.info.subscription_id}/resourceGroups/{api.info.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{api.info.account}"
        f"/projects/{api.info.project}"
    )
    model = {"format": "FireworksCustom", "name": name, "version": "1", "source": source}
    ptu = "GlobalProvisionedManaged"
    early = api.deploy(unique("cd"), model, ptu, 80)
    if clock.before(0.5):  # the model is still Creating
        assert early.status_code == 400
        assert early.json()["error"]["code"] == "DeploymentModelNotFound"
    elif early.status_code == 201:
        api.call("DELETE", f"{api.deployments}/{early.json()['name']}")
    api.wait_operation(created.headers["Location"])

    def refused(response, code: str, *words: str) -> None:
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert all(w in error["message"] for w in words), error["message"]

    refused(api.deploy(unique("cd"), model, "GlobalStandard", 1), "InvalidResourceProperties",
            "GlobalStandard", ptu)  # fmt: skip
    refused(api.deploy(unique("cd"), model, "ProvisionedManaged", 80), "InvalidResourceProperties")
    refused(api.deploy(unique("cd"), model, ptu, 40), "InvalidCapacity", "80", "40")
    refused(api.deploy(unique("cd"), model, ptu, 100), "InvalidCapacity")
    for fmt in ("Custom", "OpenAI", "Fireworks"):  # not a custom format: refused
        refused(api.deploy(unique("cd"), {**model, "format": fmt}, ptu, 80),
                "InvalidResourceProperties", fmt)  # fmt: skip
    no_source = {k: v for k, v in model.items() if k != "source"}
    refused(api.deploy(unique("cd"), no_source, ptu, 80), "InvalidResourceProperties", "source")
    refused(api.deploy(unique("cd"), {**model, "source": source + "x"}, ptu, 80),
            "InvalidResourceProperties")  # fmt: skip
    refused(api.deploy(unique("cd"), {**model, "version": "9"}, ptu, 80), "DeploymentModelNotFound")
    # Its default limit (400) holds five of these; a sixth asks for more than is left.
    refused(api.deploy(unique("cd"), model, ptu, 440), "InsufficientQuota",
            "AIServices.GlobalProvisionedManaged.Fireworks")  # fmt: skip

    deployment = unique("cd")
    ok = api.deploy(deployment, {**model, "format": "SafetensorsCustom"}, ptu)
    assert ok.status_code == 201, ok.text
    assert ok.json()["sku"] == {"name": ptu, "capacity": 80}
    done = api.wait_deployment(deployment)
    assert done["properties"]["capabilities"] == {"chatCompletion": "true"}
    assert done["properties"]["model"]["source"] == source
    usage = "AIServices.GlobalProvisionedManaged.Fireworks"
    where = f"{api.sub}/providers/Microsoft.CognitiveServices/locations/{api.info.location}"
    items = api.call("GET", f"{where}/usages", params={"$filter": f"name.value eq '{usage}'"})
    items = items.json()["value"]
    localized = "Global Provisioned Managed Throughput Unit - Fireworks"
    assert [(i["name"], i["unit"]) for i in items] == [
        ({"value": usage, "localizedValue": localized}, "Count")
    ]
    assert (items[0]["currentValue"], items[0]["limit"]) == (80, 400)
    api.call("DELETE", f"{api.deployments}/{deployment}")


def test_uncommitted_blocks_are_found_under_odd_blob_names(api: Api, unique) -> None:
    name = unique("odd")
    ref = _slot(api, name, "1")["blobReferenceForConsumption"]
    container = ContainerClient.from_container_url(ref["credential"]["sasUri"])
    odd = "sub dir/ä b#1?%20&x=1.bin"
    for i in range(30):
        container.upload_blob(f"plain/{i}.bin", b"x")
    blob = container.get_blob_client(odd)
    first = base64.b64encode(b"block-000").decode()
    blob.stage_block(first, b"x" * 10)
    blob.commit_block_list([first])
    blob.stage_block(base64.b64encode(b"block-001").decode(), b"y")
    partial = _refused(api, _register(api, name, "1", ref["blobUri"]))
    assert odd in partial["error"]["message"] and "1 uncommitted" in partial["error"]["message"]
    blob.commit_block_list([first])
    ok = _register(api, name, "1", ref["blobUri"])
    assert api.wait_operation(ok.headers["Location"])["status"] == "Succeeded"


@pytest.mark.parametrize(
    ("files", "profile", "codes"),
    [
        ({"pytorch_model.bin": b"\x80\x02}q\x00."}, {"category": "RuntimeDependent",
          "signals": ["PickleDeserialization"]}, ["RuntimeDependentArtifact"]),
        ({"w.safetensors": b"x", "modeling_x.py": b"import os"}, {"category": "RuntimeDependent",
          "signals": ["CustomPythonCode"]}, ["RuntimeDependentArtifact"]),
        ({"w.safetensors": b"x", "m.gguf": b"g", "m.onnx": b"o", "config.json": b"{}"},
         {"category": "DataOnly"}, []),
    ],
    ids=["pickle", "python", "data-only"],
)  # fmt: skip
def test_the_artifact_profile_and_warnings_say_what_the_files_need(
    api: Api, unique, files, profile, codes
) -> None:
    name = unique("art")
    accepted = api.upload_model(name, "1", files)
    assert api.wait_operation(accepted.headers["Location"])["status"] == "Succeeded"
    body = api.call("GET", _base(api, name, "1")).json()
    assert body["artifactProfile"] == profile
    assert [w["code"] for w in body["warnings"]] == codes
    assert all(w["message"] for w in body["warnings"])
