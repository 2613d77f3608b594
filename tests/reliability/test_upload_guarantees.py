"""The upload path's guarantees under attack (issue 9): kill -9 in the middle of an --overwrite,
sources changed in place between an interrupted run and its resume, concurrent uploads, a
sandbox restarted on another port, hostile source folders.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from reliability_support import (
    BLOCK,
    Raw,
    file_sha256,
    make_weights,
    project_containers,
    sha256,
    start_app,
    upload_line,
)

from azmodels_magic.uploadstate import ReplaceIntent, UploadJournal, upload_key

CHILD = Path(__file__).with_name("crash_child.py")


def small_blocks(app) -> None:
    app.uploads.block_size, app.uploads.workers = BLOCK, 2


def start_child(
    app, source: Path, name: str, point: str, *extra: str, env: dict | None = None
) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(CHILD), app.sandbox_info.arm_endpoint, str(source), name, "1",
         point, *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def wait_paused(child: subprocess.Popen, point: str, timeout: float = 60) -> None:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    line = found[0] if found else ""
    why = child.stderr.read() if child.poll() is not None else ""
    assert line.strip() == f"PAUSED {point}", f"the child never reached {point}: {why}"


def kill(child: subprocess.Popen) -> None:
    try:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(15)
    finally:
        for stream in (child.stdin, child.stdout, child.stderr):
            stream.close()


def kill_at(app, source: Path, name: str, point: str, *extra: str) -> None:
    child = start_child(app, source, name, point, *extra)
    try:
        wait_paused(child, point)
    finally:
        kill(child)


def registered(raw: Raw, name: str) -> list[dict]:
    return [m for m in raw.registry() if m["name"] == name]


def check_stored(app, raw: Raw, name: str, source: Path) -> None:
    """Exactly one registration, on the bytes of `source`, whose SHA-256 tag describes them."""
    versions = registered(raw, name)
    assert [(m["version"], m["state"]) for m in versions] == [("1", "Succeeded")]
    stored = raw.download(name, "1")
    assert sha256(stored[source.name]) == file_sha256(source)
    assert versions[0]["tags"]["azmodels.sha256"] == file_sha256(source)


# -- 1. --overwrite killed with kill -9: a registered version at every instant -------------------


@pytest.mark.parametrize("point", ["blocks", "committed", "swap", "polling"])
def test_overwrite_killed_keeps_a_registered_version(app, tmp_path, point) -> None:
    raw = Raw(app.sandbox_info)
    name = f"ow-{point}"
    old = make_weights(tmp_path / "old", seed=1)
    new = make_weights(tmp_path / "new", seed=2)
    small_blocks(app)
    app.uploads.upload(base_model="gpt-4o", source=str(old), name=name, progress=False)

    kill_at(app, new, name, point, "--overwrite")

    if point != "swap":
        # Seen from outside, before any command of ours ran: the name was never left empty.
        assert [m["version"] for m in registered(raw, name)] == ["1"], (
            f"killed at {point}, the name was left with no registered version"
        )
    # The next command, any command, finds a registered version.
    outcome = app.execute(["show", name])
    assert outcome.value is not None
    assert [m["version"] for m in registered(raw, name)] == ["1"]
    assert ReplaceIntent.list_all() == [] or point in ("blocks", "committed"), (
        "the interrupted swap was not settled by the next command"
    )

    # and a re-run converges: the new bytes, registered once, their SHA-256 recorded
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o", source=str(new), name=name, overwrite=True, progress=False
    )
    check_stored(app, raw, name, new)
    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None and journal.status == "registered"
    assert ReplaceIntent.list_all() == []


# -- 2. a resume verifies the blocks an earlier run staged ---------------------------------------


def change_in_place(path: Path, offset: int, data: bytes) -> None:
    """Overwrite bytes keeping size and mtime (cp -p, rsync -t, a restore from backup)."""
    before = path.stat()
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_resume_restages_a_block_changed_in_place(app, tmp_path) -> None:
    raw = Raw(app.sandbox_info)
    name = "changed-in-place"
    source = make_weights(tmp_path, seed=21)
    kill_at(app, source, name, "blocks")  # three blocks staged and journaled
    journal = UploadJournal.load(app.uploads.key(name, "1"))
    staged = journal.file(source.name).block_ids
    assert staged, "the killed run staged nothing"
    first = int(staged[0].rsplit("-", 1)[1])
    change_in_place(source, first * BLOCK + 1000, os.urandom(64))

    small_blocks(app)
    report = app.uploads.upload(base_model="gpt-4o", source=str(source), name=name, progress=False)
    assert report.bytes_sent >= BLOCK, "the changed block was not sent again"
    # The recorded SHA-256 describes the stored bytes, which are the source's bytes now.
    check_stored(app, raw, name, source)
    assert report.sha256[source.name] == file_sha256(source)


def test_resume_of_a_journal_without_block_digests_sends_the_blocks_again(app, tmp_path) -> None:
    """A journal written before block digests existed cannot vouch for its blocks."""
    import json

    raw = Raw(app.sandbox_info)
    name = "old-journal"
    source = make_weights(tmp_path, seed=22)
    kill_at(app, source, name, "blocks")
    path = UploadJournal.load(app.uploads.key(name, "1")).path
    data = json.loads(path.read_text())
    for entry in data["files"]:
        entry.pop("block_digests", None)
    path.write_text(json.dumps(data))
    change_in_place(source, 1000, b"\x00" * 16)

    small_blocks(app)
    report = app.uploads.upload(base_model="gpt-4o", source=str(source), name=name, progress=False)
    assert report.bytes_skipped == 0
    check_stored(app, raw, name, source)


# -- 5. a sandbox restarted on another port keeps its resumable uploads -------------------------


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_restart_on_another_port_keeps_resumable_uploads(tmp_path) -> None:
    data = tmp_path / "state"
    source = make_weights(tmp_path, seed=31)
    name = "moved-port"
    first = start_app(data_dir=str(data))
    try:
        kill_at(first, source, name, "blocks")
        old_port = _port(first.sandbox_info.arm_endpoint)
    finally:
        first.close()
    second = start_app(data_dir=str(data))
    try:
        assert _port(second.sandbox_info.arm_endpoint) != old_port
        listed = second.execute(["uploads", "list"]).value
        assert name in list(listed["name"]), "the interrupted upload is orphaned"
        small_blocks(second)
        report = second.uploads.upload(
            base_model="gpt-4o", source=str(source), name=name, progress=False
        )
        assert 0 < report.bytes_skipped < source.stat().st_size, "it started over"
        check_stored(second, Raw(second.sandbox_info), name, source)
    finally:
        second.close()


def test_a_journal_under_an_old_full_endpoint_key_is_still_found(tmp_path, monkeypatch) -> None:
    """Journals written before the key left the port out are moved to their new name."""
    import hashlib
    import json

    from azmodels_magic.clients.blob import block_sizes_for
    from azmodels_magic.records import WeightFile
    from azmodels_magic.uploadstate import journal as journal_module

    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "cache"))
    source = make_weights(tmp_path, seed=32)
    st = source.stat()
    files = [WeightFile(source, source.name, size=st.st_size, mtime_ns=st.st_mtime_ns)]
    endpoint = "https://acct.services.ai.azure.com:443/api/projects/p"
    journal = UploadJournal.create(
        upload_key(endpoint, "m", "1"), name="m", version="1", source=str(source),
        pending_upload_id="pu", container_url="https://st.blob.core.windows.net/c",
        block_size=BLOCK, files=files, block_sizes=block_sizes_for(files, BLOCK),
    )  # fmt: skip
    journal.mark_staged(source.name, "00000-00000000", "d" * 32)
    journal.flush()
    data = json.loads(journal.path.read_text())
    data["key"] = f"{endpoint}|m|1"  # the old form: the endpoint as given, port included
    legacy = journal.path.with_name(hashlib.sha256(data["key"].encode()).hexdigest() + ".json")
    legacy.write_text(json.dumps(data))
    journal.path.unlink()
    journal_module._migrated.clear()  # as in a new process

    found = UploadJournal.load(upload_key(endpoint.replace(":443", ""), "m", "1"))
    assert found is not None and found.file(source.name).block_ids == ["00000-00000000"]
    assert not legacy.exists()


def test_two_sandboxes_side_by_side_keep_their_uploads_apart(app, tmp_path) -> None:
    """Both on loopback, same project name, same model name: two projects all the same."""
    other = start_app()
    try:
        source = make_weights(tmp_path, seed=33)
        assert app.uploads.key("side", "1") != other.uploads.key("side", "1")
        child = start_child(app, source, "side", "blocks")
        try:
            wait_paused(child, "blocks")  # holds its upload's lock, journal half written
            small_blocks(other)
            report = other.uploads.upload(
                base_model="gpt-4o", source=str(source), name="side", progress=False
            )
            assert report.bytes_skipped == 0 and report.model.ready
        finally:
            kill(child)
        assert [s.name for s in other.uploads.status() if s.name == "side"] == ["side"]
        [mine] = [s for s in app.uploads.status() if s.name == "side"]
        assert not mine.registered and mine.bytes_done > 0
    finally:
        other.close()


# -- 4. concurrency ------------------------------------------------------------------------------


def test_a_second_upload_of_the_same_version_is_refused_before_asking_for_a_slot(
    app, tmp_path
) -> None:
    from azmodels_magic.errors import ConflictError

    raw = Raw(app.sandbox_info)
    name = "twice-here"
    source = make_weights(tmp_path, seed=41)
    child = start_child(app, source, name, "blocks")
    try:
        wait_paused(child, "blocks")
        containers = set(raw.blob_count())
        with pytest.raises(ConflictError, match="in progress") as caught:
            app.execute(upload_line(str(source), name))
        assert f"process {child.pid}" in str(caught.value)
        assert set(raw.blob_count()) == containers, "the refused upload asked for a slot"
        # nor may its staged blocks be removed under it
        with pytest.raises(ConflictError, match="in progress"):
            app.execute(["uploads", "delete", "--path", f"{name}/1"])
    finally:
        kill(child)
    # the lock died with its process: the stale upload can be removed now
    outcome = app.execute(["uploads", "delete", "--path", f"{name}/1"])
    assert "Forgot upload" in outcome.message
    assert UploadJournal.load(app.uploads.key(name, "1")) is None


def stored_bytes(raw: Raw) -> dict[str, int]:
    """Bytes held (committed or staged) per container of the sandbox's Azurite (its key)."""
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
        f"AccountKey={raw.info.storage_key};BlobEndpoint={raw.info.blob_endpoint};"
    )
    service = BlobServiceClient.from_connection_string(conn)
    try:
        held = {}
        for container in project_containers(service):
            client = service.get_container_client(container.name)
            total = 0
            for blob in client.list_blobs(include=["uncommittedblobs"]):
                _, uncommitted = client.get_blob_client(blob.name).get_block_list("all")
                total += (blob.size or 0) + sum(b.size for b in uncommitted)
            held[container.name] = total
        return held
    finally:
        service.close()


def test_the_loser_of_two_uploads_from_two_machines_leaves_nothing_behind(app, tmp_path) -> None:
    """Two machines (two cache dirs) upload one name/version; the one that registers second
    removes its staged weights and its journal."""
    raw = Raw(app.sandbox_info)
    name = "twice-apart"
    mine = make_weights(tmp_path / "mine", seed=42)
    theirs = make_weights(tmp_path / "theirs", seed=43)
    before = set(raw.blob_count())
    other_cache = tmp_path / "other-machine"
    child = start_child(
        app, theirs, name, "gate-register", env={"AZMODELS_CACHE_DIR": str(other_cache)}
    )
    try:
        wait_paused(child, "gate-register")
        small_blocks(app)
        app.uploads.upload(
            base_model="gpt-4o", source=str(mine), name=name, progress=False
        )  # registers first
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(60) != 0
        error = child.stderr.read()
        assert "registered by another upload" in error
        assert "staged were removed" in error
    finally:
        kill(child)
    check_stored(app, raw, name, mine)
    held = stored_bytes(raw)
    registered_container = raw.read_sas(name, "1").split("?")[0].rstrip("/").rsplit("/", 1)[1]
    leftovers = {c: n for c, n in held.items() if c not in before and c != registered_container}
    # An upload slot's credential may write but not delete: its blobs are emptied.
    assert leftovers and all(n == 0 for n in leftovers.values()), leftovers
    assert not list((other_cache / "uploads").glob("*.json")), "the loser kept its journal"


def test_delete_during_another_process_overwrite_says_being_replaced(app, tmp_path) -> None:
    from azmodels_magic.errors import ConflictError

    raw = Raw(app.sandbox_info)
    name = "replaced-now"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o",
        source=str(make_weights(tmp_path / "a", seed=44)),
        name=name,
        progress=False,
    )
    new = make_weights(tmp_path / "b", seed=45)
    child = start_child(app, new, name, "blocks", "--overwrite")
    try:
        wait_paused(child, "blocks")
        with pytest.raises(ConflictError, match="being replaced"):
            app.execute(["delete", "--name", name, "--force"])
        with pytest.raises(ConflictError, match="being replaced"):
            app.models.delete_version(name, "1")
        assert [m["version"] for m in registered(raw, name)] == ["1"]
    finally:
        kill(child)


def test_overwriting_or_deleting_a_deployed_version_needs_force(app, tmp_path) -> None:
    from azmodels_magic.errors import ConflictError

    raw = Raw(app.sandbox_info)
    name = "deployed-one"
    old = make_weights(tmp_path / "a", seed=46)
    new = make_weights(tmp_path / "b", seed=47)
    small_blocks(app)
    app.uploads.upload(base_model="gpt-4o", source=str(old), name=name, progress=False)
    app.execute(["deploy", "--name", name, "--deployment-name", "serves-it"])

    plan = app.execute(upload_line(str(new), name, "--overwrite", "--dry-run")).value
    assert plan.in_use == ["serves-it"]
    assert any("serves-it" in str(v) for _, v in plan.rows())
    with pytest.raises(ConflictError, match=r"serves-it.*--force"):
        app.execute(upload_line(str(new), name, "--overwrite"))
    check_stored(app, raw, name, old)
    with pytest.raises(ConflictError, match=r"serves-it.*--force"):
        app.execute(["delete", "--name", name])
    assert [m["version"] for m in registered(raw, name)] == ["1"]

    small_blocks(app)
    done = app.execute(upload_line(str(new), name, "--overwrite", "--force", "--no-progress"))
    assert "serves-it now serves the new weights" in done.message
    check_stored(app, raw, name, new)
    app.execute(["delete", "--name", name, "--force"])
    assert registered(raw, name) == []


# -- 10. hostile source folders, and folders of thousands of files -------------------------------


@pytest.fixture
def offline():
    """An AzModels whose endpoints answer nothing: any network call would fail, so a refusal
    that comes back as ValidationError was decided before the network."""
    from azmodels_magic import AzModels
    from azmodels_magic.auth import StaticTokenCredential

    az = AzModels(
        credential=StaticTokenCredential("t"),
        project_endpoint="http://127.0.0.1:9/api/projects/p",
        arm_endpoint="http://127.0.0.1:9",
        subscription_id="s", resource_group="r", account="a", project="p",
        max_retries=0, progress=False,
    )  # fmt: skip
    yield az
    az.close()


def model_folder(tmp_path: Path, seed: int) -> Path:
    folder = tmp_path / "model"
    folder.mkdir(parents=True)
    make_weights(folder, seed=seed)
    return folder


def test_a_link_leading_outside_the_folder_needs_follow_symlinks(app, offline, tmp_path) -> None:
    from azmodels_magic.errors import ValidationError

    folder = model_folder(tmp_path, 51)
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("not part of the model\n")
    (folder / "notes.txt").symlink_to(secret)
    (folder / "config.json").write_text("{}")
    (folder / "same.json").symlink_to(folder / "config.json")  # inside: fine

    for az in (offline, app):
        with pytest.raises(ValidationError, match="--follow-symlinks") as caught:
            az.execute(upload_line(str(folder), "linked-out"))
        assert "notes.txt" in str(caught.value) and str(secret) in str(caught.value)
    assert registered(Raw(app.sandbox_info), "linked-out") == []

    plan = app.execute(
        upload_line(str(folder), "linked-out", "--follow-symlinks", "--dry-run")
    ).value
    shown = dict(plan.rows())
    assert str(secret) in shown["  notes.txt"]
    assert str(folder / "config.json") in shown["  same.json"]
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o",
        source=str(folder),
        name="linked-out",
        follow_symlinks=True,
        progress=False,
    )
    stored = Raw(app.sandbox_info).download("linked-out", "1")
    assert stored["notes.txt"] == secret.read_bytes()


@pytest.mark.parametrize(
    ("raw_name", "shown"),
    [(b"evil\x1b[2Jname.txt", "evil\\x1b[2Jname.txt"), (b"caf\xe9.txt", "caf\\xe9.txt"),
     (b"two\nlines.txt", "two\\x0alines.txt")],
)  # fmt: skip
def test_hostile_file_names_are_refused_before_the_network(
    offline, tmp_path, raw_name: bytes, shown: str
) -> None:
    from azmodels_magic.errors import ValidationError

    folder = model_folder(tmp_path, 52)
    with open(os.path.join(os.fsencode(folder), raw_name), "wb") as handle:
        handle.write(b"x")
    for line in (["--dry-run"], []):
        with pytest.raises(ValidationError) as caught:
            offline.execute(upload_line(str(folder), "hostile", *line))
        text = str(caught.value)
        assert shown in text, text
        assert "\x1b" not in text and "\n" not in text
        text.encode("utf-8")  # printable anywhere: no lone surrogate


def test_a_folder_of_thousands_of_files_registers_in_one_request(app, tmp_path) -> None:
    """2,000 small files are one registration, whatever their number (how long it takes is
    measured in benchmarks/azcopy.py, on a quiet machine, not here)."""
    folder = model_folder(tmp_path, 53)
    pieces = folder / "pieces"
    pieces.mkdir()
    for i in range(2000):
        (pieces / f"piece-{i:05d}.txt").write_text(f"piece {i}\n")
    foundry = app.connection.foundry
    calls: list[str] = []
    create_async = foundry.create_async

    def counted(*args, **kwargs):
        calls.append("createAsync")
        return create_async(*args, **kwargs)

    foundry.create_async = counted
    try:
        report = app.uploads.upload(
            base_model="gpt-4o", source=str(folder), name="many-files", progress=False
        )
    finally:
        del foundry.create_async
    assert len(report.plan.info.files) == 2001 and report.model.ready
    assert calls == ["createAsync"]


def test_an_interrupted_swap_whose_new_weights_are_gone_restores_the_old_version(
    app, tmp_path
) -> None:
    """kill -9 between deleting the old registration and registering the new one, then the new
    weights disappear: the next command puts the old registration back, as it was."""
    from azure.storage.blob import BlobServiceClient

    from azmodels_magic.sandbox.azurite import DEV_ACCOUNT

    raw = Raw(app.sandbox_info)
    name = "ow-rollback"
    old = make_weights(tmp_path / "old", seed=61)
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o", source=str(old), name=name, description="the first", progress=False
    )
    kill_at(app, make_weights(tmp_path / "new", seed=62), name, "swap", "--overwrite")
    assert registered(raw, name) == []  # the window the intent covers

    [intent] = [i for i in ReplaceIntent.list_all() if i.name == name]
    container = intent.new["blobUri"].rstrip("/").rsplit("/", 1)[1]
    conn = (
        f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};"
        f"AccountKey={raw.info.storage_key};BlobEndpoint={raw.info.blob_endpoint};"
    )
    with BlobServiceClient.from_connection_string(conn) as service:
        service.delete_container(container)

    outcome = app.execute(["show", name])
    assert outcome.value is not None
    check_stored(app, raw, name, old)
    assert registered(raw, name)[0]["description"] == "the first"
    assert [i for i in ReplaceIntent.list_all() if i.name == name] == []


def test_an_interrupted_overwrite_is_listed_with_how_to_finish_it(app, tmp_path) -> None:
    name = "ow-listed"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o",
        source=str(make_weights(tmp_path / "a", seed=63)),
        name=name,
        progress=False,
    )
    new = make_weights(tmp_path / "b", seed=64)
    kill_at(app, new, name, "blocks", "--overwrite")
    [status] = [s for s in app.uploads.status() if s.name == name]
    assert not status.registered and "--overwrite" in status.hint
    # and `uploads delete` removes what it staged, the registered version untouched
    message = app.execute(["uploads", "delete", "--path", f"{name}/1"]).message
    assert "removed" in message
    assert [m["version"] for m in registered(Raw(app.sandbox_info), name)] == ["1"]


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("http://127.0.0.1:5001/api/projects/p", "http://127.0.0.1:6002/api/projects/p", True),
        ("http://127.0.0.1:5001/api/projects/p", "http://localhost:5001/api/projects/p/", True),
        ("http://[::1]:5001/api/projects/p", "http://127.0.0.2:1/api/projects/p", True),
        ("https://A.services.ai.azure.com/api/projects/p",
         "https://a.services.ai.azure.com:443/api/projects/p", True),
        ("https://a.services.ai.azure.com/api/projects/p",
         "https://user@a.services.ai.azure.com/api/projects/p?x=1", True),
        ("https://a.services.ai.azure.com/api/projects/p",
         "https://b.services.ai.azure.com/api/projects/p", False),
        ("https://a.services.ai.azure.com/api/projects/p",
         "https://a.services.ai.azure.com/api/projects/q", False),
        ("http://127.evil.example/api/projects/p", "http://127.0.0.1/api/projects/p", False),
    ],
)  # fmt: skip
def test_the_journal_key_ignores_incidental_endpoint_details(one, other, same) -> None:
    assert (upload_key(one, "m", "1") == upload_key(other, "m", "1")) is same
    assert (upload_key(one, "m", "1") == upload_key(one, "m", "2")) is False


def test_an_interrupted_swap_is_finished_by_any_command_of_a_new_process(app, tmp_path) -> None:
    """The terminal front end, in a new process, running a command unrelated to uploads."""
    raw = Raw(app.sandbox_info)
    name = "ow-any-command"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o",
        source=str(make_weights(tmp_path / "a", seed=65)),
        name=name,
        progress=False,
    )
    new = make_weights(tmp_path / "b", seed=66)
    kill_at(app, new, name, "swap", "--overwrite")
    assert registered(raw, name) == []
    env = {**os.environ, "AZMODELS_SANDBOX": app.sandbox_info.arm_endpoint}
    done = subprocess.run(
        [sys.executable, "-m", "azmodels_magic.cli", "deployments", "list"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    check_stored(app, raw, name, new)


def test_an_interrupted_swap_is_finished_by_a_direct_python_call(app, tmp_path) -> None:
    """No command runs before `az.models.show(...)`: the service itself settles the swap a
    killed process left before it would answer that the model is not there."""
    raw = Raw(app.sandbox_info)
    name = "ow-python-call"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o",
        source=str(make_weights(tmp_path / "a", seed=67)),
        name=name,
        progress=False,
    )
    new = make_weights(tmp_path / "b", seed=68)
    kill_at(app, new, name, "swap", "--overwrite")
    assert registered(raw, name) == []
    app.models.invalidate()
    details = app.models.show(name, type="custom")
    assert details.model.name == name and details.versions == ["1"]
    check_stored(app, raw, name, new)
