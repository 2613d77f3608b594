"""The one command grammar, defined once for the magic, the CLI and `%azmodels help`.

Values are checked here, before any network call, whenever the rule is known without the service
(names, versions, tags, capacity). Parse errors raise `UsageError` (one line, no SystemExit);
`--help` raises `HelpRequested` carrying the text, so each front end prints it its own way.
"""

from __future__ import annotations

import argparse
import re
import shlex
from functools import lru_cache

from .errors import HelpRequested, UsageError
from .rules import (  # noqa: F401 - the grammar's checks are the rules
    DEPLOYMENT_NAME,
    FORMATS,
    MAX_CAPACITY,
    MODEL_NAME,
    STATUSES,
    TAG_KEY,
    TYPES,
    VAR_NAME,
    VERSION,
    WEIGHT_TYPES,
    capacity,
    check,
    check_capacity,
    check_choice,
    check_tag_keys,
    check_tags,
    deployment_name,
    fraction,
    model_format,
    model_name,
    non_negative_int,
    positive_int,
    problem,
    tag,
    tag_key,
    var_name,
    version,
)
from .sandbox import protocol as sandbox_protocol
from .steps import NextStep

_PATH_HELP = "name/version, e.g. my-model/1"  # dest upload_path: args.path is the command


# -- the parser ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        match = re.search(
            r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", message
        )
        if match:
            where, given, choices = match.groups()
            choices = choices.replace("'", "")
            if where in ("COMMAND", "ACTION"):
                message = f"unknown command '{given}': choose one of {choices}"
            else:
                message = f"argument {where}: '{given}' is not one of {choices}"
        path = " ".join(self.prog.split()[1:])  # the command's words, after the program's name
        raise UsageError(f"{message}. See {{0}}.", steps=[NextStep.of(path, help=True)])

    def print_help(self, file=None) -> None:  # type: ignore[override]
        raise HelpRequested(self.format_help().rstrip())

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError((message or "invalid command").strip())


def _output_options(parser: argparse.ArgumentParser, *, formats: bool = True) -> None:
    if formats:
        parser.add_argument(
            "--format", choices=("table", "json"), default="table", help="table (default) or json"
        )
        parser.add_argument(
            "--wide", action="store_true", help="every column and whole cells (no fitting or cuts)"
        )
    parser.add_argument(
        "-o", "--out", dest="out", metavar="VAR", type=var_name,
        help="store the result in VAR (in the notebook's namespace) without displaying it",
    )  # fmt: skip


def _sub(subparsers, name: str, help_text: str, description: str = "") -> _Parser:
    return subparsers.add_parser(name, help=help_text, description=description or help_text)


@lru_cache(maxsize=4)
def build_parser(prog: str = "azmodels") -> _Parser:
    """The whole grammar of DESIGN.md. Built once per program name."""
    root = _Parser(
        prog=prog,
        description="Manage Azure AI Foundry models: catalog, custom uploads, deployments.",
        epilog=f"Run `{prog} <command> --help` for the options of a command.",
    )
    commands = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _sub(commands, "list", "list base (catalog) and custom models as one table")
    p.add_argument("--type", choices=(*TYPES, "all"), default="all", help="which models")
    p.add_argument("--query", metavar="PATTERN", help="case-insensitive filter on name/publisher")
    _output_options(p)

    p = _sub(commands, "show", "details of a model (custom first, then base)")
    p.add_argument("name", nargs="?", metavar="NAME", help="model name")
    p.add_argument("--name", dest="name_flag", metavar="NAME", help="model name")
    p.add_argument("--type", choices=TYPES, help="pick base or custom when a name is in both")
    p.add_argument("--version", type=version, help="a specific version")
    _output_options(p)

    p = _sub(commands, "upload", "upload weights (file or folder) and register a custom model")
    p.add_argument("--source", required=True, metavar="PATH", help="weights file or model folder")
    p.add_argument("--name", required=True, type=model_name, help="custom model name")
    p.add_argument(
        "--format", dest="weights_format", choices=FORMATS,
        help="expected weights format (checked against the bytes)",
    )  # fmt: skip
    p.add_argument("--description", default="", help="free text")
    p.add_argument("--tags", nargs="+", type=tag, default=[], metavar="K=V", help="tags")
    p.add_argument("--version", type=version, default="1", help="version (default 1)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing version")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--dry-run", action="store_true", help="show the plan, change nothing")
    p.add_argument(
        "--base-model", metavar="M",
        help="the base model these weights derive from: a catalog name or an "
        "azureml://registries/... id (required unless --weight-type DraftModel)",
    )  # fmt: skip
    p.add_argument("--weight-type", choices=WEIGHT_TYPES, default="FullWeight")
    p.add_argument("--lora-rank", type=positive_int, metavar="N", help="LoRA rank (r)")
    p.add_argument("--lora-alpha", type=positive_int, metavar="N", help="LoRA alpha")
    p.add_argument("--lora-target-modules", nargs="+", metavar="M", help="modules the LoRA adapts")
    p.add_argument("--lora-dropout", type=fraction, metavar="F", help="LoRA dropout, 0 to 1")
    p.add_argument("--publisher", metavar="P", help="publisher id (catalogInfo.publisherId)")
    p.add_argument("--force", action="store_true", help="replace a version a deployment uses")
    p.add_argument(
        "--follow-symlinks", action="store_true",
        help="upload what links leading outside the folder point at, and symlinked folders",
    )  # fmt: skip
    _output_options(p, formats=False)

    p = _sub(commands, "delete", "delete a custom model version (and its weights)")
    p.add_argument("--name", required=True, help="custom model name")
    p.add_argument("--version", type=version, help="version (default: the only or latest one)")
    p.add_argument("--keep-weights", action="store_true", help="keep the uploaded blobs")
    p.add_argument("--force", action="store_true", help="do not ask for confirmation")

    p = _sub(commands, "update", "change a custom model's description or tags")
    p.add_argument("--name", required=True, type=model_name)
    p.add_argument("--version", required=True, type=version)
    p.add_argument("--description", help="new description")
    p.add_argument("--set-tag", nargs="+", type=tag, default=[], metavar="K=V")
    p.add_argument("--remove-tag", nargs="+", type=tag_key, default=[], metavar="K")
    _output_options(p, formats=False)

    p = _sub(commands, "deploy", "deploy a base or custom model to an inference endpoint")
    p.add_argument("--name", metavar="MODEL", help="model name (custom first, then base)")
    p.add_argument("--deployment-name", type=deployment_name, metavar="NAME")
    p.add_argument("--type", choices=TYPES, help="pick base or custom when a name is in both")
    p.add_argument("--sku", help="SKU, e.g. GlobalStandard (default: the model's default)")
    p.add_argument("--capacity", type=capacity, metavar="N", help="capacity units")
    p.add_argument("--region", metavar="R", help="region of the account to deploy in")
    p.add_argument("--version", type=version, help="model version (default: the default one)")
    p.add_argument(
        "--model-format",
        type=model_format,
        metavar="F",
        help="model.format to send (default: the catalog's; FireworksCustom for custom models)",
    )
    p.add_argument("--no-wait", action="store_true", help="return at once (status Creating)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _output_options(p, formats=False)

    group = _sub(commands, "deployments", "list, show, scale and delete deployments")
    sub = group.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = _sub(sub, "list", "deployments as a table")
    p.add_argument("--model", metavar="M", help="only deployments of this model")
    p.add_argument("--type", choices=(*TYPES, "all"), default="all")
    p.add_argument("--status", choices=STATUSES)
    _output_options(p)
    p.add_argument(
        "--all-accounts", action="store_true",
        help="deployments of every account in the subscription (account and region columns)",
    )  # fmt: skip
    p = _sub(sub, "show", "details, endpoint and last-24h metrics of a deployment")
    p.add_argument("--name", required=True, metavar="NAME")
    p.add_argument("--metrics", action="store_true", help="return the hourly metrics DataFrame")
    _output_options(p)
    p = _sub(
        sub, "key", "put the account's API key into $AZURE_AI_API_KEY (for the Try it snippets)",
        "Put the account's API key into the environment variable AZURE_AI_API_KEY, where the "
        "deployment card's Try it snippets read it (its Key line shows how): a notebook or "
        "Python sets it in its own process; a terminal prints the key only for the shell to "
        "capture, never on a screen.",
    )  # fmt: skip
    p.add_argument("--name", required=True, metavar="NAME", help="the deployment to call")
    p = _sub(sub, "delete", "delete a deployment (the model stays)")
    p.add_argument("--name", required=True, metavar="NAME")
    p.add_argument("--force", action="store_true", help="do not ask for confirmation")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p = _sub(sub, "scale", "change a deployment's capacity")
    p.add_argument("--name", required=True, metavar="NAME")
    p.add_argument("--capacity", required=True, type=capacity, metavar="N")
    p.add_argument("--no-wait", action="store_true")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _output_options(p, formats=False)

    p = _sub(commands, "quota", "quota per region: used, limit and what is left per usage name")
    p.add_argument(
        "--region", dest="regions", nargs="+", action="extend", metavar="R",
        help="regions to show (default: the connected account's)",
    )  # fmt: skip
    p.add_argument("--all-regions", action="store_true", help="every region of the subscription")
    p.add_argument("--model", metavar="M", help="only usages of this model")
    p.add_argument("--sku", metavar="S", help="only usages of this SKU, e.g. GlobalStandard")
    _output_options(p)

    p = _sub(commands, "regions", "where a base model can be deployed: capacity and your quota")
    p.add_argument("--name", required=True, metavar="MODEL", help="base model name")
    p.add_argument("--version", type=version, help="model version (default: the default one)")
    p.add_argument("--sku", metavar="S", help="only this SKU")
    p.add_argument("--capacity", type=capacity, metavar="N", help="the capacity you need")
    _output_options(p)

    group = _sub(commands, "accounts", "the AI Services / OpenAI accounts of the subscription")
    sub = group.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = _sub(sub, "list", "accounts with their region, projects and deployments")
    _output_options(p)

    group = _sub(commands, "uploads", "uploads known to this machine (resumable ones too)")
    sub = group.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = _sub(sub, "list", "uploads in this machine's journal, merged with the registry")
    p.add_argument("--prefix", metavar="P", help="only names starting with P")
    _output_options(p)
    p = _sub(sub, "show", "one upload")
    p.add_argument("--path", dest="upload_path", required=True, metavar="P", help=_PATH_HELP)
    _output_options(p)
    p = _sub(sub, "delete", "forget a stale upload and remove its staged blobs")
    p.add_argument("--path", dest="upload_path", required=True, metavar="P", help=_PATH_HELP)
    p = _sub(
        sub,
        "prune",
        "remove orphaned storage: slots never registered, replaced versions' weights",
        "Remove the storage this machine's upload journals know nothing uses any more (`uploads "
        "list` shows it as orphaned). Only what this machine's journals know of can be found: "
        "Azure gives no listing of a project's storage. Removing needs the upload slot's "
        "credential; what cannot be removed is listed as left, with why.",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="list what would be removed; change nothing"
    )

    p = _sub(commands, "connect", "connect to a Foundry project (no options: show the connection)")
    p.add_argument("--project-endpoint", metavar="URL")
    p.add_argument("--subscription", metavar="ID")
    p.add_argument("--resource-group", metavar="RG")
    p.add_argument("--account", metavar="NAME")
    p.add_argument("--project", metavar="NAME")
    p.add_argument("--location", metavar="REGION")
    p.add_argument("--tenant", metavar="ID")
    p.add_argument("--arm-endpoint", metavar="URL")
    p.add_argument("--sandbox", metavar="URL", help="attach to a running sandbox")

    group = _sub(commands, "sandbox", "run the local sandbox (Azure stand-in) and connect to it")
    sub = group.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = _sub(sub, "start", "start a sandbox in the background and connect to it")
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep state here (default: the terminal's one per-user folder, reused by the next "
        "start; a notebook's sandbox is throwaway)",
    )
    p.add_argument("--reset", action="store_true", help="start with empty state")
    p.add_argument("--fault-rate", type=fraction, default=0.0, metavar="F")
    p.add_argument("--seed", type=non_negative_int, metavar="N")
    p.add_argument(
        "--provision-seconds", type=float, default=sandbox_protocol.PROVISION_SECONDS, metavar="S"
    )
    p.add_argument("--catalog-size", type=non_negative_int, default=0, metavar="N")
    p.add_argument(
        "--page-size", type=non_negative_int, default=sandbox_protocol.PAGE_SIZE, metavar="N"
    )
    p.add_argument(
        "--regions", nargs="+", action="extend", default=[], metavar="R",
        help="the subscription's regions (default: eastus eastus2 swedencentral westus3)",
    )  # fmt: skip
    p.add_argument(
        "--accounts", nargs="+", action="extend", default=[], metavar="NAME=REGION",
        help="more accounts besides the default one, e.g. team-b=swedencentral",
    )  # fmt: skip
    p.add_argument(
        "--quota", nargs="+", action="extend", default=[], metavar="[REGION:]USAGE|SKU=N",
        help="quota limits, e.g. eastus:OpenAI.GlobalStandard.gpt-4o=50 (default 1000 each)",
    )  # fmt: skip
    _sub(sub, "stop", "stop the sandbox this session started")
    _sub(sub, "status", "the sandbox this session is connected to")

    p = _sub(commands, "help", "show help for all commands or one")
    p.add_argument("topic", nargs="*", metavar="COMMAND")
    return root


def split(line: str) -> list[str]:
    """Split a command line like a POSIX shell, as one usage error if the quoting is broken."""
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the command line: {exc}.") from None


def parse(argv: list[str] | str, *, prog: str = "azmodels") -> argparse.Namespace:
    """Parse a command; `help` and `--help` raise HelpRequested, mistakes raise UsageError."""
    if isinstance(argv, str):
        argv = split(argv)
    parser = build_parser(prog)
    if not argv:
        raise HelpRequested(parser.format_help().rstrip())
    args, extras = parser.parse_known_args(argv)
    args.path = " ".join(w for w in (args.command, getattr(args, "action", None)) if w)
    if extras:
        raise UsageError(
            f"unrecognized arguments: {' '.join(extras)}. See {{0}}.",
            steps=[NextStep.of(args.path, help=True)],
        )
    if args.command == "help":
        target = parser
        for word in args.topic:
            target = _subparser(target, word)
        raise HelpRequested(target.format_help().rstrip())
    if args.command in ("deployments", "uploads", "sandbox", "accounts") and not args.action:
        _subparser(parser, args.command).print_help()
    if args.command == "show":
        given = [v for v in (args.name, args.name_flag) if v]
        if len(given) == 2 and given[0] != given[1]:
            raise UsageError(f"show got two names ({given[0]!r}, {given[1]!r}): give one.")
        if not given:
            raise UsageError("show needs a model name: {0}.", steps=[NextStep.of("show", "NAME")])
        args.name = given[0]
    return args


def _subparser(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and word in action.choices:
            return action.choices[word]
    raise UsageError(
        f"no help for '{word}': run {{0}} for the commands.", steps=[NextStep.of("help")]
    )


def command_names() -> list[str]:
    """Every command path, e.g. 'list', 'deployments scale' (for completion and docs)."""
    names: list[str] = []
    root = build_parser()
    for action in root._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = [a for a in sub._actions if isinstance(a, argparse._SubParsersAction)]
                if inner:
                    names.extend(f"{name} {child}" for child in inner[0].choices)
                else:
                    names.append(name)
    return names
