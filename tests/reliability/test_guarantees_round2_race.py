"""Issue 17, round two: the loser of a two-machine --overwrite race (break 13), orphaned storage
(`uploads list` names it, `uploads prune` removes it) and a full disk failing fast. Over real
HTTP against the sandbox; two machines are two processes with their own AZMODELS_CACHE_DIR."""

from __future__ import annotations

from azmodels_support import command_names
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


def _lose_race(app, raw, child, point: str, mine, name: str) -> tuple[str, str]:
    """Machine A overwrites while machine B (`child`) waits at `point`, then B goes on: B's last
    error line (it must fail) and the container now registered (A's bytes, checked)."""
    try:
        wait_paused(child, point)
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
    return error, container_of(raw.read_sas(name, "1"))


# -- break 13: the loser of a two-machine --overwrite race ----------------------------------------


def test_the_loser_of_an_overwrite_race_says_whose_bytes_are_registered(app, tmp_path) -> None:
    """Machine B replaces version 1 and pauses between deleting the old registration and
    registering its own; machine A's upload registers meanwhile. B must not say its registration
    went through: it says A's weights are registered (not its own), and it empties what it
    staged; the replaced weights it could not remove are named, and its journal knows of them."""
    raw = Raw(app.sandbox_info)
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
    # B deleted the old registration and registers next; A overwrites meanwhile.
    error, registered_container = _lose_race(app, raw, child, "gate-register", mine, name)
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
    raw = Raw(app.sandbox_info)
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
    error, registered_container = _lose_race(app, raw, child, "gate-swap", mine, name)
    assert "replaced by another upload" in error and registered_container in error, error
    assert "staged were removed" in error, error
    held = stored_bytes(raw)
    b_slots = [c for c in held if c not in before and c != registered_container]
    assert b_slots and all(held[c] == 0 for c in b_slots), f"B's staged weights stay: {held}"


# -- orphaned storage: listed by `uploads list`, removed by `uploads prune` -----------------------


def test_orphaned_storage_is_listed_and_pruned_honestly(app, tmp_path, monkeypatch) -> None:
    """An --overwrite killed mid-transfer, then another --overwrite of other files: the killed
    run's slot and the replaced version's weights are orphaned. `uploads list` says so; `prune
    --dry-run` changes nothing; `prune` empties the slot it has a credential for, and lists the
    replaced weights (readable only) as left, with why, never as removed."""
    from test_upload_guarantees import kill_at

    from azmodels_magic.results.uploads import PruneReport

    monkeypatch.setenv("AZMODELS_CACHE_DIR", str(tmp_path / "cache"))
    raw = Raw(app.sandbox_info)
    name = "prune-me"
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o", source=str(make_weights(tmp_path / "a", seed=71)), name=name,
        progress=False,
    )  # fmt: skip
    replaced = container_of(raw.read_sas(name, "1"))
    before = set(raw.blob_count())
    kill_at(app, make_weights(tmp_path / "b", seed=72), name, "blocks", "--overwrite")
    killed = [c for c in raw.blob_count() if c not in before]
    assert len(killed) == 1 and stored_bytes(raw)[killed[0]] > 0
    final = make_weights(tmp_path / "c", seed=73)
    small_blocks(app)
    app.uploads.upload(
        base_model="gpt-4o", source=str(final), name=name, overwrite=True, progress=False
    )
    check_stored(app, raw, name, final)

    listed = app.execute(["uploads", "list"])
    orphaned = [st for st in listed.value["state"] if st.startswith("orphaned")]
    assert len(orphaned) == 2, listed.value[["path", "state"]]
    assert "2 orphaned" in listed.message and "uploads prune" in listed.message

    held = stored_bytes(raw)
    dry = app.execute(["uploads", "prune", "--dry-run"])
    assert "Dry run" in dry.message and killed[0] in dry.message and replaced in dry.message
    assert stored_bytes(raw) == held, "a dry run changed storage"
    assert isinstance(app.uploads.prune(dry_run=True), PruneReport)

    done = app.execute(["uploads", "prune"])
    held = stored_bytes(raw)
    assert held[killed[0]] == 0, "the killed run's slot was not emptied"
    assert held[replaced] > 0
    removed, left = done.message.split("Left", 1)
    assert killed[0] in removed and replaced not in removed, done.message
    assert replaced in left and "read-only" in left, done.message
    check_stored(app, raw, name, final)
    again = [st for st in app.execute(["uploads", "list"]).value["state"]]
    assert sum(st.startswith("orphaned") for st in again) == 1, again


def test_prune_is_in_the_grammar_with_help_saying_what_it_can_find() -> None:
    from azmodels_magic import grammar

    assert "uploads prune" in command_names()
    assert grammar.parse(["uploads", "prune", "--dry-run"]).dry_run is True
    assert grammar.parse(["uploads", "prune"]).dry_run is False
    helped = " ".join(grammar.build_parser().format_help().split())
    prune = grammar._subparser(grammar._subparser(grammar.build_parser(), "uploads"), "prune")
    text = " ".join(prune.format_help().split())
    assert "Only what this machine's journals know of can be found" in text, text
    assert "uploads" in helped
