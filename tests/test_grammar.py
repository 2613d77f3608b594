"""The grammar: every command parses, bad input is one usage line, help is text."""

from __future__ import annotations

import pytest

from azmodels_magic import grammar
from azmodels_magic.errors import HelpRequested, UsageError


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
    from azmodels_magic.steps import NOTEBOOK, PYTHON

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
    names = set(grammar.command_names())
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
