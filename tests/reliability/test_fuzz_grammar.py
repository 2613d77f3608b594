"""Grammar fuzzing: whatever is typed after %azmodels (or given to the CLI), the grammar answers
with a parsed command or one of our errors: never a traceback, never SystemExit.
"""

from __future__ import annotations

import pytest
from azmodels_support import command_names
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azmodels_magic import grammar
from azmodels_magic.errors import AzModelsError

WORDS = sorted(
    {word for path in command_names() for word in path.split()}
    | {"help", "deployments", "uploads", "sandbox"}
)
FLAGS = [
    "--type", "--query", "--format", "-o", "--out", "--name", "--version", "--source", "--tags",
    "--description", "--overwrite", "--no-progress", "--dry-run", "--base-model", "--weight-type",
    "--keep-weights", "--force", "--set-tag", "--remove-tag", "--deployment-name", "--sku",
    "--capacity", "--region", "--no-wait", "--model", "--status", "--metrics", "--prefix",
    "--path", "--project-endpoint", "--subscription", "--sandbox", "--fault-rate", "--seed",
    "--page-size", "--help", "-h", "--", "-", "--capacity=", "--name=x", "--bogus",
]  # fmt: skip
VALUES = [
    "gpt-4o", "my-model", "1", "0", "-1", "1e9", "nan", "inf", "k=v", "=v", "k=", "x" * 300,
    "table", "json", "base", "custom", "all", "running", "GlobalStandard", "", " ", "'", '"',
    "\\", "{x}", "$HOME", "a/b", "../..", "\x00", "\u200b", "é", "😀", "%azmodels", "--",
]  # fmt: skip
SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

tokens = st.lists(
    st.one_of(st.sampled_from(WORDS), st.sampled_from(FLAGS), st.sampled_from(VALUES), st.text()),
    max_size=10,
)
# Lines that start like a real command, so the fuzzing reaches every sub-parser's checks.
commands = st.builds(
    lambda path, rest: [*path.split(), *rest], st.sampled_from(command_names()), tokens
)


def parse_or_our_error(argv) -> None:
    for stores_results in (True, False):  # the notebook's grammar and the terminal's (no -o)
        try:
            grammar.parse(argv, stores_results=stores_results)
        except AzModelsError as exc:  # UsageError, HelpRequested, ValidationError...
            assert str(exc).strip() or type(exc).__name__ == "HelpRequested"
        # anything else (SystemExit, TypeError, ...) fails the test with its traceback


@SETTINGS
@given(st.text(max_size=200))
def test_any_string(line: str) -> None:
    parse_or_our_error(line)


@SETTINGS
@given(tokens)
def test_any_argument_list(argv: list[str]) -> None:
    parse_or_our_error(argv)


@SETTINGS
@given(commands)
def test_commands_with_any_arguments(argv: list[str]) -> None:
    parse_or_our_error(argv)


@SETTINGS
@given(commands)
def test_joined_lines(argv: list[str]) -> None:
    import shlex

    parse_or_our_error(" ".join(shlex.quote(a) for a in argv))
    parse_or_our_error(" ".join(argv))  # unquoted: broken quoting must be our error too


# -- through the magic: parse, run (a stand-in handler, no network), print ------------------------


@pytest.fixture
def offline_magic(shell, monkeypatch):
    """The %azmodels magic with every command handler replaced by one that only answers: the
    fuzzing covers the front end (splitting, parsing, errors, output), not the services."""
    from azmodels_magic import commands

    def stand_in(app, args):
        return commands.Outcome(message=f"ran {args.path}")

    monkeypatch.setattr(commands, "handler_for", lambda path: stand_in)
    app = next(c for c in shell.configurables if type(c).__name__ == "AzModels")
    monkeypatch.setattr(app, "debug", False)
    return shell.find_line_magic("azmodels")


@SETTINGS
@given(line=st.one_of(st.text(max_size=120), commands.map(" ".join)))
def test_magic_line_never_tracebacks(offline_magic, line: str) -> None:
    from azmodels_magic.magics import DisplayedError

    try:
        offline_magic(line)
    except DisplayedError as exc:  # the one red line a user sees
        assert exc.kind != "InternalError", str(exc)
        assert "\n" not in str(exc)


@SETTINGS
@given(argv=st.one_of(tokens, commands))
def test_cli_never_raises(offline_magic, capsys, argv: list[str]) -> None:
    from azmodels_magic.cli import main

    code = main(argv)
    err = capsys.readouterr().err
    assert code in (0, 1, 2)
    if code:
        assert err.startswith("error: ") and err.count("\n") == 1, err
