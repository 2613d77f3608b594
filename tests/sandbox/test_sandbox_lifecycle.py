"""The sandbox process: its JSON line, restarts on the same data dir, clean and hard stops."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_support import Api, start_sandbox

from azmodels_magic.errors import AzModelsError
from azmodels_magic.sandbox_launcher import SandboxInfo, SandboxProcess

GPT4O = {"format": "OpenAI", "name": "gpt-4o"}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command may hold spaces or parentheses: the fields after the last ')' are fixed.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _azurite_pid(sandbox_pid: int) -> int:
    for child in _children(sandbox_pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"azurite" in cmdline:
            return child
    raise AssertionError("the sandbox has no Azurite child")


def test_json_line_fields(sandbox) -> None:
    info = sandbox.info
    assert info.arm_endpoint.startswith("http://127.0.0.1:")
    assert info.project_endpoint == f"{info.arm_endpoint}/api/projects/sandbox-project"
    assert info.subscription_id == "00000000-0000-0000-0000-000000000000"
    assert (info.resource_group, info.account, info.project, info.location) == (
        "rg-azmodels-sandbox",
        "azmodels-sandbox",
        "sandbox-project",
        "eastus",
    )
    assert len(info.token) >= 32 and len(info.reader_token) >= 32
    assert info.token != info.reader_token
    assert info.blob_endpoint.endswith("/devstoreaccount1")
    assert Path(info.data_dir, "sandbox.sqlite3").is_file()
    assert sandbox.running and _alive(info.pid)
    text = repr(info)
    assert info.token not in text and info.reader_token not in text
    assert "arm_endpoint" in text
    log = Path(info.data_dir, "sandbox.log").read_text()
    assert info.token not in log and info.reader_token not in log
    assert "sig=" not in log


def test_from_json_round_trip_and_missing_fields(sandbox) -> None:
    info = sandbox.info
    line = json.dumps(info.__dict__)
    assert SandboxInfo.from_json(line) == info
    with pytest.raises(ValueError, match="token"):
        SandboxInfo.from_json(json.dumps({k: v for k, v in info.__dict__.items() if k != "token"}))


def test_launcher_import_is_cheap() -> None:
    code = (
        "import sys, azmodels_magic.sandbox_launcher; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('azure', 'requests')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_early_exit_raises_with_the_log_tail(tmp_path: Path) -> None:
    process = SandboxProcess(data_dir=tmp_path, extra_args=["--quota", "nonsense"])
    with pytest.raises(AzModelsError, match="SKU=N"):
        process.start(timeout=30)
    assert not process.running


def test_restart_keeps_state_sigterm_is_clean_and_kill_9_leaves_no_azurite(tmp_path: Path) -> None:
    process = start_sandbox(data_dir=tmp_path, catalog_size=12)
    api = Api(process.info)
    catalog, _ = api.list_all(api.catalog)
    synthetic = [m["model"]["name"] for m in catalog if m["model"]["format"] == "Synthetic"]
    assert synthetic == [f"synthetic-model-{i:05d}" for i in range(12)]
    assert len(catalog) >= 30 + 12
    model = {"format": "Synthetic", "name": "synthetic-model-00011"}
    assert api.deploy("synthetic", model, "GlobalStandard").status_code == 201
    assert api.deploy("keep-me", GPT4O, "GlobalStandard", 3).status_code == 201
    upload = api.upload_model("kept-model", "1", {"w.bin": b"weights"})
    assert upload.status_code == 202
    api.wait_operation(upload.headers["Location"])
    creds = api.credentials(f"{api.project}/models/kept-model/versions/1")
    sas_before = creds.json()["blobReferenceForConsumption"]["credential"]["sasUri"]
    first = process.info
    azurite = _azurite_pid(first.pid)
    raw = process._process
    process.stop()
    assert raw.returncode == 0
    assert not _alive(azurite)
    assert not process.running
    process.stop()  # idempotent

    again = start_sandbox(data_dir=tmp_path)
    try:
        api = Api(again.info)
        assert again.info.token == first.token
        assert again.info.reader_token == first.reader_token
        assert again.info.blob_endpoint == first.blob_endpoint  # Azurite's port was reused
        deployment = api.wait_deployment("keep-me")
        assert deployment["sku"]["capacity"] == 3
        model = api.call("GET", f"{api.project}/models/kept-model/versions/1").json()
        assert model["provisioningState"] == "Succeeded"
        creds = api.credentials(f"{api.project}/models/kept-model/versions/1")
        from azure.storage.blob import ContainerClient

        sas = creds.json()["blobReferenceForConsumption"]["credential"]["sasUri"]
        assert (
            ContainerClient.from_container_url(sas).download_blob("w.bin").readall() == b"weights"
        )
        # Azurite's key is kept with the data: a SAS handed out before the restart still reads.
        assert again.info.storage_key == first.storage_key
        with ContainerClient.from_container_url(sas_before) as before:
            assert before.download_blob("w.bin").readall() == b"weights"
    finally:
        again.stop()


def test_its_storage_takes_its_own_key_not_the_public_one(
    sandbox: SandboxProcess, tmp_path: Path
) -> None:
    """Azurite checks no Host header, so a page whose name rebinds to 127.0.0.1 reaches it: the
    emulator's public key must get nothing, and each sandbox's key is its own."""
    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT, DEV_KEY

    info = sandbox.info
    assert info.storage_key and info.storage_key != DEV_KEY
    assert info.storage_key not in repr(info)

    def containers(key: str) -> list[str]:
        credential = {"account_name": DEV_ACCOUNT, "account_key": key}
        with BlobServiceClient(info.blob_endpoint, credential, retry_total=0) as service:
            return [c.name for c in service.list_containers()]

    with pytest.raises(HttpResponseError) as refused:
        containers(DEV_KEY)
    assert refused.value.status_code == 403
    containers(info.storage_key)  # the sandbox's own key is let in
    other = start_sandbox(data_dir=tmp_path)
    try:
        assert other.info.storage_key != info.storage_key
    finally:
        other.stop()


def test_sandbox_dies_with_its_parent(tmp_path: Path) -> None:
    code = (
        "import sys, time\n"
        "from azmodels_magic.sandbox_launcher import SandboxProcess\n"
        f"p = SandboxProcess(data_dir={str(tmp_path)!r}, provision_seconds=0)\n"
        "print(p.start().pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        sandbox_pid = int(parent.stdout.readline())
        azurite = _azurite_pid(sandbox_pid)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 15
        while (_alive(sandbox_pid) or _alive(azurite)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(sandbox_pid)
        assert not _alive(azurite)
    finally:
        if parent.poll() is None:
            parent.kill()
