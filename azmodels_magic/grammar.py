"""The one command grammar for the magic, the CLI, the Python API and `%azmodels help`, built
from the command table (`commands.table`: each command's words, help and arguments, declared
beside its handler). A value given with `--name`/`--path` can also be given as a bare word.

Values are checked here, before any network call, whenever the rule is known without the service
(names, versions, tags, capacity). Parse errors raise `UsageError` (one line, no SystemExit);
`--help` raises `HelpRequested` carrying the text, so each front end prints it its own way.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import shlex
from collections.abc import Iterator
from functools import lru_cache

from .commands import table
from .commands.table import Argument, Command
from .errors import HelpRequested, UsageError
from .rules import check_tags  # noqa: F401 - the grammar's tag check is the rules' one
from .steps import PYTHON_PROG, NextStep
from .wording import did_you_mean

# -- the parser ---------------------------------------------------------------------------------


def _command_line(prog: str, words: str) -> str:
    """`words` as `prog` runs them: `azmodels deploy --help`, `az.run('deploy --help')`."""
    return f"{prog}{words}')" if prog == PYTHON_PROG else f"{prog} {words}"


class _PythonUsage(argparse.RawDescriptionHelpFormatter):
    """Usage as Python writes it: `usage: az.run('deploy [-h] --name NAME ...')`."""

    def _format_usage(self, usage, actions, groups, prefix) -> str:
        text = super()._format_usage(usage, actions, groups, prefix)
        if prefix == "":  # argparse naming a subcommand's program: words joined by spaces
            return text
        text = text.replace(PYTHON_PROG + " ", PYTHON_PROG, 1)  # argparse joins words by spaces
        first, *more = text.rstrip("\n").split("\n")
        more = [line[1:] if line.startswith(" ") else line for line in more]  # one space less
        return "\n".join([first, *more]) + "')\n\n"


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing and exiting."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        python = str(kwargs.get("prog", "")).startswith(PYTHON_PROG)
        kwargs.setdefault(
            "formatter_class", _PythonUsage if python else argparse.RawDescriptionHelpFormatter
        )
        super().__init__(*args, **kwargs)
        self.command: Command | None = None  # the table's command this parser reads
        self.argument_of: dict[str, Argument] = {}  # an action's dest -> its declaration

    def error(self, message: str) -> None:  # type: ignore[override]
        match = re.search(
            r"argument (\S+): invalid choice: '([^']*)' \(choose from (.*)\)", message
        )
        if match:
            where, given, choices = match.groups()
            names = [c.strip().strip("'") for c in choices.split(",")]
            if where in ("COMMAND", "ACTION"):
                more = did_you_mean(given, names, f"Choose one of {', '.join(names)}.")
                message = f"unknown command '{given}'.{more}"
            else:
                message = f"argument {where}: '{given}' is not one of {', '.join(names)}."
        path = " ".join(self.prog.split()[1:])  # the command's words, after the program's name
        message = message.rstrip()
        if not message.endswith((".", "?", "!")):  # argparse's and our rules' words: a sentence
            message += "."
        raise UsageError(f"{message} See {{0}}.", steps=[NextStep.of(path, help=True)])

    def print_help(self, file=None) -> None:  # type: ignore[override]
        raise HelpRequested(self.format_help().rstrip())

    def format_usage(self) -> str:
        with self._required_marked():
            return super().format_usage()

    def format_help(self) -> str:
        with self._required_marked():
            return super().format_help()

    @contextlib.contextmanager
    def _required_marked(self) -> Iterator[None]:
        """Required options shown as required (`--source PATH`, not `[--source PATH]`): argparse
        is not told, as `parse` checks them itself, counting a bare word for its option."""
        marked = [
            action for action in self._actions
            if action.option_strings and (argument := self.argument_of.get(action.dest))
            and argument.required and not argument.positional
        ]  # fmt: skip
        for action in marked:
            action.required = True
        try:
            yield
        finally:
            for action in marked:
                action.required = False

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError((message or "invalid command").strip())


def _sub(subparsers, name: str, help_text: str, description: str = "") -> _Parser:
    return subparsers.add_parser(name, help=help_text, description=description or help_text)


def _positional_dest(argument: Argument) -> str:
    """Where argparse puts the bare-word form of `argument` before `parse` merges it."""
    return f"{argument.dest}_positional"


def _add(parser: _Parser, argument: Argument) -> None:
    flags = [f for f in (argument.short, argument.flag) if f]
    options: dict = {"dest": argument.dest, "help": argument.help or None}
    if argument.action == "store_true":
        parser.add_argument(*flags, action="store_true", **options)
    else:  # not `required`: `parse` says what is missing, a bare word counting for its flag
        options.update(
            type=argument.type, choices=argument.choices or None, default=argument.default,
            metavar=argument.metavar, nargs=argument.nargs, action=argument.action,
        )  # fmt: skip
        parser.add_argument(*flags, **options)
    parser.argument_of[argument.dest] = argument
    if argument.positional:
        word = _positional_dest(argument)
        parser.add_argument(
            word, nargs="?", type=argument.type, help=argument.help or None,
            metavar=argument.metavar or argument.dest.upper(),
        )  # fmt: skip
        parser.argument_of[word] = argument


@lru_cache(maxsize=8)
def build_parser(prog: str = "azmodels", *, stores_results: bool = True) -> _Parser:
    """The whole grammar, from the command table. Built once per program name and kind of
    front end: where results are not stored (a terminal), no command takes `-o VAR`."""
    root = _Parser(
        prog=prog,
        description="Manage Azure AI Foundry models: catalog, custom uploads, deployments.",
        epilog=f"Run `{_command_line(prog, '<command> --help')}` for the options of a command.",
    )
    top = root.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    groups = table.groups()
    actions: dict[str, argparse._SubParsersAction] = {}
    for command in table.commands().values():
        *group, name = command.path.split()
        where = top
        if group:
            if group[0] not in actions:
                parent = _sub(top, group[0], groups[group[0]])
                actions[group[0]] = parent.add_subparsers(
                    dest="action", metavar="ACTION", parser_class=_Parser
                )
            where = actions[group[0]]
        parser = _sub(where, name, command.help, command.description)
        parser.command = command
        for argument in command.options(stores_results=stores_results):
            _add(parser, argument)

    p = _sub(top, "help", "show help for all commands or one")
    p.add_argument("topic", nargs="*", metavar="COMMAND")
    return root


def split(line: str) -> list[str]:
    """Split a command line like a POSIX shell, as one usage error if the quoting is broken."""
    try:
        return shlex.split(line, comments=False, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the command line: {exc}.") from None


_OUT_FLAGS = ("-o", "--out")


def parse(
    argv: list[str] | str, *, prog: str = "azmodels", stores_results: bool = True
) -> argparse.Namespace:
    """Parse a command; `help` and `--help` raise HelpRequested, mistakes raise UsageError.

    `stores_results=False` (a terminal): `-o VAR` is not part of the grammar."""
    if isinstance(argv, str):
        argv = split(argv)
    parser = build_parser(prog, stores_results=stores_results)
    if not argv:
        raise HelpRequested(parser.format_help().rstrip())
    args, extras = parser.parse_known_args(argv)
    args.path = " ".join(w for w in (args.command, getattr(args, "action", None)) if w)
    command = table.commands().get(args.path)
    out = next((w.partition("=")[0] for w in extras if w.partition("=")[0] in _OUT_FLAGS), None)
    # Said before the arguments are settled: `-o v` left over would read `v` as a name.
    if out and command is not None and command.output is table.Output.NONE:
        raise UsageError(f"{args.path} returns nothing to store: leave out {out}.")
    if command is not None:
        _settle(args, command)
    if out and not stores_results:
        raise UsageError(
            f"{out} VAR stores a result in a notebook variable; leave it out here (a "
            "terminal prints the result, az.run returns it)."
        )
    if extras:
        raise UsageError(
            f"unrecognized arguments: {' '.join(extras)}.{_flag_hint(parser, args, extras[0])} "
            "See {0}.",
            steps=[NextStep.of(args.path, help=True)],
        )
    if args.command == "help":
        target = parser
        for word in args.topic:
            target = _subparser(target, word)
        raise HelpRequested(target.format_help().rstrip())
    if args.command in table.groups() and not args.action:
        _subparser(parser, args.command).print_help()
    return args


def _flag_hint(parser: argparse.ArgumentParser, args: argparse.Namespace, word: str) -> str:
    """' Did you mean --name?' when `word` is a mistyped flag of the command, else ''."""
    if not word.startswith("--") or not args.path:
        return ""
    for name in args.path.split():
        parser = _subparser(parser, name)
    # compared without the dashes, which would make every flag look alike
    names = [f[2:] for a in parser._actions for f in a.option_strings if f.startswith("--")]
    hint = did_you_mean(word.partition("=")[0][2:], names, "")
    return hint.replace("mean ", "mean --").replace(", ", ", --") if hint.strip() else ""


def _settle(args: argparse.Namespace, command: Command) -> None:
    """`show NAME` and `show --name NAME` give the same parsed arguments (both, disagreeing, is
    a usage error); then every required argument must have a value."""
    missing: list[Argument] = []
    for argument in command.arguments:
        value = getattr(args, argument.dest)
        if argument.positional:
            word = getattr(args, _positional_dest(argument))
            delattr(args, _positional_dest(argument))
            if word is not None and value is not None and word != value:
                raise UsageError(
                    f"{command.path} got two {argument.noun}s ({word!r}, {value!r}): give one."
                )
            value = value if value is not None else word
            setattr(args, argument.dest, value)
        if argument.required and value is None:
            missing.append(argument)
    if len(missing) == 1 and missing[0].positional:
        argument = missing[0]
        metavar = argument.metavar or argument.dest.upper()
        raise UsageError(
            f"{command.path} needs {argument.what}: {{0}} "
            f"(required: {argument.flag} {metavar}, or {metavar} alone).",
            steps=[NextStep.of(command.path, metavar)],
        )
    if missing:
        flags = ", ".join(argument.flag for argument in missing)
        raise UsageError(
            f"the following arguments are required: {flags}. See {{0}}.",
            steps=[NextStep.of(command.path, help=True)],
        )


def _subparser(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser:
    names: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            if word in action.choices:
                return action.choices[word]
            names += list(action.choices)
    more = did_you_mean(word, names, "Run {0} for the commands.")
    raise UsageError(f"no help for '{word}'.{more}", steps=[NextStep.of("help")])
