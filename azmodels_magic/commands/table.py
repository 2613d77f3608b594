"""The command table: each command declared once, beside its handler.

A command module (`commands/models.py`, `uploads.py`, ...) declares each of its commands with
`@command(path, help, Argument(...), ..., output=...)` on the handler. The grammar builds its
parser from this table, help is argparse's from the same declarations, completion reads each
argument's `Kind`, and a form or the Python API can read a command's arguments
(`arguments("deploy")`). Adding a command touches its command module (and the service it calls).
"""

from __future__ import annotations

import enum
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..rules import var_name

# The modules that declare commands, in the order their commands are listed in help. Loaded by
# name on the first look-up: they import `Outcome` from the package, and `%load_ext` must not
# load them (their handlers load the services).
MODULES = ("models", "uploads", "deployments", "quota", "session")


class Kind(enum.Enum):
    """What an argument's values are: what completion (and a form) can offer for it."""

    TEXT = "text"  # free text, nothing to offer (choices, when declared, are offered)
    MODEL = "model"  # a custom or base model's name
    CUSTOM_MODEL = "custom model"
    BASE_MODEL = "base model"
    VERSION = "version"  # a version of the model named on the line
    SKU = "sku"  # a SKU of the model named on the line
    MODEL_FORMAT = "model format"  # the format a deploy of the model named on the line sends
    NEW_DEPLOYMENT = "new deployment"  # a free deployment name for the model named on the line
    DEPLOYMENT = "deployment"  # an existing deployment's name
    UPLOAD_PATH = "upload path"  # name/version of an upload this machine knows
    REGION = "region"
    ACCOUNT = "account"
    LOCAL_PATH = "local path"  # a file or folder on this machine

    @property
    def names_a_model(self) -> bool:
        return self in (Kind.MODEL, Kind.CUSTOM_MODEL, Kind.BASE_MODEL)


@dataclass(frozen=True)
class Argument:
    """One option of a command, in argparse's terms plus what the table adds: the `kind` of
    its values, and `positional` (the value may also be given as a bare word: `show NAME`)."""

    flag: str  # "--name"
    help: str = ""
    kind: Kind = Kind.TEXT
    type: Callable[[str], Any] | None = None  # the rule (rules.py) that checks and converts
    choices: tuple[str, ...] = ()
    default: Any = None
    required: bool = False
    metavar: str | None = None
    nargs: str | None = None  # "+" for several values
    action: str | None = None  # "store_true" (a switch) or "extend"
    dest: str = ""  # the attribute on the parsed arguments (default: from the flag)
    short: str = ""  # "-o"
    positional: bool = False

    def __post_init__(self) -> None:
        if not self.dest:
            object.__setattr__(self, "dest", self.flag.lstrip("-").replace("-", "_"))

    @property
    def noun(self) -> str:
        """What the value is called in a message: 'name', 'path'."""
        return self.flag.lstrip("-").replace("-", " ")

    @property
    def what(self) -> str:
        """The value described with its kind, after an article: 'a model name', 'an upload
        path'."""
        if self.kind.names_a_model or self.kind is Kind.DEPLOYMENT:
            words = f"{self.kind.value} {self.noun}"
        elif self.kind is Kind.TEXT:
            words = self.noun
        else:
            words = self.kind.value
        return f"{'an' if words[0] in 'aeiou' else 'a'} {words}"


class Output(enum.Enum):
    """What a command's result is, which decides its output options."""

    NONE = "none"  # a pure action: no -o
    STORE = "store"  # a value to keep: -o VAR
    FORMAT = "format"  # a value shown as a table or JSON: --format, --wide and -o VAR


FORMAT = Argument("--format", "table (default) or json", choices=("table", "json"), default="table")
WIDE = Argument("--wide", "every column and whole cells (no fitting or cuts)", action="store_true")
OUT = Argument(
    "--out", "store the result in VAR (in the notebook's namespace) without displaying it",
    short="-o", metavar="VAR", type=var_name,
)  # fmt: skip


@dataclass(frozen=True)
class Command:
    """One command: its words, its help, its arguments and the function that runs it."""

    path: str  # "list", "deployments scale"
    help: str
    arguments: tuple[Argument, ...]
    handler: Callable[..., Any]  # (app, args) -> Outcome
    output: Output = Output.NONE
    description: str = ""  # the longer text of `<command> --help` (default: help)

    def options(self, *, stores_results: bool = True) -> tuple[Argument, ...]:
        """Its arguments with the output options its result takes; without -o where results
        are not stored (a terminal)."""
        extra: list[Argument] = [FORMAT, WIDE] if self.output is Output.FORMAT else []
        if stores_results and self.output is not Output.NONE:
            extra.append(OUT)
        return (*self.arguments, *extra)

    def argument(self, dest: str) -> Argument | None:
        return next((a for a in self.options() if a.dest == dest), None)


@dataclass
class _Table:
    commands: dict[str, Command] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # "deployments" -> its help
    loaded: bool = False


_table = _Table()


def command(
    path: str, help: str, *arguments: Argument, output: Output = Output.NONE,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:  # fmt: skip
    """Declare the decorated handler as the command `path` (its module is in MODULES)."""

    def declare(handler: Callable[..., Any]) -> Callable[..., Any]:
        known = _table.commands.get(path)
        if known is not None and known.handler.__qualname__ != handler.__qualname__:
            raise ValueError(f"command {path!r} is declared twice")
        if " " in path and path.split()[0] not in _table.groups:
            raise ValueError(f"command {path!r}: declare its group first (`group(...)`)")
        _table.commands[path] = Command(path, help, arguments, handler, output, description)
        return handler

    return declare


def group(name: str, help: str) -> None:
    """Declare a command group ("deployments"): its commands are `deployments <action>`."""
    _table.groups[name] = help


def commands() -> dict[str, Command]:
    """Every command, by path, in the order help lists them."""
    if not _table.loaded:
        for module in MODULES:
            importlib.import_module(f"{__package__}.{module}")
        # listed by module, as MODULES orders them (one module may import another's handler)
        order = [f"{__package__}.{module}" for module in MODULES]
        ranked = sorted(_table.commands.values(), key=lambda c: order.index(c.handler.__module__))
        _table.commands = {c.path: c for c in ranked}
        _table.loaded = True
    return _table.commands


def groups() -> dict[str, str]:
    """Every command group with its help."""
    commands()
    return _table.groups


def lookup(path: str) -> Command:
    """The command `path` ('deployments scale'); KeyError when there is none."""
    return commands()[path]


def arguments(path: str, *, stores_results: bool = True) -> tuple[Argument, ...]:
    """What `path` takes: its declared arguments and its output options (for a form, the
    Python API, docs)."""
    return lookup(path).options(stores_results=stores_results)
