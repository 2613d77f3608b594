"""The hub stand-in, judged by huggingface_hub itself: pointed at the sandbox (its `endpoint`, which
HF_ENDPOINT sets), it lists a repository with sizes and LFS SHA-256, resolves files through the
redirect to a pre-signed Azurite URL, downloads the bytes seeded in the hub container, and is
refused a gated repository's files without a token."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from azmodels_magic.sandbox_launcher import SandboxProcess

huggingface_hub = pytest.importorskip("huggingface_hub")

PUBLIC, GATED = "sandbox-org/tiny-chat", "sandbox-org/gated-chat"
DEV_ACCOUNT = "devstoreaccount1"


@pytest.fixture(scope="module")
def info(sandbox: SandboxProcess):
    assert sandbox.info is not None
    return sandbox.info


@pytest.fixture(scope="module")
def hub(info) -> huggingface_hub.HfApi:
    return huggingface_hub.HfApi(endpoint=info.arm_endpoint, token=False)


def stored_bytes(info, repo: str) -> dict[str, bytes]:
    """The hub container's blobs of a repository, read with Azurite's account key: by sha256."""
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient(
        info.blob_endpoint,
        credential={"account_name": DEV_ACCOUNT, "account_key": info.storage_key},
    )
    container = service.get_container_client("hub")
    return {
        b.name.rsplit("/", 1)[1]: container.download_blob(b.name).readall()
        for b in container.list_blobs(name_starts_with=f"{repo}/")
    }


def test_the_tree_lists_sizes_and_the_lfs_sha256_of_the_seeded_bytes(hub, info) -> None:
    files = {f.path: f for f in hub.list_repo_tree(PUBLIC, recursive=True, expand=True)}
    assert {"config.json", "tokenizer.json", "model.safetensors"} <= set(files)
    weights = files["model.safetensors"]
    assert weights.lfs is not None
    stored = stored_bytes(info, PUBLIC)
    assert weights.lfs.sha256 in stored
    assert weights.size == weights.lfs.size == len(stored[weights.lfs.sha256])
    assert hashlib.sha256(stored[weights.lfs.sha256]).hexdigest() == weights.lfs.sha256
    assert files["config.json"].lfs is None and files["config.json"].size > 0
    assert weights.last_commit is not None  # expand=True adds each path's last commit


def test_model_info_pins_the_revision_and_paths_info_agrees(hub) -> None:
    model = hub.model_info(PUBLIC, files_metadata=True)
    assert model.sha and len(model.sha) == 40
    assert hub.model_info(PUBLIC, revision=model.sha).sha == model.sha
    siblings = {s.rfilename: s for s in model.siblings}
    paths = hub.get_paths_info(PUBLIC, ["model.safetensors", "config.json"], revision=model.sha)
    by_path = {p.path: p for p in paths}
    assert by_path["model.safetensors"].lfs.sha256 == siblings["model.safetensors"].lfs.sha256
    assert by_path["config.json"].size == siblings["config.json"].size
    with pytest.raises(huggingface_hub.errors.RevisionNotFoundError):
        hub.model_info(PUBLIC, revision="no-such-branch")
    with pytest.raises(huggingface_hub.errors.RepositoryNotFoundError):
        hub.model_info("sandbox-org/no-such-model")


def test_resolve_redirects_an_lfs_file_to_a_presigned_azurite_url(hub, info) -> None:
    commit = hub.model_info(PUBLIC).sha
    url = f"{info.arm_endpoint}/{PUBLIC}/resolve/main/model.safetensors"
    head = requests.head(url, allow_redirects=False, timeout=30)
    assert head.status_code == 302
    location = head.headers["Location"]
    assert location.startswith(f"{info.blob_endpoint}/hub/") and "sig=" in location
    assert head.headers["X-Repo-Commit"] == commit
    sha256 = head.headers["X-Linked-Etag"].strip('"')
    assert int(head.headers["X-Linked-Size"]) == len(stored_bytes(info, PUBLIC)[sha256])
    # The pre-signed URL alone reads the bytes (no key, no token).
    assert hashlib.sha256(requests.get(location, timeout=30).content).hexdigest() == sha256


def test_a_snapshot_download_gets_the_seeded_bytes(hub, info, tmp_path: Path) -> None:
    folder = Path(hub.snapshot_download(PUBLIC, cache_dir=tmp_path / "cache"))
    stored = stored_bytes(info, PUBLIC)
    files = {f.path: f for f in hub.list_repo_tree(PUBLIC, recursive=True)}
    for path, entry in files.items():
        data = (folder / path).read_bytes()
        assert len(data) == entry.size
        assert stored[hashlib.sha256(data).hexdigest()] == data  # what the container holds


def test_a_gated_repository_lists_but_its_files_need_the_token(hub, info, tmp_path) -> None:
    assert hub.model_info(GATED).gated == "manual"
    assert any(f.path == "model.safetensors" for f in hub.list_repo_tree(GATED))
    with pytest.raises(huggingface_hub.errors.GatedRepoError):
        hub.hf_hub_download(GATED, "model.safetensors", cache_dir=tmp_path / "a")
    with pytest.raises(huggingface_hub.errors.HfHubHTTPError) as refused:
        hub.hf_hub_download(GATED, "config.json", cache_dir=tmp_path / "b", token="hf_wrong")
    assert refused.value.response.status_code == 401
    path = hub.hf_hub_download(
        GATED, "model.safetensors", cache_dir=tmp_path / "c", token=info.hub_token
    )
    data = Path(path).read_bytes()
    assert stored_bytes(info, GATED)[hashlib.sha256(data).hexdigest()] == data


def test_a_missing_file_is_entry_not_found(hub, tmp_path: Path) -> None:
    with pytest.raises(huggingface_hub.errors.EntryNotFoundError):
        hub.hf_hub_download(PUBLIC, "no-such-file.bin", cache_dir=tmp_path)


def test_hf_endpoint_selects_the_stand_in(info, hub) -> None:
    """As a user selects it: HF_ENDPOINT in the environment, huggingface_hub's defaults."""
    script = (
        "import json, huggingface_hub as h\n"
        "api = h.HfApi()\n"
        "files = {f.path: f.size for f in api.list_repo_tree('sandbox-org/tiny-chat')}\n"
        "print(json.dumps({'sha': api.model_info('sandbox-org/tiny-chat').sha, 'files': files}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=info.arm_endpoint, HF_HUB_DISABLE_TELEMETRY="1")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout)
    assert seen["sha"] == hub.model_info(PUBLIC).sha
    assert seen["files"]["model.safetensors"] > 0


def test_a_regular_file_is_served_by_the_hub_itself_with_ranges(info, hub) -> None:
    url = f"{info.arm_endpoint}/{PUBLIC}/resolve/main/config.json"
    whole = requests.get(url, allow_redirects=False, timeout=30)
    assert whole.status_code == 200 and whole.headers["X-Repo-Commit"] == hub.model_info(PUBLIC).sha
    assert json.loads(whole.content)["model_type"] == "llama"
    head = requests.get(url, headers={"Range": "bytes=0-9"}, timeout=30)
    assert head.status_code == 206 and head.content == whole.content[:10]
    assert head.headers["Content-Range"] == f"bytes 0-9/{len(whole.content)}"
    tail = requests.get(url, headers={"Range": "bytes=-5"}, timeout=30)
    assert tail.status_code == 206 and tail.content == whole.content[-5:]
    beyond = requests.get(url, headers={"Range": f"bytes={len(whole.content)}-"}, timeout=30)
    assert beyond.status_code == 416
