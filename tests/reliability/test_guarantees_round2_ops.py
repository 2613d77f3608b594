"""Issue 17, round two, the operations items: an account that never answers, the terminal
sandbox's private files, delete when storage refuses, switching account, the overwrite race's
loser, orphaned storage and refused connections. Over real HTTP against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from azmodels_support import start_app
from reliability_support import Raw, make_weights

CLI = [sys.executable, "-m", "azmodels_magic.cli"]
UNSET = ("AZMODELS_SANDBOX", "AZMODELS_DEBUG", "AZURE_SUBSCRIPTION_ID", "AZURE_PROJECT_ENDPOINT",
         "AZURE_RESOURCE_GROUP_NAME", "AZURE_ACCOUNT_NAME")  # fmt: skip


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update(extra)
    return env


# -- break 9: an account that never answers ------------------------------------------------------

ACCOUNT_TIMEOUT = 4  # seconds; the default (60) would only make the test wait longer


def test_all_accounts_with_a_hung_account_exits_promptly(tmp_path):
    """The hung account is a warning row after the per-account timeout ($AZMODELS_ACCOUNT_TIMEOUT,
    60 s unless set; a few seconds here), and the process exits then: its abandoned request must
    not be joined at exit (it was: about 7 minutes)."""
    app = start_app(
        sandbox={"extra_args": ["--accounts", "team-b=swedencentral", "stuck=eastus2:hung"]}
    )
    try:
        env = cli_env(
            AZMODELS_SANDBOX=app.sandbox_info.arm_endpoint,
            AZMODELS_CACHE_DIR=str(tmp_path),
            AZMODELS_ACCOUNT_TIMEOUT=str(ACCOUNT_TIMEOUT),
        )
        started = time.monotonic()
        done = subprocess.run(
            [*CLI, "deployments", "list", "--all-accounts"],
            capture_output=True, text=True, env=env, timeout=150,
        )  # fmt: skip
        took = time.monotonic() - started
    finally:
        app.close()
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"Warning: stuck: no answer within {ACCOUNT_TIMEOUT} s" in done.stdout
    # The answering accounts were read: three accounts, one warning.
    assert "in 3 accounts; 1 account could not be read" in done.stdout
    assert took < ACCOUNT_TIMEOUT + 20, f"took {took:.0f} s"


# -- break 10: the terminal sandbox's state is private --------------------------------------------


def _open_to_others(folder) -> list[str]:
    """Paths under `folder` (itself included) that group or others may read, write or enter."""
    found = []
    for root, dirs, files in os.walk(folder):
        for path in [root, *(os.path.join(root, f) for f in dirs + files)]:
            if os.lstat(path).st_mode & 0o077:
                found.append(f"{oct(os.lstat(path).st_mode & 0o777)} {path}")
    return found


@pytest.mark.timeout(300)
def test_terminal_sandbox_state_is_private_under_a_normal_umask(tmp_path):
    env = cli_env(AZMODELS_DATA_DIR=str(tmp_path / "data"), AZMODELS_CACHE_DIR=str(tmp_path / "c"))

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *argv], capture_output=True, text=True, env=env, timeout=120,
            preexec_fn=lambda: os.umask(0o022),  # what most users have
        )  # fmt: skip

    weights = make_weights(tmp_path / "w")
    try:
        started = cli("sandbox", "start")
        assert started.returncode == 0, started.stderr
        uploaded = cli(
            "upload",
            "--source",
            str(weights),
            "--name",
            "private-m",
            "--base-model",
            "gpt-4o",
            "--no-progress",
        )
        assert uploaded.returncode == 0, uploaded.stderr
    finally:
        cli("sandbox", "stop")
    state = tmp_path / "data" / "sandbox"
    assert (state / "sandbox.sqlite3").exists()
    assert any((state / "azurite").rglob("*")), "no weights stored"
    assert _open_to_others(state) == []


# -- break 11: delete when storage refuses the blob delete ----------------------------------------


def _storage(info):
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
        f"AccountKey={info.storage_key};BlobEndpoint={info.blob_endpoint};"
    )
    return BlobServiceClient.from_connection_string(conn)


def test_delete_with_the_read_only_credential_azure_hands_out_reports_what_it_did(app, tmp_path):
    """Azure's `credentials` SAS reads and lists (EVIDENCE.md §2): the weights cannot be removed
    through any credential the service gives. Delete removes the registration, says the weights
    stay in the project's storage, and reports no failure for what it did; a second delete says
    there is nothing left to delete. (A storage refusal other than the credential's own keeps
    the model registered: services/models.py delete_version.)"""
    app.uploads.upload(source=str(make_weights(tmp_path)), name="refused-del", base_model="gpt-4o")
    raw = Raw(app.sandbox_info)
    sas = raw.read_sas("refused-del", "1")
    container = sas.split("?")[0].rsplit("/", 1)[1]
    done = app.run("delete --name refused-del --force")
    assert "refused-del" in done and "read them, not remove them" in done, done
    assert not any(m["name"] == "refused-del" for m in raw.registry())
    with _storage(app.sandbox_info) as service:
        assert list(service.get_container_client(container).list_blobs())  # as said: they stay


# -- break 12: switching account switches the project ---------------------------------------------


def test_switching_account_switches_the_project(tmp_path):
    from azmodels_magic.errors import AzModelsError

    app = start_app(sandbox={"extra_args": ["--accounts", "team-c=westus3"]})
    try:
        info = app.sandbox_info
        raw = Raw(info)
        switched = app.execute("connect --account team-c")
        # team-c has no project: an upload has nowhere to register, and must not land in the
        # previous account's project.
        with pytest.raises(AzModelsError):
            app.uploads.upload(
                source=str(make_weights(tmp_path)), name="wrong-project", base_model="gpt-4o"
            )
        assert not any(m["name"] == "wrong-project" for m in raw.registry())
        assert app.project_endpoint != info.project_endpoint
        assert "team-c" in switched.message and "no project" in switched.message
        back = app.execute(f"connect --account {info.account}")
        assert f"project {info.project}" in back.message
        assert app.project_endpoint == info.project_endpoint
    finally:
        app.close()


# -- risk: a refused connection fails fast and says so --------------------------------------------


def test_a_refused_connection_fails_within_seconds_and_says_why():
    """The sandbox stopped (its port now refuses): seconds, not the 30+ s of every retry."""
    from azmodels_magic.errors import AzModelsError

    app = start_app(retry_backoff=0.5)  # the default backoff: its retries are what took long
    endpoint = app.project_endpoint
    try:
        from azmodels_magic import AzModels
        from azmodels_magic.auth import StaticTokenCredential

        gone = AzModels(credential=StaticTokenCredential("t"), project_endpoint=endpoint)
    finally:
        app.close()  # stops the sandbox: its port refuses from now on
    started = time.monotonic()
    with pytest.raises(AzModelsError) as failed:
        gone.run("list --type custom")
    took = time.monotonic() - started
    assert "refused the connection" in str(failed.value)
    assert took < 8, f"took {took:.1f} s"
