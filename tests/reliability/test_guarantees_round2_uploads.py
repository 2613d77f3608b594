"""Issue 17, round two, the upload items: a source rewritten during the read or between runs, a
finished run answering for other files, symlinked folders, the block plan of huge files and a
storage leg that refuses connections. Over real HTTP against the sandbox; hooks are the public
progress callbacks and the kill points of crash_child.py, never a mock of our clients."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from reliability_support import Raw, file_sha256, make_weights, sha256, start_app, upload_line
from test_upload_guarantees import change_in_place, kill_at, registered, small_blocks

from azmodels_magic.errors import AzModelsError, UploadError
from azmodels_magic.sample_weights import write_safetensors
from azmodels_magic.uploadstate import UploadJournal

BIG = {"w": ("F32", (2600, 1000))}  # ~10 MB: forty 256 KiB blocks, more than the read-ahead


class Hook:
    """A TransferProgress that runs `action` once, at its first update (a block is stored)."""

    def __init__(self, action, at: str = "update") -> None:
        self.action, self.at, self.fired = action, at, False

    def _fire(self) -> None:
        if not self.fired:
            self.fired = True
            self.action()

    def start(self, total: int) -> None:
        if self.at == "start":
            self._fire()

    def skip(self, nbytes: int) -> None:
        pass

    def update(self, nbytes: int) -> None:
        if self.at == "update":
            self._fire()


def rewrite(path: Path, seed: int, *, keep_mtime: bool) -> None:
    """Rewrite every byte of `path` in place, same size (another safetensors of the same shape)."""
    before = path.stat()
    other = write_safetensors(path.with_name("other.tmp"), BIG, seed=seed)
    data = other.read_bytes()
    other.unlink()
    assert len(data) == before.st_size
    with open(path, "r+b") as handle:
        handle.write(data)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


# -- break 2: a file rewritten in place while it is read ------------------------------------------


@pytest.mark.parametrize("keep_mtime", [False, True], ids=["mtime-moves", "mtime-restored"])
def test_a_file_rewritten_during_the_upload_fails_it_and_registers_nothing(
    app, tmp_path, keep_mtime
) -> None:
    """Rewritten (same size) once its first block is stored: the bytes read so far and the ones
    still to read belong to two files; the upload fails naming it, and nothing is registered."""
    raw = Raw(app.sandbox_info)
    name = f"rewritten-{'keep' if keep_mtime else 'move'}"
    source = write_safetensors(tmp_path / "model.safetensors", BIG, seed=1)
    hook = Hook(lambda: rewrite(source, 2, keep_mtime=keep_mtime))
    small_blocks(app)
    with pytest.raises(UploadError) as failed:
        app.uploads.upload(base_model="gpt-4o", source=str(source), name=name, progress=hook)
    assert hook.fired
    text = str(failed.value)
    assert "model.safetensors" in text and "changed while it was read" in text, text
    assert "\n" not in text
    assert registered(raw, name) == []
    # The journal stays, and the next run (the file no longer changing) stores it as it is now.
    assert UploadJournal.load(app.uploads.key(name, "1")) is not None
    small_blocks(app)
    report = app.uploads.upload(base_model="gpt-4o", source=str(source), name=name, progress=False)
    assert report.sha256[source.name] == file_sha256(source)
    assert sha256(raw.download(name, "1")[source.name]) == file_sha256(source)


# -- break 3: a resume re-verifies the files an interrupted run committed ------------------------


def test_a_resume_re_reads_a_committed_file_changed_in_place(app, tmp_path) -> None:
    """Killed with every file committed and verified; the file then changes keeping size and
    mtime: the resume must store and register the bytes there now, not the stale copy."""
    raw = Raw(app.sandbox_info)
    name = "committed-changed"
    source = make_weights(tmp_path, seed=31)
    kill_at(app, source, name, "register")
    journal = UploadJournal.load(app.uploads.key(name, "1"))
    assert journal is not None and journal.complete, "the killed run committed nothing"
    change_in_place(source, 5000, os.urandom(64))

    small_blocks(app)
    report = app.uploads.upload(base_model="gpt-4o", source=str(source), name=name, progress=False)
    assert report.bytes_sent == source.stat().st_size, "the changed file was not sent again"
    assert report.sha256[source.name] == file_sha256(source)
    stored = raw.download(name, "1")
    assert sha256(stored[source.name]) == file_sha256(source)
    assert registered(raw, name)[0]["tags"]["azmodels.sha256"] == file_sha256(source)


# -- break 4: a finished earlier run answers only for its own files -------------------------------


def _folder(path: Path, seed: int, extra: str | None = None) -> Path:
    path.mkdir(parents=True)
    make_weights(path, seed=seed)
    if extra:
        (path / extra).write_text("{}")
    return path


@pytest.mark.parametrize("other", ["other-files", "same-names-other-bytes"])
def test_a_finished_run_of_folder_a_does_not_answer_for_folder_b(app, tmp_path, other) -> None:
    """Folder A's run is killed once its registration was accepted; an upload of B under the
    same name is refused (one line: what differs, --overwrite) and A stays registered as it
    was. With --overwrite, B replaces it."""
    raw = Raw(app.sandbox_info)
    name = f"done-{other[:5]}"
    a = _folder(tmp_path / "a", seed=41)
    kill_at(app, a, name, "polling")
    assert UploadJournal.load(app.uploads.key(name, "1")).status == "uploaded"
    if other == "other-files":
        b = _folder(tmp_path / "b", seed=42, extra="config.json")
    else:  # the same names, sizes and mtimes: only the bytes tell them apart
        b = _folder(tmp_path / "b", seed=43)
        st = (a / "model.safetensors").stat()
        os.utime(b / "model.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns))
    stored_a = raw.download(name, "1") if raw.wait_settled() else None

    small_blocks(app)
    with pytest.raises(AzModelsError) as refused:
        app.execute(upload_line(str(b), name, "--no-progress"))
    text = str(refused.value)
    assert "--overwrite" in text and "\n" not in text, text
    assert ("config.json" if other == "other-files" else "model.safetensors") in text, text
    assert raw.download(name, "1") == stored_a, "A's registration must be left as it was"

    small_blocks(app)
    done = app.execute(upload_line(str(b), name, "--overwrite",
                        "--no-progress"))  # fmt: skip
    assert "already stored by an earlier run" not in done.message
    stored = raw.download(name, "1")
    assert sha256(stored["model.safetensors"]) == file_sha256(b / "model.safetensors")


# -- risk: storage gone fails within seconds, and keeps the journal -------------------------------


def _kill_azurite(info) -> None:
    import psutil

    found = [
        p
        for p in psutil.Process(info.pid).children(recursive=True)
        if "azurite" in " ".join(p.cmdline()).lower()
    ]
    assert found, "no Azurite process under the sandbox"
    for process in found:
        process.kill()
    psutil.wait_procs(found, timeout=10)


def test_storage_refusing_connections_fails_the_upload_within_seconds(tmp_path) -> None:
    """Azurite killed once the slot is taken (the REST planes still answer): the blob leg's
    refused connections end the upload in seconds (it took 86-89 s), in one line saying so,
    and the journal stays for a resume."""
    app = start_app(retry_backoff=0.5)  # the default backoff: its retries are what took long
    try:
        source = write_safetensors(tmp_path / "model.safetensors", BIG, seed=5)
        killed: list[float] = []

        def kill() -> None:
            _kill_azurite(app.sandbox_info)
            killed.append(time.monotonic())

        small_blocks(app)
        with pytest.raises(AzModelsError) as failed:
            app.uploads.upload(
                base_model="gpt-4o",
                source=str(source),
                name="storage-gone",
                progress=Hook(kill, "start"),
            )
        took = time.monotonic() - killed[0]
        text = str(failed.value)
        assert "refused the connection" in text and "\n" not in text, text
        assert took < 10, f"took {took:.1f} s"
        assert UploadJournal.load(app.uploads.key("storage-gone", "1")) is not None
    finally:
        app.close()


# -- risk: the dry run's block plan is the upload's, and too large a file is refused first --------

MIB = 1024 * 1024


def _with_sparse(folder: Path, size: int) -> Path:
    """A model folder with a sparse file of `size` bytes (no real bytes on disk)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_weights(folder, seed=61)
    with open(folder / "huge.dat", "wb") as handle:
        handle.truncate(size)
    return folder


def test_a_5_tib_file_is_planned_with_the_blocks_the_upload_uses(app, tmp_path) -> None:
    """50,000 blocks at most: 5 TiB in 128 MiB blocks (40,960 of them), not 327,680 blocks of
    16 MiB the service would refuse, plus one Put Blob for the small file."""
    folder = _with_sparse(tmp_path / "m", 5 * 1024**4)
    plan = app.execute(upload_line(str(folder), "huge-5t", "--dry-run")).value
    shown = dict(plan.rows())["Block plan"]
    from azmodels_magic.sizes import human_size

    small = (folder / "model.safetensors").stat().st_size
    small_count = 1 if small <= plan.block_size else -(-small // plan.block_size)
    expected = f"{40960 + small_count} blocks of up to {human_size(128 * MIB)},"
    assert shown.startswith(expected), shown


@pytest.fixture
def roomy(tmp_path):
    """A folder on a file system that holds a 200 TiB sparse file (tmpfs does, ext4 does not)."""
    import tempfile

    if not os.path.isdir("/dev/shm"):
        pytest.skip("no tmpfs at /dev/shm for a 200 TiB sparse file")
    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="azmodels-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_file_over_the_block_blob_limit_is_refused_before_a_slot(app, roomy) -> None:
    """Over 50,000 x 4,000 MiB (190.7 TiB): one line naming the file, in the dry run and in
    the upload, which asks for no slot and writes no journal."""
    from azmodels_magic.errors import ValidationError

    folder = _with_sparse(roomy / "m", 200 * 1024**4)
    raw = Raw(app.sandbox_info)
    before = raw.blob_count()
    for extra in (["--dry-run"], []):
        with pytest.raises(ValidationError) as refused:
            app.execute(upload_line(str(folder), "huge-200t", *extra))
        text = str(refused.value)
        assert "huge.dat" in text and "50,000 blocks" in text and "\n" not in text, text
    assert raw.blob_count() == before, "a slot (its container) was asked for"
    assert UploadJournal.load(app.uploads.key("huge-200t", "1")) is None


# -- break 5: symlinked folders are followed when asked, else named -------------------------------


def _linked_model(tmp_path: Path) -> tuple[Path, Path]:
    """A model folder with a symlinked folder inside (to its own subfolder) and one leading
    outside it."""
    folder = _folder(tmp_path / "model", seed=71)
    (folder / "real").mkdir()
    (folder / "real" / "inside.json").write_text('{"inside": 1}')
    (folder / "alias").symlink_to(folder / "real", target_is_directory=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "tokenizer.json").write_text('{"outside": 1}')
    (folder / "tok").symlink_to(outside, target_is_directory=True)
    return folder, outside


def test_symlinked_folders_are_named_when_not_followed(app, tmp_path) -> None:
    raw = Raw(app.sandbox_info)
    folder, _ = _linked_model(tmp_path)
    plan = app.execute(upload_line(str(folder), "linked-dirs", "--dry-run")).value
    shown = dict(plan.rows())
    assert "2 symlinked folders (alias/, tok/)" in shown["Skipped"], shown
    assert "--follow-symlinks" in shown["Skipped"]

    small_blocks(app)
    done = app.execute(upload_line(str(folder), "linked-dirs", "--no-progress"))
    assert "skipped: 2 symlinked folders (alias/, tok/)" in done.message, done.message
    assert set(raw.download("linked-dirs", "1")) == {"model.safetensors", "real/inside.json"}


def test_symlinked_folders_are_followed_when_asked(app, tmp_path) -> None:
    raw = Raw(app.sandbox_info)
    folder, outside = _linked_model(tmp_path)
    plan = app.execute(
        upload_line(str(folder), "follow-dirs", "--follow-symlinks", "--dry-run")
    ).value
    shown = dict(plan.rows())
    assert str(outside / "tokenizer.json") in shown["  tok/tokenizer.json"]
    assert "Skipped" not in shown

    small_blocks(app)
    app.execute(upload_line(str(folder), "follow-dirs", "--follow-symlinks",
                 "--no-progress"))  # fmt: skip
    stored = raw.download("follow-dirs", "1")
    assert stored["tok/tokenizer.json"] == b'{"outside": 1}'
    assert stored["alias/inside.json"] == stored["real/inside.json"] == b'{"inside": 1}'


def test_a_symlinked_folder_loop_is_refused_in_one_line(app, tmp_path) -> None:
    from azmodels_magic.errors import ValidationError

    folder = _folder(tmp_path / "model", seed=72)
    (folder / "sub").mkdir()
    (folder / "sub" / "back").symlink_to(folder, target_is_directory=True)
    for extra in (["--dry-run"], []):
        with pytest.raises(ValidationError) as refused:
            app.execute(upload_line(str(folder), "loop-dirs", "--follow-symlinks", *extra))
        text = str(refused.value)
        assert "sub/back/" in text and "loop" in text and "\n" not in text, text
    assert registered(Raw(app.sandbox_info), "loop-dirs") == []
