"""Import from where the weights already are (issue 19), against a sandbox whose blob endpoint
counts what clients send to storage (`--count-storage-traffic`): `upload --source hf://...`, an
Azure blob URL with a read SAS, and an https file URL register a model whose stored bytes equal
the source's, with no weight byte sent by the client (counted at the sandbox); the SHA-256 on
the model is the one the source declares, said to be declared, or computed with --verify."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Iterator

import pytest
import requests
from azmodels_support import start_app
from services_support import registered, stored_files, stored_metadata

from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.sandbox.azurite import DEV_ACCOUNT
from azmodels_magic.sandbox.protocol import STORAGE_TRAFFIC_PATH

pytest.importorskip("huggingface_hub")
HUB_REPO = "sandbox-org/tiny-chat"
TENSORS = {"lm_head.weight": ("F32", (400, 1000)), "norm.weight": ("F16", (1000,))}


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Iterator:
    """A sandbox counting storage traffic, the hub selected with HF_ENDPOINT (no token)."""
    az = start_app(extra_args=["--count-storage-traffic"])
    saved = {k: os.environ.get(k) for k in ("HF_ENDPOINT", "HF_HOME", "HF_TOKEN")}
    os.environ["HF_ENDPOINT"] = az.sandbox_info.arm_endpoint
    os.environ["HF_HOME"] = str(tmp_path_factory.mktemp("hf"))
    os.environ.pop("HF_TOKEN", None)
    az.uploads.block_size, az.uploads.workers = 256 * 1024, 2
    try:
        yield az
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        az.close()


def traffic(app) -> dict:
    response = requests.get(f"{app.sandbox_info.arm_endpoint}{STORAGE_TRAFFIC_PATH}", timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def weight_bodies(before: dict, after: dict, blob: str) -> list[int]:
    """Body bytes of every PUT the client sent to a blob named `blob` between two counts."""
    return [
        r["bodyBytes"]
        for r in after["value"][len(before["value"]) :]
        if r["method"] == "PUT" and r["path"].endswith(f"/{blob}")
    ]


def assert_no_weight_bytes(bodies: list[int], size: int) -> None:
    """The only PUT with a body to the weights blob is the commit's block list (a few dozen
    bytes per block id), never the weights: the blocks were staged from the source's URL."""
    assert bodies, "nothing was sent to the weights blob at all"
    with_body = [b for b in bodies if b]
    assert len(with_body) == 1, bodies  # Put Block List; every Put Block From URL has none
    assert with_body[0] < 1000 < size


def service(app):
    from azure.storage.blob import BlobServiceClient

    info = app.sandbox_info
    return BlobServiceClient(
        info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": info.storage_key},
    )


def hub_bytes(app) -> dict[str, bytes]:
    """The hub container's blobs of the public repository, by sha256 (what the hub serves)."""
    container = service(app).get_container_client("hub")
    return {
        b.name.rsplit("/", 1)[1]: container.download_blob(b.name).readall()
        for b in container.list_blobs(name_starts_with=f"{HUB_REPO}/")
    }


def source_blob(app, tmp_path, container: str, *, sha256: bool) -> tuple[str, bytes]:
    """A safetensors blob in the sandbox's storage (its sha256 in metadata when asked) and a
    read SAS URL of it."""
    from azure.storage.blob import BlobSasPermissions, generate_blob_sas

    data = write_safetensors(tmp_path / "model.safetensors", TENSORS, seed=11).read_bytes()
    client = service(app).get_container_client(container)
    client.create_container()
    metadata = {"sha256": hashlib.sha256(data).hexdigest()} if sha256 else None
    client.upload_blob("model.safetensors", data, metadata=metadata)
    sas = generate_blob_sas(
        DEV_ACCOUNT, container, "model.safetensors", account_key=app.sandbox_info.storage_key,
        permission=BlobSasPermissions(read=True),
        expiry=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
    )  # fmt: skip
    return f"{app.sandbox_info.blob_endpoint}/{container}/model.safetensors?{sas}", data


def upload(app, source: str, name: str, *extra: str):
    return app.execute(
        ["upload", "--base-model", "gpt-4o", "--source", source, "--name", name, *extra]
    )


def test_a_hub_repository_is_copied_server_side_with_its_declared_sha256(app) -> None:
    before = traffic(app)
    outcome = upload(app, f"hf://{HUB_REPO}", "from-hub")
    after = traffic(app)
    hub = hub_bytes(app)
    weights = max(hub.values(), key=len)  # the LFS file; the rest are small git files
    digest = hashlib.sha256(weights).hexdigest()
    stored = stored_files(app, "from-hub", "1")
    assert stored["model.safetensors"] == weights
    # every file of the repository but .gitattributes (hidden, as in a local folder)
    assert len(hub) == 4 and ".gitattributes" not in stored
    assert {hashlib.sha256(v).hexdigest() for v in stored.values()} < set(hub)
    assert sorted(stored) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert_no_weight_bytes(weight_bodies(before, after, "model.safetensors"), len(weights))
    # What went through this machine: the small git files only.
    others = sum(len(v) for k, v in stored.items() if k != "model.safetensors")
    assert after["bodyBytes"] - before["bodyBytes"] < others + 1000
    metadata = stored_metadata(app, "from-hub", "1")["model.safetensors"]
    assert (metadata["sha256"], metadata["sha256_basis"]) == (digest, "declared")
    tags = registered(app, "from-hub", "1")["tags"]
    assert tags["azmodels.sha256_basis"] == "declared"
    assert tags["azmodels.format"] == "safetensors"
    assert "copied server side from hf://sandbox-org/tiny-chat@" in outcome.message
    assert "declared by the source, not computed" in outcome.message
    report = outcome.value
    assert report.sha256_declared == ["model.safetensors"] and report.bytes_sent == others
    card = app.execute(["show", "from-hub", "--version", "1"]).value
    files = {f.path: f for f in card.files}
    assert files["model.safetensors"].sha256_basis == "declared"
    assert files["config.json"].sha256_basis == "computed"
    as_json = card.to_dict()["files"]
    assert {f["path"]: f["sha256_basis"] for f in as_json}["model.safetensors"] == "declared"


def test_a_dry_run_shows_the_copy_plan_and_the_declared_digests_without_a_slot(app) -> None:
    containers = {c.name for c in service(app).list_containers()}
    plan = upload(app, f"hf://{HUB_REPO}", "hub-plan", "--dry-run").value
    rows = dict(plan.rows())
    assert rows["Copy"].startswith("1 of 3 files copied by storage")
    assert "(declared)" in rows["  model.safetensors"]
    assert rows["Source"].startswith(f"hf://{HUB_REPO}@")
    assert {c.name for c in service(app).list_containers()} == containers
    assert registered(app, "hub-plan", "1") is None


def test_verify_streams_the_stored_bytes_back_and_records_the_computed_sha256(app) -> None:
    outcome = upload(app, f"hf://{HUB_REPO}", "hub-verified", "--verify")
    stored = stored_files(app, "hub-verified", "1")
    metadata = stored_metadata(app, "hub-verified", "1")
    for path, data in stored.items():
        assert metadata[path]["sha256"] == hashlib.sha256(data).hexdigest()
        assert metadata[path]["sha256_basis"] == "computed"
    assert registered(app, "hub-verified", "1")["tags"]["azmodels.sha256_basis"] == "computed"
    assert "SHA-256 computed from the bytes" in outcome.message
    assert outcome.value.sha256_declared == []


def test_a_blob_with_a_read_sas_is_copied_with_no_weight_byte_through_the_client(
    app, tmp_path
) -> None:
    url, data = source_blob(app, tmp_path, "elsewhere", sha256=True)
    before = traffic(app)
    outcome = upload(app, url, "from-blob")
    after = traffic(app)
    assert stored_files(app, "from-blob", "1") == {"model.safetensors": data}
    assert_no_weight_bytes(weight_bodies(before, after, "model.safetensors"), len(data))
    assert after["bodyBytes"] - before["bodyBytes"] < 1000  # the commit only
    tags = registered(app, "from-blob", "1")["tags"]
    assert tags["azmodels.sha256"] == hashlib.sha256(data).hexdigest()
    assert tags["azmodels.sha256_basis"] == "declared"
    assert "sig=" not in outcome.message and "?" not in outcome.value.plan.info.source.display


def test_an_https_file_url_is_copied_and_no_digest_is_claimed_without_verify(app) -> None:
    # The hub's resolve URL of the weights: one file behind a redirect to a pre-signed URL.
    url = f"{app.sandbox_info.arm_endpoint}/{HUB_REPO}/resolve/main/model.safetensors"
    before = traffic(app)
    outcome = upload(app, url, "from-url")
    after = traffic(app)
    weights = stored_files(app, "from-url", "1")["model.safetensors"]
    assert hashlib.sha256(weights).hexdigest() in hub_bytes(app)
    assert_no_weight_bytes(weight_bodies(before, after, "model.safetensors"), len(weights))
    tags = registered(app, "from-url", "1")["tags"]
    assert "azmodels.sha256" not in tags  # nobody declared one, nobody computed one
    assert "sha256" not in stored_metadata(app, "from-url", "1")["model.safetensors"]
    assert "1 file without a SHA-256 (none declared)" in outcome.message
    verified = upload(app, url, "from-url", "--version", "2", "--verify")
    tags = registered(app, "from-url", "2")["tags"]
    assert tags["azmodels.sha256"] == hashlib.sha256(weights).hexdigest()
    assert tags["azmodels.sha256_basis"] == "computed"
    assert "SHA-256 computed" in verified.message


def test_an_interrupted_copy_stops_staging_and_the_same_upload_resumes_it(app, tmp_path) -> None:
    """Ctrl-C (here: raised from the progress callback) stops the blocks not started yet; the
    staged ones stay for the next run, which copies only the rest."""
    from azmodels_magic.uploadstate import UploadJournal

    url, data = source_blob(app, tmp_path, "interrupted-source", sha256=False)
    blocks = -(-len(data) // (256 * 1024))

    class Interrupt:
        def start(self, total: int) -> None:
            pass

        def skip(self, nbytes: int) -> None:
            pass

        def update(self, nbytes: int) -> None:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        app.uploads.upload(
            source=url, name="interrupted", base_model="gpt-4o", progress=Interrupt()
        )
    journal = UploadJournal.load(app.uploads.key("interrupted", "1"))
    container = journal.container_url.rstrip("/").rsplit("/", 1)[1]
    target = service(app).get_container_client(container).get_blob_client("model.safetensors")
    committed, staged = target.get_block_list("all")
    assert committed == [] and 1 <= len(staged) < blocks  # the blocks in flight, not the rest
    report = app.uploads.upload(source=url, name="interrupted", base_model="gpt-4o")
    assert report.bytes_skipped == sum(b.size for b in staged)
    assert stored_files(app, "interrupted", "1") == {"model.safetensors": data}


def test_the_custom_models_frame_says_how_each_sha256_is_known(app) -> None:
    import pandas as pd

    rows = {r["name"]: r for r in app.list_models(type="custom").to_dict("records")}
    assert rows["from-hub"]["sha256_basis"] == "declared"
    assert rows["from-blob"]["sha256_basis"] == "declared"
    assert rows["hub-verified"]["sha256_basis"] == "computed"
    # nothing declared, nothing computed: no digest, and no basis for one
    assert pd.isna(rows["interrupted"]["sha256"]) and pd.isna(rows["interrupted"]["sha256_basis"])
    assert str(rows["from-url"]["version"]) == "2"  # the latest: verified
    tags = registered(app, "from-url", "2")["tags"]
    assert rows["from-url"]["sha256"] == tags["azmodels.sha256"]
    assert rows["from-url"]["sha256_basis"] == "computed"


def test_a_gated_repository_imports_with_the_hubs_token_which_storage_never_sees(app) -> None:
    token = app.sandbox_info.hub_token
    os.environ["HF_TOKEN"] = token
    try:
        outcome = upload(app, "hf://sandbox-org/gated-chat", "from-gated")
    finally:
        os.environ.pop("HF_TOKEN", None)
    stored = stored_files(app, "from-gated", "1")
    assert hashlib.sha256(stored["model.safetensors"]).hexdigest() in hub_bytes(app)
    assert token not in outcome.message + repr(outcome.value)
    journal = app.uploads.journals("from-gated")[0]
    assert token not in journal.source


def test_verify_refuses_bytes_that_are_not_what_the_source_declared(app, tmp_path) -> None:
    """A blob whose metadata declares a SHA-256 its bytes do not have: without --verify that is
    recorded as what it is, declared; --verify computes the real one and registers nothing."""
    from azmodels_magic.errors import UploadError

    url, data = source_blob(app, tmp_path, "lying-source", sha256=False)
    wrong = "0" * 64
    blob = service(app).get_container_client("lying-source").get_blob_client("model.safetensors")
    blob.set_blob_metadata({"sha256": wrong})
    with pytest.raises(UploadError) as caught:
        upload(app, url, "lying", "--verify")
    line = str(caught.value)
    assert "another SHA-256 than was declared" in line and "nothing was registered" in line
    assert "\n" not in line and registered(app, "lying", "1") is None
    upload(app, url, "lying-unverified")
    tags = registered(app, "lying-unverified", "1")["tags"]
    assert (tags["azmodels.sha256"], tags["azmodels.sha256_basis"]) == (wrong, "declared")
    assert hashlib.sha256(data).hexdigest() != wrong


def test_the_python_api_takes_a_remote_source_and_its_summary_says_what_was_verified(app) -> None:
    report = app.uploads.upload(
        source=f"hf://{HUB_REPO}", name="api-import", base_model="gpt-4o", verify=False
    )
    text = report.summary()
    assert text.startswith("Copied 3 files (") and "server side from hf://" in text, text
    assert "SHA-256 of 1 file declared by the source, not computed" in text, text
    assert report.model.name == "api-import" and report.sha256_declared == ["model.safetensors"]


def test_an_import_replaces_a_registered_version_with_overwrite(app, tmp_path) -> None:
    url, data = source_blob(app, tmp_path, "replaced-source", sha256=True)
    upload(app, url, "replaced")
    outcome = upload(app, f"hf://{HUB_REPO}", "replaced", "--overwrite")
    stored = stored_files(app, "replaced", "1")
    assert sorted(stored) == ["config.json", "model.safetensors", "tokenizer.json"]
    assert stored["model.safetensors"] != data
    tags = registered(app, "replaced", "1")["tags"]
    assert tags["azmodels.sha256_basis"] == "declared" and tags["azmodels.files"] == "3"
    assert "Model registered: replaced version 1" in outcome.message
