"""Foundry project routes: upload slots (real SAS on Azurite), registration, update, deletion."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import ContainerClient
from sandbox_support import Api, Clock


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
    assert location.startswith(f"{api.project}/operations/")
    assert "api-version=" in location
    first = api.call("GET", location, version="").json()
    model = api.call("GET", _base(api, name, "1")).json()
    if clock.before(0.5):
        assert first["status"] in ("NotStarted", "InProgress")
        assert model["provisioningState"] == "Creating"

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

    creds = api.credentials(_base(api, name, "1"), ref["blobUri"]).json()
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
    assert response.json()["status"] == "InProgress"
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


def test_patch_tags_merge_and_delete(api: Api, unique) -> None:
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

    creds = api.credentials(url).json()["blobReferenceForConsumption"]
    assert api.call("DELETE", url).status_code == 200
    missing = api.call("GET", url)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NotFound"
    assert api.call("DELETE", url).status_code == 204
    assert api.credentials(url).status_code == 404
    # Deleting the registration keeps the weights (the client deletes them with the SAS).
    container = ContainerClient.from_container_url(creds["credential"]["sasUri"])
    assert container.download_blob("w.bin").readall() == b"w"
    container.delete_blob("w.bin")
    assert list(container.list_blobs()) == []


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
    name = unique("cm")
    clock = Clock()
    created = api.upload_model(name, "1", {"w.bin": b"w"})
    source = (
        f"/subscriptions/{api.info.subscription_id}/resourceGroups/{api.info.resource_group}"
        f"/providers/Microsoft.CognitiveServices/accounts/{api.info.account}"
        f"/projects/{api.info.project}"
    )
    model = {"format": "FireworksCustom", "name": name, "version": "1", "source": source}
    early = api.deploy(unique("cd"), model, "GlobalStandard", 1)
    if clock.before(0.5):  # the model is still Creating
        assert early.status_code == 400
        assert early.json()["error"]["code"] == "DeploymentModelNotFound"
    elif early.status_code == 201:
        api.call("DELETE", f"{api.deployments}/{early.json()['name']}")
    api.wait_operation(created.headers["Location"])
    too_big = api.deploy(unique("cd"), model, "ProvisionedManaged", 11)
    assert too_big.json()["error"]["code"] == "InvalidCapacity"
    wrong_source = api.deploy(unique("cd"), {**model, "source": source + "x"}, "GlobalStandard")
    assert wrong_source.json()["error"]["code"] == "InvalidResourceProperties"
    absent = api.deploy(unique("cd"), {**model, "version": "9"}, "GlobalStandard", 1)
    assert absent.json()["error"]["code"] == "DeploymentModelNotFound"
    deployment = unique("cd")
    ok = api.deploy(deployment, model, "GlobalStandard")
    assert ok.status_code == 201, ok.text
    assert ok.json()["sku"]["capacity"] == 1
    done = api.wait_deployment(deployment)
    assert done["properties"]["capabilities"] == {"chatCompletion": "true"}
    assert done["properties"]["model"]["source"] == source
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
