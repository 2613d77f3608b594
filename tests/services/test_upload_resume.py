"""Resume: kill -9 an uploading child process, then re-run the same upload here; and a source
that changed between the two attempts starts over instead of mixing old blocks with new bytes."""

from __future__ import annotations

import os

from services_support import (
    container_name,
    dev_blobs,
    journal_of,
    read_sas,
    registered,
    sha256_file,
    upload_and_kill,
    versions_of,
)

from azmodels_magic.sample_weights import write_safetensors

KIB, MIB = 1024, 1024 * 1024


def stored_sha256(app, name: str, version: str, blob: str) -> str:
    """SHA-256 of a stored blob, streamed through the model's read credential."""
    import hashlib

    from azure.storage.blob import ContainerClient

    digest = hashlib.sha256()
    with ContainerClient.from_container_url(read_sas(app, name, version)) as container:
        for chunk in container.download_blob(blob).chunks():
            digest.update(chunk)
    return digest.hexdigest()


def test_resume_after_kill_sends_only_what_is_missing(app, tmp_path):
    source = write_safetensors(tmp_path / "big.safetensors", {"w": ("U8", (48 * MIB,))}, seed=11)
    size = source.stat().st_size
    argv = [
        "upload",
        "--base-model",
        "gpt-4o",
        "--source",
        str(source),
        "--name",
        "resumed",
        "--no-progress",
    ]
    journaled = upload_and_kill(app, argv, name="resumed", block_size=256 * KIB, workers=1)
    assert 0.3 <= journaled < 1.0
    assert registered(app, "resumed", "1") is None  # never registered over partial weights

    # What this machine knows about the interrupted upload.
    listing = app.execute("uploads list --prefix resumed")
    assert listing.message == (
        "1 upload known to this machine (1 not registered: re-run the same upload to resume)"
    )
    row = listing.value.set_index("path").loc["resumed/1"]
    assert (row["state"], row["registered"]) == ("partial (resumable)", "no")
    assert 30.0 <= row["progress"] < 100.0
    assert row["hint"] == (
        f"azmodels upload --source {source} --name resumed --version 1 --base-model gpt-4o"
    )
    status = app.execute("uploads show --path resumed/1").value
    assert (status.complete, status.registered, status.size) == (False, False, size)
    assert status.bytes_done == journal_of(app, "resumed", "1").bytes_staged
    plan = app.execute(
        f"upload --base-model gpt-4o --source {source} --name resumed --dry-run"
    ).value
    assert plan.resume_bytes == status.bytes_done and plan.block_size == 256 * KIB
    assert dict(plan.rows())["Resume"].endswith("already uploaded")

    # The same upload again, here: only the missing blocks go up (the journal's block size wins
    # over this process's default).
    report = app.execute(f"upload --base-model gpt-4o --source {source} --name resumed").value
    assert report.bytes_skipped > 0
    assert report.bytes_sent <= 0.75 * size, (report.bytes_sent, size, journaled)
    assert report.bytes_sent + report.bytes_skipped == size
    assert "resumed" in report.summary()
    assert versions_of(app, "resumed") == ["1"]  # exactly one registration
    expected = sha256_file(source)
    assert report.sha256 == {"big.safetensors": expected}
    assert stored_sha256(app, "resumed", "1", "big.safetensors") == expected
    assert registered(app, "resumed", "1")["tags"]["azmodels.sha256"] == expected
    row = app.execute("uploads list --prefix resumed").value.set_index("path").loc["resumed/1"]
    assert (row["state"], row["registered"], row["hint"]) == ("complete", "yes", "")


def test_a_source_changed_between_attempts_starts_over(app, tmp_path):
    path = tmp_path / "changing.safetensors"
    write_safetensors(path, {"w": ("U8", (24 * MIB,))}, seed=1)
    old_sha = sha256_file(path)
    argv = [
        "upload",
        "--base-model",
        "gpt-4o",
        "--source",
        str(path),
        "--name",
        "changed",
        "--no-progress",
    ]
    upload_and_kill(app, argv, name="changed", block_size=256 * KIB, workers=1, at=0.2)
    old = journal_of(app, "changed", "1")
    old_container = container_name(old.container_url)
    assert "changing.safetensors" in dev_blobs(app, old_container, uncommitted=True)

    # Same name and size, other bytes (and a new mtime).
    write_safetensors(path, {"w": ("U8", (24 * MIB,))}, seed=2)
    later = int(old.files[0].version) + 10**9  # a local file's version is its mtime
    os.utime(path, ns=(later, later))
    new_sha = sha256_file(path)
    assert new_sha != old_sha and path.stat().st_size == old.bytes_total

    plan = app.execute(f"upload --base-model gpt-4o --source {path} --name changed --dry-run").value
    assert plan.resume_bytes == 0
    assert plan.notes == ["the source changed since an interrupted upload: it starts over"]

    report = app.execute(f"upload --base-model gpt-4o --source {path} --name changed").value
    assert (report.bytes_skipped, report.bytes_sent) == (0, path.stat().st_size)
    assert versions_of(app, "changed") == ["1"]
    assert container_name(report.model.blob_uri) != old_container  # a fresh slot: not mixed
    assert stored_sha256(app, "changed", "1", "changing.safetensors") == new_sha
    assert registered(app, "changed", "1")["tags"]["azmodels.sha256"] == new_sha
    assert journal_of(app, "changed", "1").container_url != old.container_url
