"""Issue 17, round two: the loser of a two-machine --overwrite race (break 13), orphaned storage
(`uploads list` names it, `uploads prune` removes it) and a full disk failing fast. Over real
HTTP against the sandbox; two machines are two processes with their own AZMODELS_CACHE_DIR."""

from __future__ import annotations

from reliability_support import Raw, make_weights
from test_upload_guarantees import (
    check_stored,
    kill,
    small_blocks,
    start_child,
    stored_bytes,
    wait_paused,
)


def container_of(url: str) -> str:
    return url.split("?")[0].rstrip("/").rsplit("/", 1)[1]


# -- break 13: the loser of a two-machine --overwrite race ----------------------------------------


def test_the_loser_of_an_overwrite_race_says_whose_bytes_are_registered(app, tmp_path) -> None:
    """Machine B replaces version 1 and pauses between deleting the old registration and
    registering its own; machine A's upload registers meanwhile. B must not say its registration
    went through: it says A's weights are registered (not its own), and it empties what it
    staged; the replaced weights it could not remove are named, and its journal knows of them."""
    raw = Raw(app._sandbox_info)
    name = "race-ow"
    old = make_weights(tmp_path / "old", seed=61)
    mine = make_weights(tmp_path / "mine", seed=62)
    theirs = make_weights(tmp_path / "theirs", seed=63)
    small_blocks(app)
    app.uploads.upload(base_model="gpt-4o", source=str(old), name=name, progress=False)
    old_container = container_of(raw.read_sas(name, "1"))
    before = set(raw.blob_count())
    b_cache = tmp_path / "machine-b"
    child = start_child(
        app, theirs, name, "gate-register", "--overwrite", env={"AZMODELS_CACHE_DIR": str(b_cache)}
    )
    try:
        wait_paused(child, "gate-register")  # B deleted the old registration, registers next
        small_blocks(app)
        app.uploads.upload(
            base_model="gpt-4o", source=str(mine), name=name, overwrite=True, progress=False
        )
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(60) != 0, "the loser reported success"
        error = child.stderr.read().strip().splitlines()[-1]
    finally:
        kill(child)
    check_stored(app, raw, name, mine)
    registered_container = container_of(raw.read_sas(name, "1"))
    assert "registration was accepted" not in error, error
    assert "registered by another upload" in error, error
    assert registered_container in error, f"the loser does not say whose bytes: {error}"
    assert "staged were removed" in error, error
    assert old_container in error and "remain" in error, error
    held = stored_bytes(raw)
    b_slots = [c for c in held if c not in before and c != registered_container]
    assert b_slots and all(held[c] == 0 for c in b_slots), f"B's staged weights stay: {held}"
    assert not list((b_cache / "uploads").glob("*.replace")), "B left a replacement note"


def test_an_overwrite_replaced_elsewhere_before_its_swap_leaves_their_version(
    app, tmp_path
) -> None:
    """Machine B's new weights are stored; before it swaps, machine A replaces the version.
    B must not delete A's registration (one it never saw), nor fail on a cryptic refusal: it
    says A's weights are registered now, and empties what it staged."""
    raw = Raw(app._sandbox_info)
    name = "race-pre"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o", source=str(make_weights(tmp_path / "old", seed=64)), name=name,
        progress=False,
    )  # fmt: skip
    mine = make_weights(tmp_path / "mine", seed=65)
    theirs = make_weights(tmp_path / "theirs", seed=66)
    before = set(raw.blob_count())
    child = start_child(
        app, theirs, name, "gate-swap", "--overwrite",
        env={"AZMODELS_CACHE_DIR": str(tmp_path / "machine-b")},
    )  # fmt: skip
    try:
        wait_paused(child, "gate-swap")
        small_blocks(app)
        app.uploads.upload(
            base_model="gpt-4o", source=str(mine), name=name, overwrite=True, progress=False
        )
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.wait(60) != 0, "the loser reported success"
        error = child.stderr.read().strip().splitlines()[-1]
    finally:
        kill(child)
    check_stored(app, raw, name, mine)
    registered_container = container_of(raw.read_sas(name, "1"))
    assert "replaced by another upload" in error and registered_container in error, error
    assert "staged were removed" in error, error
    held = stored_bytes(raw)
    b_slots = [c for c in held if c not in before and c != registered_container]
    assert b_slots and all(held[c] == 0 for c in b_slots), f"B's staged weights stay: {held}"
