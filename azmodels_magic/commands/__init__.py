"""Command handlers: the glue between the grammar and the services.

Each command module (`models`, `uploads`, `deployments`, `quota`, `session`) declares its
commands in `table`, each beside its handler; a handler takes the facade and the parsed arguments
and returns an `Outcome`. The magic, the CLI and `AzModels.run` all call `execute`, so a command
behaves the same everywhere; each passes its own `FrontEnd` (its syntax, how it asks, whether
stdout is a terminal), which the handler reads as `args.front_end` and in whose syntax `execute`
writes the steps an outcome names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..presentation.outcomes import next_steps
from ..presentation.tables import WIDE
from ..records import Displayable
from ..redaction import get_logger
from ..steps import TERMINAL, FrontEnd, NextStep, Syntax, fill, front_end_of_process, plain
from . import table

if TYPE_CHECKING:
    import argparse

    from .app import App


@dataclass
class Outcome:
    """What a command produced."""

    value: Any = None  # the result: a DataFrame, a details record, ... (None for pure actions)
    message: str = ""  # one line for people: counts, what changed
    data: Any = None  # the JSON-able form, for --format json
    out: str | None = None  # the -o VAR the value is to be stored in
    format: str = "table"  # the --format asked for
    show_value: bool = True  # False: the message says it all; the value is for -o / the API
    steps: tuple[NextStep, ...] = ()  # the commands the message names as {0}, {1}...
    next: tuple[NextStep, ...] = ()  # "Next steps" after the message, one line each
    syntax: Syntax = plain  # how `execute` wrote the commands (the caller's front end)

    def render(self, front_end: FrontEnd) -> None:
        """Write the steps the message names, and its next steps, in `front_end`'s syntax."""
        syntax = front_end.write
        lines = [fill(self.message, self.steps, syntax)] if self.message else []
        lines += next_steps(self.next, syntax)
        self.message, self.steps, self.next, self.syntax = "\n".join(lines), (), (), syntax

    def json_data(self) -> Any:
        if self.data is not None:
            return self.data
        value = self.value
        if hasattr(value, "to_dict") and hasattr(value, "columns"):  # a DataFrame
            return _records(value)
        if isinstance(value, Displayable) and hasattr(value, "to_dict"):
            return value.to_dict(self.syntax)  # details name the commands to use them next
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return value


def aligned_lines(rows: dict[str, str]) -> str:
    """Settings as indented `name  value` lines, the values in one column."""
    width = max(len(k) for k in rows)
    return "\n".join(f"  {k.ljust(width)}  {v or '(not set)'}" for k, v in rows.items())


def _records(frame) -> list[dict[str, Any]]:
    import json

    return json.loads(frame.to_json(orient="records", date_format="iso"))


def handler_for(path: str) -> Callable[[App, argparse.Namespace], Outcome]:
    return table.lookup(path).handler  # every command of the grammar has one (a test checks)


def execute(app: App, args: argparse.Namespace, front_end: FrontEnd = TERMINAL) -> Outcome:
    """Run a parsed command typed in `front_end`; the steps its outcome names are written in
    its syntax."""
    if args.command not in ("connect", "sandbox"):
        # Crash recovery's one entry point: an `upload --overwrite` a killed process left half
        # done is finished or rolled back (one directory listing when nothing is pending).
        for note in app.uploads.recover():
            get_logger(__name__).warning("%s", note)
    args.front_end = front_end  # the handler's (and outcomes made later, after a confirmation)
    with front_end_of_process(front_end):  # text a service writes names steps in its syntax
        outcome = handler_for(args.path)(app, args)
    outcome.render(front_end)
    outcome.out = getattr(args, "out", None)
    outcome.format = getattr(args, "format", None) or "table"
    if getattr(args, "wide", False) and isinstance(getattr(outcome.value, "attrs", None), dict):
        outcome.value.attrs[WIDE] = True  # the table shows every column and whole cells
    return outcome
