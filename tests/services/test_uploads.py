"""Upload and register against the sandbox and real Azurite: single file, many blocks, a folder,
byte-exact content, dry runs, every bad input, --overwrite, --base-model, and the uploads
commands after a registration that failed."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from services_support import (
    container_name,
    dev_blobs,
    journal_of,
    register_directly,
    registered,
    registry,
    sha256_bytes,
    sha256_file,
    source_digests,
    stored_files,
    stored_metadata,
)

from azmodels_magic.errors import (
    AzModelsError,
    ConflictError,
    UsageError,
    ValidationError,
)
from azmodels_magic.presentation.cards import card_for
from azmodels_magic.sample_weights import (
    llama_tensors,
    make_model_folder,
    write_gguf,
    write_safetensors,
)

KIB = 1024


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def check_stored(app, name: str, version: str, source: Path) -> dict[str, dict[str, str]]:
    """Storage holds exactly the source's files, byte for byte, each with its SHA-256 and size
    as metadata; the azmodels.sha256 tag agrees. Returns the blobs' metadata."""
    expected = source_digests(source)
    stored = stored_files(app, name, version)
    assert {k: sha256_bytes(v) for k, v in stored.items()} == expected  # nothing of ours
    metadata = stored_metadata(app, name, version)
    assert {k: m["sha256"] for k, m in metadata.items()} == expected
    assert {k: int(m["size"]) for k, m in metadata.items()} == {
        k: len(v) for k, v in stored.items()
    }
    tags = registered(app, name, version)["tags"]
    if len(expected) == 1:
        tree = next(iter(expected.values()))
    else:  # sha256sum's "digest  path" lines, sorted by path
        lines = "".join(f"{sha}  {path}\n" for path, sha in sorted(expected.items()))
        tree = hashlib.sha256(lines.encode()).hexdigest()
    assert tags["azmodels.sha256"] == tree
    assert tags["azmodels.files"] == str(len(expected))
    assert tags["azmodels.size"] == str(sum(len(v) for v in stored.values()))
    return metadata


@pytest.fixture
def small_blocks(app):
    """Uploads in 256 KiB blocks with 2 workers, restored afterwards."""
    before = (app.uploads.block_size, app.uploads.workers)
    app.uploads.block_size, app.uploads.workers = 256 * KIB, 2
    yield
    app.uploads.block_size, app.uploads.workers = before


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    return write_safetensors(tmp_path / "tiny.safetensors", llama_tensors(hidden_size=32), seed=3)


# -- what goes up -----------------------------------------------------------------------------


def test_single_file_is_stored_byte_exact_and_registered(app, weights: Path):
    before = registry(app)
    outcome = app.execute(
        "upload --base-model gpt-4o "
        f"--source {weights} --name single-file --description 'one file' "
        "--tags team=nlp stage=dev"
    )
    report = outcome.value
    size = weights.stat().st_size
    assert re.fullmatch(
        r"✓ Upload complete: 1 file \(\d+\.\d KB\) in \d+\.\d s at .+/s\n"
        r"✓ Model registered: single-file version 1\nNext steps\n.*",
        outcome.message,
        re.DOTALL,
    ), outcome.message
    assert (report.bytes_sent, report.bytes_skipped) == (size, 0)
    assert report.sha256 == {"tiny.safetensors": sha256_file(weights)}
    assert registry(app) == sorted([*before, ("single-file", "1")])

    body = registered(app, "single-file", "1")
    assert body["description"] == "one file"
    assert body["weightType"] == "FullWeight"
    assert body["tags"]["team"] == "nlp" and body["tags"]["stage"] == "dev"
    assert body["tags"]["azmodels.format"] == "safetensors"
    assert body["tags"]["azmodels.parameter_count"] == str(
        2 * 128 * 32 + 2 * (4 * 32 * 32 + 32) + 32
    )
    check_stored(app, "single-file", "1", weights)
    assert journal_of(app, "single-file", "1").status == "registered"


def test_multi_block_file_is_committed_in_blocks_and_byte_exact(app, tmp_path, small_blocks):
    from azure.storage.blob import BlobClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    source = write_safetensors(tmp_path / "blocks.safetensors", {"w": ("U8", (1_100_000,))})
    size = source.stat().st_size
    plan = app.execute(
        f"upload --base-model gpt-4o --source {source} --name multi-block --dry-run"
    ).value
    assert plan.blocks == 5 and plan.block_size == 256 * KIB
    assert ("Block plan", "5 blocks of up to 262.1 KB, 2 in parallel") in plan.rows()

    report = app.execute(f"upload --base-model gpt-4o --source {source} --name multi-block").value
    assert report.bytes_sent == size
    check_stored(app, "multi-block", "1", source)
    blob = BlobClient(
        app.sandbox_info.blob_endpoint,
        container_name(report.model.blob_uri),
        "blocks.safetensors",
        credential={"account_name": DEV_ACCOUNT, "account_key": app.sandbox_info.storage_key},
    )
    with blob:
        committed, uncommitted = blob.get_block_list("all")
    assert [b.size for b in committed] == [256 * KIB] * 4 + [size - 4 * 256 * KIB]
    assert uncommitted == []


def test_folder_uploads_every_file_under_one_registration(app, tmp_path):
    folder = make_model_folder(tmp_path / "tiny-llama", shards=3)
    (folder / "extra").mkdir()
    (folder / "extra" / "generation_config.json").write_text('{"max_new_tokens": 8}')
    (folder / ".cache").mkdir()
    (folder / ".cache" / "ignored.txt").write_text("hidden folders are skipped")
    expected = {k: v for k, v in source_digests(folder).items() if not k.startswith(".")}
    assert len(expected) == 8  # 3 shards, index, config, 2 tokenizer files, nested extra

    before = registry(app)
    report = app.execute(
        f"upload --base-model gpt-4o --source {folder} --name folder-model --version 2.0"
    ).value
    assert report.sha256 == expected
    assert registry(app) == sorted([*before, ("folder-model", "2.0")])
    (folder / ".cache" / "ignored.txt").unlink()
    (folder / ".cache").rmdir()
    check_stored(app, "folder-model", "2.0", folder)

    tags = registered(app, "folder-model", "2.0")["tags"]
    assert tags["azmodels.architectures"] == "LlamaForCausalLM"
    assert tags["azmodels.dtypes"] == "F16"
    details = app.execute("show folder-model").value
    assert details.model.version == "2.0" and details.model.format == "safetensors"
    assert details.weights["files"] == "8"
    assert details.to_dict()["size"] == sum(
        p.stat().st_size for p in folder.rglob("*") if p.is_file()
    )


def test_gguf_metadata_is_read_and_recorded(app, tmp_path):
    source = write_gguf(tmp_path / "tiny.gguf", architecture="llama", context_length=2048)
    plan = app.execute(
        f"upload --base-model gpt-4o --source {source} --name tiny-gguf --format gguf --dry-run"
    ).value
    assert plan.info.format == "gguf"
    assert plan.info.details["architecture"] == "llama"
    app.execute(
        f"upload --base-model gpt-4o --source {source} --name tiny-gguf --format gguf --no-progress"
    )
    tags = registered(app, "tiny-gguf", "1")["tags"]
    assert tags["azmodels.format"] == "gguf"
    assert tags["azmodels.architecture"] == "llama"
    assert tags["azmodels.context_length"] == "2048"
    assert tags["azmodels.quantization"] == plan.info.details["quantization"]
    check_stored(app, "tiny-gguf", "1", source)
    # The Python API.
    report = app.uploads.upload(
        base_model="gpt-4o", source=str(source), name="tiny-gguf", version="2", progress=False
    )
    assert report.model.version == "2" and registered(app, "tiny-gguf", "2") is not None


# -- dry run ------------------------------------------------------------------------------------


def test_dry_run_shows_the_plan_and_changes_nothing(app, tmp_path, weights):
    from azmodels_magic.uploadstate import uploads_dir

    if registered(app, "single-file", "1") is None:  # when run alone
        app.execute(f"upload --base-model gpt-4o --source {weights} --name single-file")
    before = registry(app)
    journals = sorted(uploads_dir().glob("*.json")) if uploads_dir().is_dir() else []
    outcome = app.execute(
        "upload --base-model gpt-4o "
        f"--source {weights} --name dry-model --version 3 --tags a=b --dry-run"
    )
    plan = outcome.value
    assert outcome.message == "Dry run: nothing was uploaded or registered."
    rows = dict(plan.rows())
    assert rows["Model"] == "dry-model version 3"
    assert rows["Target"].endswith("/models/dry-model/versions/3")
    assert rows["Format"] == "safetensors"
    assert rows["Files"].startswith("1 (")
    from azmodels_magic.clients.blob import default_block_size, default_workers
    from azmodels_magic.sizes import human_size

    block = human_size(default_block_size(default_workers()))
    assert rows["Block plan"] == f"1 block of up to {block}, {default_workers()} in parallel"
    assert "parameters (F16)" in rows["Weights"]
    card = card_for(plan)
    assert "Nothing was changed" in card.text() and "Nothing was changed" in card.html()
    assert registry(app) == before
    assert registered(app, "dry-model", "3") is None
    assert journal_of(app, "dry-model", "3") is None
    now = sorted(uploads_dir().glob("*.json")) if uploads_dir().is_dir() else []
    assert now == journals

    # A dry run checks what the real run would: an existing version, a missing base model.
    with pytest.raises(ConflictError, match="already exists"):
        app.execute(f"upload --base-model gpt-4o --source {weights} --name single-file --dry-run")
    plan = app.execute(
        f"upload --base-model gpt-4o --source {weights} --name single-file --overwrite --dry-run"
    ).value
    assert plan.replaces and ("Replaces", "the existing version 1") in plan.rows()
    with pytest.raises(ValidationError, match="BaseModelNotFound"):
        app.execute(f"upload --source {weights} --name dry-model --base-model nope-x --dry-run")
    assert registry(app) == before


# -- bad input ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bad_sources(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bad")
    (root / "empty").mkdir()
    (root / "junk.bin").write_bytes(b"not a model at all " * 64)
    (root / "hidden-only").mkdir()
    (root / "hidden-only" / ".secret").write_text("x")
    return {
        "ok": write_safetensors(root / "ok.safetensors", {"w": ("F16", (8, 8))}),
        "gguf": write_gguf(root / "ok.gguf"),
        "empty": root / "empty",
        "hidden": root / "hidden-only",
        "junk": root / "junk.bin",
        "missing": root / "no-such-file.safetensors",
    }


BAD = [
    ("upload --source {ok} --name 1starts-with-digit", UsageError, "not a valid model name"),
    ("upload --source {ok} --name a", UsageError, "not a valid model name"),
    ("upload --source {ok} --name " + "x" * 31, UsageError, "use 2-30 characters"),
    ("upload --source {ok} --name under_score", UsageError, "not a valid model name"),
    ("upload --source {ok} --name bad-input --version .1", UsageError, "not a valid version"),
    ("upload --source {ok} --name bad-input --version 'a b'", UsageError, "not a valid version"),
    ("upload --source {ok} --name bad-input --tags novalue", UsageError, "look like key=value"),
    ("upload --source {ok} --name bad-input --tags 'sp ace=1'", UsageError, "tag key 'sp ace'"),
    ("upload --source {ok} --name bad-input --tags azmodels.sha256=0", UsageError, "reserved"),
    ("upload --source {ok} --name bad-input --tags k=" + "v" * 257, UsageError, "256 characters"),
    ("upload --source {missing} --name bad-input", ValidationError, "does not exist"),
    ("upload --source {empty} --name bad-input", ValidationError, "has no files to upload"),
    ("upload --source {hidden} --name bad-input", ValidationError, "has no files to upload"),
    ("upload --source {junk} --name bad-input", ValidationError,
     "not a weights file in a supported format (safetensors, gguf, onnx, pytorch)"),
    ("upload --source {ok} --name bad-input --format gguf", ValidationError,
     "--format gguf contradicts the file: ok.safetensors is safetensors"),
    ("upload --source {gguf} --name bad-input --format safetensors", ValidationError,
     "--format safetensors contradicts the file: ok.gguf is gguf"),
    ("upload --source {ok} --name bad-input --format tflite", UsageError, "is not one of"),
    ("upload --source {ok} --name bad-input --weight-type Half", UsageError, "is not one of"),
    ("upload --source {ok} --name gpt-4o", ConflictError, "is the name of a base model"),
    ("upload --source {ok} --name GPT-4o-Mini", ConflictError, "base models cannot be uploaded"),
    ("upload --source {ok} --name bad-input --base-model no-such-base", ValidationError,
     "--base-model 'no-such-base' is neither in the catalog nor a custom model"),
    ("upload --source {ok} --name single-file --base-model gpt-4o", ConflictError,
     "'single-file' version 1 already exists (Ready). Pass --overwrite"),
    ("upload --base-model gpt-4o --name bad-input", UsageError, "--source"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "error", "text"), BAD, ids=[b[2][:40] for b in BAD])
def test_bad_input_is_one_clear_line_and_changes_nothing(app, bad_sources, line, error, text):
    if registered(app, "single-file", "1") is None:  # when run alone
        app.execute(f"upload --base-model gpt-4o --source {bad_sources['ok']} --name single-file")
    before = registry(app)
    with pytest.raises(error) as caught:
        app.execute(line.format(**bad_sources))
    assert text in one_line(caught.value)
    assert registry(app) == before
    assert journal_of(app, "bad-input", "1") is None


def test_python_api_checks_names_before_any_network_call(tmp_path, weights):
    """An AzModels connected to nothing: a network call would fail differently."""
    from azmodels_magic import AzModels

    az = AzModels(progress=False)
    for kwargs, text in [
        ({"name": "9lives"}, "not a valid model name"),
        ({"name": "fine-name", "version": "/1"}, "not a valid version"),
        ({"name": "fine-name", "tags": {"azmodels.size": "1"}}, "reserved"),
        ({"name": "fine-name", "weight_type": "Quarter"}, "not a weight type"),
        ({"name": "fine-name", "format": "gguf"}, "contradicts the file"),
    ]:
        with pytest.raises(ValidationError) as caught:
            az.uploads.upload(source=str(weights), progress=False, **kwargs)
        assert text in one_line(caught.value)


def test_overwrite_replaces_the_version_and_its_weights(app, tmp_path):
    first = write_safetensors(tmp_path / "a" / "w.safetensors", {"w": ("F16", (16, 16))}, seed=1)
    second = write_safetensors(tmp_path / "b" / "w.safetensors", {"w": ("F32", (16, 16))}, seed=2)
    old = app.execute(f"upload --base-model gpt-4o --source {first} --name replaced").value.model
    before = registry(app)
    with pytest.raises(ConflictError):
        app.execute(f"upload --base-model gpt-4o --source {second} --name replaced")
    assert stored_files(app, "replaced", "1")["w.safetensors"] == first.read_bytes()

    new = app.execute(
        f"upload --base-model gpt-4o --source {second} --name replaced --overwrite"
    ).value.model
    assert registry(app) == before  # still exactly one registration of replaced/1
    assert [m.version for m in app.models.custom_versions("replaced")] == ["1"]
    check_stored(app, "replaced", "1", second)
    assert registered(app, "replaced", "1")["tags"]["azmodels.dtypes"] == "F32"
    assert new.blob_uri != old.blob_uri
    # The old weights stay: the credentials route's SAS may read them, not remove them.
    assert set(dev_blobs(app, container_name(old.blob_uri))) == {"w.safetensors"}


def test_base_model_is_recorded(app, weights):
    app.execute(f"upload --source {weights} --name lora-of-base --base-model gpt-4o-mini "
                "--weight-type LoRA")  # fmt: skip
    body = registered(app, "lora-of-base", "1")
    # A bare name becomes an asset id as azd makes it (custom_create.go:333-338).
    expanded = "azureml://registries/azureml-fireworks/models/gpt-4o-mini/versions/1"
    assert (body["baseModel"], body["weightType"]) == (expanded, "LoRA")
    given = "azureml://registries/azureml-meta/models/Llama-3.3-70B-Instruct/versions/4"
    app.execute(f"upload --source {weights} --name derived-of-id --base-model {given}")
    assert registered(app, "derived-of-id", "1")["baseModel"] == given  # an id as given
    frame = app.execute("list --type custom --query derived-*").value
    assert frame[["name", "base_model"]].values.tolist() == [["derived-of-id", given]]


def test_a_base_model_is_required_unless_draft_weights(app, weights):
    before = registry(app)
    for run in (
        lambda: app.execute(f"upload --source {weights} --name no-base"),
        lambda: app.execute(f"upload --source {weights} --name no-base --dry-run"),
        lambda: app.uploads.upload(source=str(weights), name="no-base", weight_type="LoRA"),
        lambda: app.uploads.plan(source=str(weights), name="no-base"),
    ):
        with pytest.raises(ValidationError) as caught:
            run()
        assert one_line(caught.value).startswith("--base-model is required unless --weight-type")
    with pytest.raises(ValidationError, match="is not an asset id"):
        app.execute(f"upload --source {weights} --name no-base --base-model azureml://x/y")
    assert registry(app) == before  # nothing registered
    draft = app.execute(f"upload --source {weights} --name draft-model --weight-type DraftModel")
    body = registered(app, "draft-model", "1")
    assert body["weightType"] == "DraftModel" and body.get("baseModel") is None
    assert draft.value.model.ready


# -- a registration that fails after the transfer, and the uploads commands ---------------------


def _fail_registration(app, source: Path, name: str) -> None:
    """Upload with a --base-model that another client deletes after our list was cached: every
    byte goes up, then the service refuses the registration (BaseModelNotFound)."""
    import requests

    base = f"gone-{name}"[:30]
    app.execute(f"upload --base-model gpt-4o --source {source} --name {base}")
    assert base in [m.name for m in app.models.custom_models()]  # now cached
    info = app.sandbox_info
    response = requests.delete(
        f"{info.project_endpoint}/models/{base}/versions/1",
        params={"api-version": "2025-11-15-preview"},
        headers={"Authorization": f"Bearer {info.token}"},
        timeout=30,
    )
    assert response.status_code == 200
    before = registry(app)
    with pytest.raises(ValidationError) as caught:
        app.execute(f"upload --source {source} --name {name} --base-model {base}")
    text = one_line(caught.value)
    assert "BaseModelNotFound" in text and "weights are uploaded and kept" in text
    assert registry(app) == before  # no registry entry for partial (or any) weights


def test_uploads_list_show_and_resume_after_a_failed_registration(app, tmp_path):
    source = write_safetensors(tmp_path / "w.safetensors", llama_tensors(hidden_size=16), seed=9)
    size = source.stat().st_size
    _fail_registration(app, source, "failed-reg")

    outcome = app.execute("uploads list --prefix failed-")
    assert re.fullmatch(
        r"1 upload known to this machine \(1 not registered: re-run the same upload to resume\)",
        outcome.message,
    ), outcome.message
    row = outcome.value.set_index("path").loc["failed-reg/1"]
    assert (row["state"], row["registered"], row["progress"]) == ("complete", "no", 100.0)
    assert row["hint"] == (  # as it was asked, in the terminal's words (app.execute's)
        f"azmodels upload --source {source} --name failed-reg --version 1 "
        "--base-model gone-failed-reg"
    )
    status = app.execute("uploads show --path failed-reg/1").value
    assert (status.registered, status.complete, status.bytes_done, status.size) == (
        False, True, size, size,
    )  # fmt: skip
    text = card_for(status).text()
    assert "To finish" in text and "sig=" not in text.lower()
    assert "?" not in status.blob_uri  # the container URL, never the SAS

    report = app.execute(f"upload --base-model gpt-4o --source {source} --name failed-reg").value
    assert (report.bytes_sent, report.bytes_skipped) == (0, size)  # nothing sent twice
    assert versions_registered(app, "failed-reg") == ["1"]
    check_stored(app, "failed-reg", "1", source)
    row = app.execute("uploads list --prefix failed-").value.set_index("path").loc["failed-reg/1"]
    assert (row["registered"], row["hint"]) == ("yes", "")


def versions_registered(app, name: str) -> list[str]:
    from services_support import versions_of

    return versions_of(app, name)


def test_uploads_delete_forgets_the_journal(app, tmp_path):
    source = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (32, 32))}, seed=4)
    _fail_registration(app, source, "forget-me")
    assert journal_of(app, "forget-me", "1") is not None

    outcome = app.execute("uploads delete --path forget-me/1")
    assert outcome.message.startswith("Forgot upload forget-me/1")
    assert journal_of(app, "forget-me", "1") is None
    assert "forget-me/1" not in app.execute("uploads list").value["path"].tolist()
    with pytest.raises(AzModelsError, match="No upload 'forget-me/1'"):
        app.execute("uploads show --path forget-me/1")
    assert registered(app, "forget-me", "1") is None


def test_uploads_delete_frees_the_staged_blobs(app, tmp_path):
    # The upload slot's SAS may write but not delete (azure-api.md): blobs are emptied instead.
    source = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (32, 32))}, seed=5)
    _fail_registration(app, source, "forget-blobs")
    container = container_name(journal_of(app, "forget-blobs", "1").container_url)
    assert set(dev_blobs(app, container)) == {"w.safetensors"}
    outcome = app.execute("uploads delete --path forget-blobs/1")
    assert dev_blobs(app, container, uncommitted=True) == {"w.safetensors": 0}
    assert outcome.message == "Forgot upload forget-blobs/1 and removed 1 staged blob."


def test_uploads_delete_of_a_registered_upload_keeps_the_weights(app, weights):
    model = app.execute(
        f"upload --base-model gpt-4o --source {weights} --name keep-after-forget"
    ).value.model
    outcome = app.execute("uploads delete --path keep-after-forget")
    assert outcome.message.startswith("Forgot upload keep-after-forget/1; its weights belong")
    assert journal_of(app, "keep-after-forget", "1") is None
    assert set(dev_blobs(app, container_name(model.blob_uri))) == {"tiny.safetensors"}
    assert registered(app, "keep-after-forget", "1") is not None


# -- the same through the magic -----------------------------------------------------------------


def test_upload_through_the_magic(shell, app, weights, capsys):
    magic_app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    magic_app.use_sandbox(app.sandbox_info)
    before = registry(app)
    result = shell.run_cell(
        f"%azmodels upload --base-model gpt-4o --source {weights} --name magic-upload --no-progress"
    )
    assert result.error_in_exec is None and result.result is None
    out = capsys.readouterr().out
    assert "✓ Model registered: magic-upload version 1\n" in out
    assert registry(app) == sorted([*before, ("magic-upload", "1")])
    check_stored(app, "magic-upload", "1", weights)

    result = shell.run_cell(
        f"%azmodels upload --base-model gpt-4o --source {weights} --name magic-upload --dry-run"
    )
    assert result.error_in_exec is not None  # exists, no --overwrite
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "already exists" in text and "Traceback" not in text
    assert len([line for line in text.splitlines() if line.strip()]) == 1
    assert registry(app) == sorted([*before, ("magic-upload", "1")])


def test_deleting_a_model_forgets_its_upload(app, weights):
    app.execute(f"upload --base-model gpt-4o --source {weights} --name gone-soon")
    assert journal_of(app, "gone-soon", "1") is not None
    app.execute("delete --name gone-soon --force")
    assert journal_of(app, "gone-soon", "1") is None
    listed = app.execute("uploads list").value
    assert "gone-soon/1" not in set(listed["path"])


def test_a_failed_overwrite_puts_the_old_version_back(tmp_path):
    """Credentials that expire mid-way (a sandbox restarted with SAS lifetimes of 0) make the
    overwrite fail: the old registration stays as it was (it is only swapped once the new
    weights are stored)."""
    from azmodels_support import start_app

    from azmodels_magic.errors import AzModelsError

    data = tmp_path / "sandbox"
    first = start_app(data_dir=str(data))
    port = int(first.sandbox_info.arm_endpoint.rsplit(":", 1)[1])
    try:
        source = write_safetensors(tmp_path / "v1.safetensors", {"w": ("F16", (8, 8))}, seed=1)
        before = first.execute(
            f"upload --base-model gpt-4o --source {source} --name keep-me"
        ).value.model
    finally:
        first.close()
    second = start_app(data_dir=str(data), port=port, extra_args=["--sas-minutes", "0"])
    try:
        newer = write_safetensors(tmp_path / "v2.safetensors", {"w": ("F16", (9, 9))}, seed=2)
        with pytest.raises(AzModelsError) as caught:
            second.execute(
                f"upload --base-model gpt-4o --source {newer} --name keep-me --overwrite"
            )
        assert "version 1 is unchanged" in str(caught.value)
        after = second.connection.foundry.get_version("keep-me", "1")
        assert after.ready
        assert after.blob_uri == before.blob_uri
        assert after.tags == before.tags
    finally:
        second.close()


# -- what is recorded next to the weights: nothing; each blob's metadata says what it holds ------


def test_show_lists_each_files_sha256_from_blob_metadata(app, tmp_path):
    folder = make_model_folder(tmp_path / "digests", hidden_size=16)
    app.execute(f"upload --base-model gpt-4o --source {folder} --name show-digests --no-progress")
    check_stored(app, "show-digests", "1", folder)  # exactly the user's files
    details = app.execute("show show-digests").value
    expected = source_digests(folder)
    assert {f.path: f.sha256 for f in details.files} == expected
    assert {f.path: f.size for f in details.files} == {
        str(p.relative_to(folder)): p.stat().st_size for p in folder.rglob("*") if p.is_file()
    }
    text = card_for(details).text()
    assert f"Files ({len(expected)})" in text
    assert all(sha in text for sha in expected.values())
    assert details.to_dict()["files"] == [
        {"path": f.path, "size": f.size, "sha256": f.sha256, "sha256_basis": "computed"}
        for f in details.files
    ]


def test_an_old_registration_with_a_manifest_still_shows_its_digests(app):
    weights, extra = b"\x01" * 300, b"{}"
    manifest = {
        "name": "old-manifest",
        "version": "1",
        "files": [
            {"path": "model.bin", "size": 300, "sha256": sha256_bytes(weights)},
            {"path": "config.json", "size": 2, "sha256": sha256_bytes(extra)},
        ],
    }
    register_directly(
        app, "old-manifest", "1",
        {"model.bin": weights, "config.json": extra,
         "azmodels-manifest.json": json.dumps(manifest).encode()},
    )  # fmt: skip
    details = app.execute("show old-manifest").value
    assert {f.path: (f.size, f.sha256) for f in details.files} == {
        "model.bin": (300, sha256_bytes(weights)),
        "config.json": (2, sha256_bytes(extra)),
    }  # the manifest is read, and not listed as one of the model's files


def test_a_model_stored_by_another_tool_shows_its_files_without_digests(app):
    register_directly(app, "no-digests", "1", {"model.bin": b"\x02" * 10})
    details = app.execute("show no-digests").value
    assert [(f.path, f.size, f.sha256) for f in details.files] == [("model.bin", 10, None)]
    assert "sha256 not recorded" in card_for(details).text()


# -- one path: each thing read once ----------------------------------------------------------


def _count_calls(monkeypatch, counts: dict[str, int], owner, name: str) -> None:
    original = getattr(owner, name)

    def counted(*args, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)


def _freeze_at_registration(monkeypatch, counts: dict[str, int], foundry) -> dict[str, int]:
    """The counts as they were when createAsync was sent: the registration then polls the
    version as long as it takes (the SDK's way), which says nothing about the reads before."""
    frozen: dict[str, int] = {}
    create_async = foundry.create_async

    def registering(*args, **kwargs):
        frozen.update(counts)
        return create_async(*args, **kwargs)

    monkeypatch.setattr(foundry, "create_async", registering)
    return frozen


def test_a_resumed_upload_reads_the_journal_and_the_version_once(app, tmp_path, monkeypatch):
    from azmodels_magic.clients.blob import BlobTransfer
    from azmodels_magic.uploadstate import UploadJournal

    source = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (32, 32))}, seed=21)
    _fail_registration(app, source, "read-once")  # every byte stored, not registered
    counts: dict[str, int] = {}
    foundry = app.connection.foundry
    for owner, name in [(foundry, "get_version"), (foundry, "read_credential"),
                        (UploadJournal, "load"), (UploadJournal, "matches"),
                        (BlobTransfer, "upload")]:  # fmt: skip
        _count_calls(monkeypatch, counts, owner, name)
    built: list[BlobTransfer] = []
    init = BlobTransfer.__init__

    def counted_init(self, **kwargs) -> None:
        built.append(self)
        init(self, **kwargs)

    monkeypatch.setattr(BlobTransfer, "__init__", counted_init)
    before = _freeze_at_registration(monkeypatch, counts, foundry)

    report = app.uploads.upload(
        base_model="gpt-4o", source=str(source), name="read-once", progress=None
    )
    assert report.bytes_sent == 0 and report.model.ready  # resumed: nothing sent again
    assert counts["load"] == counts["matches"] == counts["upload"] == len(built) == 1, counts
    # asked once whether the version exists; then the registration's own polls
    assert before["get_version"] == 1 and counts["get_version"] > 1, (before, counts)
    assert "read_credential" not in counts, counts


def test_an_overwrite_reads_the_old_version_once(app, tmp_path, monkeypatch):
    old = write_safetensors(tmp_path / "a.safetensors", {"w": ("F16", (32, 32))}, seed=22)
    new = write_safetensors(tmp_path / "b.safetensors", {"w": ("F16", (32, 32))}, seed=23)
    app.uploads.upload(base_model="gpt-4o", source=str(old), name="swap-once")
    counts: dict[str, int] = {}
    foundry = app.connection.foundry
    for name in ("get_version", "read_credential", "start_pending_upload"):
        _count_calls(monkeypatch, counts, foundry, name)
    before = _freeze_at_registration(monkeypatch, counts, foundry)
    report = app.uploads.upload(
        base_model="gpt-4o", source=str(new), name="swap-once", overwrite=True
    )
    assert report.sha256 == {"b.safetensors": sha256_file(new)}
    # The version is read by the plan, and again just before the swap: replaced elsewhere
    # meanwhile, it must not be deleted (issue 17, break 13).
    assert before == {"get_version": 2, "read_credential": 1, "start_pending_upload": 1}, before
    assert counts["get_version"] > 1  # the registration's polls of the version
    check_stored(app, "swap-once", "1", new)


def test_progress_reaches_the_service_through_the_callback_protocol(app, tmp_path, small_blocks):
    class Heard:  # a TransferProgress: what a front end's bar would be told
        def __init__(self) -> None:
            self.calls: list[tuple[str, int]] = []

        def start(self, total: int) -> None:
            self.calls.append(("start", total))

        def skip(self, nbytes: int) -> None:
            self.calls.append(("skip", nbytes))

        def update(self, nbytes: int) -> None:
            self.calls.append(("update", nbytes))

    source = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (512, 512))}, seed=24)
    size = source.stat().st_size
    heard = Heard()
    report = app.uploads.upload(
        base_model="gpt-4o", source=str(source), name="heard", progress=heard
    )
    assert heard.calls[0] == ("start", size)
    updates = [n for kind, n in heard.calls[1:] if kind == "update"]
    assert len(updates) == len(heard.calls) - 1 > 1  # block by block, nothing skipped
    assert sum(updates) == size == report.bytes_sent
    assert report.seconds > 0


def test_storage_that_does_not_hold_what_was_sent_registers_nothing(app, tmp_path, monkeypatch):
    """Verify reads storage back before registering: a blob replaced behind the transfer's back
    (other bytes, no digest) stops the upload; the next run sends that file again."""
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT
    from azmodels_magic.services.uploads import UploadService

    source = write_safetensors(tmp_path / "w.safetensors", {"w": ("F16", (64, 64))}, seed=25)
    transfer = UploadService._transfer

    def transfer_then_tamper(prepared, sas_url, journal, progress):
        result = transfer(prepared, sas_url, journal, progress)
        service = BlobServiceClient(
            app.sandbox_info.blob_endpoint,
            credential={"account_name": DEV_ACCOUNT, "account_key": app.sandbox_info.storage_key},
        )
        with service:
            blob = service.get_blob_client(container_name(journal.container_url), source.name)
            blob.upload_blob(b"\x00" * source.stat().st_size, overwrite=True)
        return result

    monkeypatch.setattr(UploadService, "_transfer", staticmethod(transfer_then_tamper))
    before = registry(app)
    with pytest.raises(AzModelsError) as caught:
        app.uploads.upload(base_model="gpt-4o", source=str(source), name="tampered")
    assert "does not hold w.safetensors as it was sent" in one_line(caught.value)
    assert registry(app) == before
    monkeypatch.undo()
    report = app.uploads.upload(base_model="gpt-4o", source=str(source), name="tampered")
    assert report.bytes_sent == source.stat().st_size  # that file again, in full
    check_stored(app, "tampered", "1", source)


def test_a_manifest_or_metadata_that_is_not_a_digest_shows_none(app):
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    bad = {"files": [{"path": "model.bin", "sha256": "\x1b[2Jnot-a-digest"}, "junk", {"x": 1}]}
    register_directly(
        app, "bad-manifest", "1",
        {"model.bin": b"\x03" * 8, "azmodels-manifest.json": json.dumps(bad).encode()},
    )  # fmt: skip
    container = container_name(registered(app, "bad-manifest", "1")["blobUri"])
    service = BlobServiceClient(
        app.sandbox_info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": app.sandbox_info.storage_key},
    )
    with service:  # another tool's metadata, under our key
        blob = service.get_blob_client(container, "model.bin")
        blob.set_blob_metadata({"sha256": "z" * 64})
    details = app.execute("show bad-manifest").value
    assert [(f.path, f.sha256) for f in details.files] == [("model.bin", None)]


def test_lora_settings_come_from_the_flags_or_the_adapter_config(app, tmp_path):
    folder = make_model_folder(tmp_path / "adapter", shards=1)
    peft = {"r": 16, "lora_alpha": 32, "target_modules": ["q_proj", "v_proj"], "lora_dropout": 0.1}
    (folder / "adapter_config.json").write_text(json.dumps(peft))
    app.execute(
        f"upload --source {folder} --name lora-peft --base-model gpt-4o --weight-type LoRA "
        "--publisher contoso"
    )
    body = registered(app, "lora-peft", "1")
    assert body["loraConfig"] == {
        "rank": 16, "alpha": 32, "targetModules": ["q_proj", "v_proj"], "dropout": 0.1,
    }  # fmt: skip
    assert body["catalogInfo"] == {"publisherId": "contoso"}
    model = app.uploads.upload(
        source=str(folder), name="lora-flags", base_model="gpt-4o", weight_type="LoRA",
        lora_rank=4, lora_alpha=8, lora_target_modules=["o_proj"], lora_dropout=0.0,
    ).model  # fmt: skip
    assert registered(app, "lora-flags", "1")["loraConfig"] == {
        "rank": 4, "alpha": 8, "targetModules": ["o_proj"], "dropout": 0.0,
    }  # fmt: skip
    assert model.lora_config["rank"] == 4
    before = registry(app)
    for bad, complaint in (
        ({"lora_rank": 0}, "whole number > 0"),
        ({"lora_alpha": "8"}, "whole number"),
        ({"lora_dropout": 2}, "from 0 to 1"),
        ({"lora_target_modules": "q_proj"}, "list"),
        ({"publisher": " "}, "non-empty"),
    ):
        with pytest.raises(ValidationError, match=complaint):
            app.uploads.upload(source=str(folder), name="lora-bad", base_model="gpt-4o", **bad)
    (folder / "adapter_config.json").write_text(json.dumps({**peft, "r": -1}))
    with pytest.raises(ValidationError, match=r"adapter_config\.json: LoRA rank"):
        app.uploads.upload(source=str(folder), name="lora-bad", base_model="gpt-4o",
                           weight_type="LoRA")  # fmt: skip
    assert registry(app) == before


def test_the_services_warnings_reach_the_record_the_card_and_the_frame(app, tmp_path):
    folder = make_model_folder(tmp_path / "with-code", shards=1)
    (folder / "modeling_custom.py").write_text("import os\n")
    model = app.execute(
        f"upload --source {folder} --name with-code --base-model gpt-4o"
    ).value.model
    assert model.artifact_category == "RuntimeDependent"
    assert model.artifact_signals == ("CustomPythonCode",)
    assert [code for code, _ in model.warnings] == ["RuntimeDependentArtifact"]
    text = card_for(app.execute("show with-code").value).text(columns=1000)  # lines unwrapped
    assert "RuntimeDependent (CustomPythonCode)" in text
    assert "RuntimeDependentArtifact" in text and model.warnings[0][1] in text
    frame = app.execute("list --type custom").value.set_index("name")
    assert frame.loc["with-code", "warnings"] == "RuntimeDependentArtifact"
