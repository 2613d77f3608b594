"""The grammar: every command parses, bad input is one usage line, help is text."""

from __future__ import annotations

import argparse

import pytest
from azmodels_support import command_names

from azmodels_magic import grammar
from azmodels_magic.errors import HelpRequested, UsageError
from azmodels_magic.steps import NOTEBOOK, TERMINAL


@pytest.mark.parametrize(
    ("line", "path", "checks"),
    [
        ("list --type base -o df", "list", {"type": "base", "out": "df"}),
        ("list --query 'gpt*'", "list", {"query": "gpt*", "type": "all"}),
        ("show gpt-4o --version 2024-11-20", "show", {"name": "gpt-4o", "version": "2024-11-20"}),
        ("show --name my-model --type custom", "show", {"name": "my-model", "type": "custom"}),
        (
            "upload --source w.safetensors --name my-model --tags team=nlp stage=dev",
            "upload",
            {"tags": [("team", "nlp"), ("stage", "dev")], "version": "1"},
        ),
        (
            "deploy --name gpt-4o --deployment-name chat --capacity 10 --no-wait",
            "deploy",
            {"capacity": 10, "no_wait": True, "deployment_name": "chat"},
        ),
        ("deployments scale --name chat --capacity 5", "deployments scale", {"capacity": 5}),
        ("deployments list --status running", "deployments list", {"status": "running"}),
        ("uploads list --prefix my", "uploads list", {"prefix": "my"}),
        ("sandbox start --fault-rate 0.2 --seed 3", "sandbox start", {"fault_rate": 0.2}),
        ("update --name m1 --version 2 --remove-tag a b", "update", {"remove_tag": ["a", "b"]}),
    ],
)
def test_commands_parse_to_their_path_and_values(line, path, checks):
    args = grammar.parse(line, prog="%azmodels")
    assert args.path == path
    for key, value in checks.items():
        assert getattr(args, key) == value


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("nonsense", "unknown command 'nonsense'"),
        ("list --bogus", "unrecognized arguments: --bogus"),
        ("list --type weird", "'weird' is not one of base, custom, all"),
        ("deploy --name m --deployment-name dd --capacity 0", "between 1 and"),
        ("deploy --name m --deployment-name dd --capacity -1", "capacity"),
        ("deploy --name m --deployment-name dd --capacity ten", "whole number, got 'ten'"),
        ("deploy --name m --deployment-name dd --capacity 99999999999", "between 1 and"),
        ("deploy --name m --deployment-name 'bad name!'", "not a valid deployment name"),
        ("upload --source x --name 1model", "not a valid model name"),
        ("upload --source x --name m" + "x" * 40, "not a valid model name"),
        ("upload --source x --name good --version 'v 1'", "not a valid version"),
        ("upload --source x --name good --tags novalue", "must look like key=value"),
        ("upload --source x --name good --tags azmodels.size=1", "reserved"),
        ("upload --name good", "required: --source"),
        ("show", "needs a model name"),
        ("show a --name b", "two names"),
        ("deployments scale --name d", "required: --capacity"),
        ("list -o 'not a var'", "not a Python variable name"),
        ("list 'unclosed", "cannot read the command line"),
    ],
)
def test_bad_input_is_one_usage_line(line, fragment):
    with pytest.raises(UsageError) as caught:
        grammar.parse(line, prog="%azmodels")
    text = str(caught.value)
    assert fragment in text
    assert "\n" not in text
    assert "Traceback" not in text


def test_usage_error_points_at_the_subcommand_help():
    from azmodels_magic.steps import PYTHON

    with pytest.raises(UsageError) as caught:
        grammar.parse("deploy --capacity x", prog="%azmodels")
    assert "See `%azmodels deploy --help`." in caught.value.text(NOTEBOOK.write)
    assert "See `az.run('deploy --help')`." in caught.value.text(PYTHON.write)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("help", "deployments"),
        ("", "usage: azmodels"),
        ("deploy --help", "--deployment-name"),
        ("help deployments scale", "--capacity N"),
        ("deployments", "scale"),
    ],
)
def test_help_is_text_not_an_exit(line, expected):
    with pytest.raises(HelpRequested) as caught:
        grammar.parse(line)
    assert expected in caught.value.message


def test_command_names_cover_the_design_grammar():
    names = set(command_names())
    for path in (
        "list", "show", "upload", "delete", "update", "deploy", "deployments list",
        "deployments show", "deployments delete", "deployments scale", "uploads list",
        "uploads show", "connect", "sandbox start", "help",
    ):  # fmt: skip
        assert path in names


def test_upload_lora_and_publisher_flags_parse_and_check_their_values():
    args = grammar.parse(
        "upload --source w --name mm --base-model gpt-4o --weight-type LoRA --lora-rank 8 "
        "--lora-alpha 16 --lora-target-modules q_proj v_proj --lora-dropout 0.05 "
        "--publisher contoso"
    )
    assert (args.lora_rank, args.lora_alpha, args.lora_dropout) == (8, 16, 0.05)
    assert args.lora_target_modules == ["q_proj", "v_proj"]
    assert (args.publisher, args.base_model, args.weight_type) == ("contoso", "gpt-4o", "LoRA")
    for flags, complaint in (
        ("--lora-rank 0", "whole number > 0"),
        ("--lora-alpha -3", "whole number > 0"),
        ("--lora-rank eight", "whole number, got 'eight'"),
        ("--lora-dropout 1.5", "from 0 to 1"),
        ("--lora-target-modules", "expected at least one argument"),
    ):
        with pytest.raises(UsageError, match=complaint):
            grammar.parse(f"upload --source w --name mm {flags}")


# -- the command table is the grammar's only source ----------------------------------------------


def _leaf(parser, path: str):
    for word in path.split():
        parser = grammar._subparser(parser, word)
    return parser


def test_every_command_and_argument_of_the_grammar_comes_from_the_table():
    from azmodels_magic.commands import table

    root = grammar.build_parser()
    declared = table.commands()
    words = next(a for a in root._actions if isinstance(a, argparse._SubParsersAction)).choices
    assert set(words) == {path.split()[0] for path in declared} | {"help"}
    for path, command in declared.items():
        assert callable(command.handler), path
        parser = _leaf(root, path)
        assert parser.command is command
        for action in parser._actions:
            if action.dest != "help":  # argparse's own --help
                argument = parser.argument_of[action.dest]  # completion reads its kind here
                assert isinstance(argument.kind, table.Kind), (path, action.dest)
    assert set(table.groups()) == {"uploads", "deployments", "accounts", "sandbox"}


def test_a_commands_declared_arguments_can_be_read():
    from azmodels_magic.commands.table import Kind, arguments

    deploy = {a.dest: a for a in arguments("deploy")}
    assert deploy["name"].kind is Kind.MODEL and deploy["name"].positional
    assert deploy["capacity"].type("5") == 5  # the rule the grammar checks with
    assert deploy["region"].kind is Kind.REGION
    assert "out" in deploy
    assert "out" not in {a.dest for a in arguments("deploy", stores_results=False)}
    key = {a.dest: a for a in arguments("deployments key")}
    assert key["name"].kind is Kind.DEPLOYMENT


# Values for the arguments a command requires besides its bare word.
_REQUIRED = {"source": "w.safetensors", "capacity": "5", "version": "1"}


def _bare_word_commands():
    from azmodels_magic.commands import table

    for path, command in table.commands().items():
        for argument in command.arguments:
            if argument.positional:
                yield pytest.param(path, command, argument, id=path)


@pytest.mark.parametrize(("path", "command", "argument"), list(_bare_word_commands()))
def test_a_bare_word_and_its_flag_parse_to_the_same_arguments(path, command, argument):
    value = "tiny/1" if argument.flag == "--path" else "tiny"
    others = [
        word
        for a in command.arguments
        if a.required and not a.positional
        for word in (a.flag, _REQUIRED[a.dest])
    ]
    as_word = grammar.parse([*path.split(), value, *others])
    as_flag = grammar.parse([*path.split(), argument.flag, value, *others])
    assert vars(as_word) == vars(as_flag)
    assert getattr(as_word, argument.dest) == value
    assert not [k for k in vars(as_word) if k.endswith("_positional")]
    both = grammar.parse([*path.split(), value, argument.flag, value, *others])
    assert vars(both) == vars(as_flag)  # the same value twice is fine
    with pytest.raises(UsageError) as caught:
        grammar.parse([*path.split(), value, argument.flag, value + "x", *others])
    assert f"two {argument.noun}s" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("line", "checks"),
    [
        ("deployments show chat", {"name": "chat"}),
        ("deployments key chat", {"name": "chat"}),
        ("deployments scale chat --capacity 3", {"name": "chat", "capacity": 3}),
        ("uploads show tiny/1", {"upload_path": "tiny/1"}),
        ("uploads delete --path tiny/1", {"upload_path": "tiny/1"}),
        ("deploy gpt-4o --deployment-name chat", {"name": "gpt-4o", "deployment_name": "chat"}),
        ("regions gpt-4o --capacity 10", {"name": "gpt-4o", "capacity": 10}),
        ("delete my-model --version 2", {"name": "my-model", "version": "2"}),
    ],
)
def test_names_and_paths_as_bare_words(line, checks):
    args = grammar.parse(line)
    for key, value in checks.items():
        assert getattr(args, key) == value


def test_a_bare_word_is_checked_by_the_same_rule_as_its_flag():
    with pytest.raises(UsageError, match="not a valid model name"):
        grammar.parse("update 1bad --version 1")


def test_a_missing_bare_word_says_both_forms():
    with pytest.raises(UsageError) as caught:
        grammar.parse("deployments show", prog="azmodels")
    assert caught.value.text(TERMINAL.write) == (
        "deployments show needs a deployment name: `azmodels deployments show NAME` "
        "(required: --name NAME, or NAME alone)."
    )
    with pytest.raises(UsageError, match=r"required: --source, --name\. See `az.run\('upload"):
        grammar.parse("upload")
    with pytest.raises(HelpRequested) as caught:  # required options are shown as required
        grammar.parse("upload --help")
    assert "upload [-h] --source PATH [--name NAME]" in caught.value.message


def test_out_only_where_a_result_is_stored_and_never_in_the_terminal():
    from azmodels_magic.commands.table import Output, commands

    notebook = grammar.build_parser("%azmodels")
    terminal = grammar.build_parser("azmodels", stores_results=False)
    for path, command in commands().items():
        stores = command.output is not Output.NONE
        assert ("-o" in _leaf(notebook, path)._option_string_actions) == stores, path
        assert "-o" not in _leaf(terminal, path)._option_string_actions, path
        assert "-o VAR" not in _leaf(terminal, path).format_help(), path
    for action in ("delete", "deployments delete", "deployments key", "uploads delete",
                   "uploads prune", "connect", "sandbox start"):  # fmt: skip
        assert commands()[action].output is Output.NONE, action
    assert grammar.parse("list -o frame", prog="%azmodels").out == "frame"
    with pytest.raises(UsageError) as caught:
        grammar.parse("list -o frame", stores_results=False)
    assert "leave it out here" in str(caught.value)


def test_the_terminal_help_has_no_out_option(capsys):
    from azmodels_magic.cli import main

    assert main(["help", "list"]) == 0
    listed = capsys.readouterr().out
    assert "--format" in listed and "-o VAR" not in listed and "--out" not in listed


@pytest.mark.parametrize(
    ("line", "suggestion"),
    [
        ("deplyo", "Did you mean deploy?"),
        ("lsit", "Did you mean list?"),
        ("deployments shwo", "Did you mean show?"),
        ("uploads prnue", "Did you mean prune?"),
    ],
)
def test_a_mistyped_command_gets_did_you_mean(line, suggestion):
    with pytest.raises(UsageError) as caught:
        grammar.parse(line, prog="%azmodels")
    text = str(caught.value)
    assert suggestion in text and "\n" not in text
    assert f"unknown command '{line.split()[-1]}'" in text


def test_help_for_a_mistyped_command_gets_did_you_mean():
    with pytest.raises(UsageError, match=r"no help for 'deplyo'\. Did you mean deploy\?"):
        grammar.parse("help deplyo")
    with pytest.raises(UsageError, match=r"no help for 'zzzz'\. Run `az.run\('help'\)`"):
        grammar.parse("help zzzz")


def test_a_mistyped_flag_gets_did_you_mean():
    with pytest.raises(UsageError) as caught:
        grammar.parse("deployments show chat --metircs", prog="%azmodels")
    assert caught.value.text(NOTEBOOK.write) == (
        "unrecognized arguments: --metircs. Did you mean --metrics? "
        "See `%azmodels deployments show --help`."
    )
    with pytest.raises(UsageError) as caught:
        grammar.parse("list --bogus")
    assert "Did you mean" not in str(caught.value)


def test_a_command_far_from_any_lists_them_all():
    with pytest.raises(UsageError) as caught:
        grammar.parse("zzzzzz")
    assert "Did you mean" not in str(caught.value)
    assert "Choose one of list, show" in str(caught.value)


def test_the_table_loads_no_service():
    """Building the grammar loads every command module; their handlers load the services."""
    import json
    import subprocess
    import sys

    script = (
        "import sys, json\n"
        "from azmodels_magic import grammar\n"
        "grammar.build_parser()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith("
        "('azmodels_magic.services', 'azmodels_magic.clients', 'requests', 'pandas')))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_out_on_a_command_that_stores_nothing_is_its_own_line():
    """`-o v` on a pure action is said as such, before `v` could be read as a second name."""
    with pytest.raises(UsageError) as caught:
        grammar.parse("deployments delete --name x -o v", prog="%azmodels")
    assert str(caught.value) == "deployments delete returns nothing to store: leave out -o."
    with pytest.raises(UsageError) as caught:
        grammar.parse("delete --name m --out=v", prog="%azmodels")
    assert str(caught.value) == "delete returns nothing to store: leave out --out."


def test_an_argument_error_is_a_sentence_before_its_advice():
    with pytest.raises(UsageError) as caught:
        grammar.parse("deploy x --deployment-name=_x", prog="azmodels", stores_results=False)
    text = caught.value.text(TERMINAL.write)
    assert text.endswith("starting with a letter or digit. See `azmodels deploy --help`."), text
