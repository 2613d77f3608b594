"""The IPython front end: `%azmodels` (one command) and `%%azmodels` (a batch, one per line).

Errors show as one red line; `%config AzModels.debug = True` shows the full traceback instead.
A result stored with `-o VAR` (or assigned, `df = %azmodels list`) is not displayed.

`{var}` and `$var` are expanded after the line is split into words, so each value stays inside
the one argument it was written in: `--name {x}` with x = "victim --force" is the name
"victim --force", never an extra flag.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand

from . import grammar
from .api import AzModels
from .environment import asking
from .errors import AzModelsError, HelpRequested, internal_error_text
from .steps import FrontEnd, is_terminal

PROG = "%azmodels"

_RED, _RESET = "\x1b[0;31m", "\x1b[0m"
# `{expr}` is hidden from the shell-like split as one opaque mark (private-use characters), so
# quotes inside an expression (`{d['k']}`) are not taken for the command's own quoting.
_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


def _hide_expressions(line: str) -> tuple[str, list[str]]:
    """`line` with each `{expr}` (balanced braces; `{{` is a literal brace) replaced by a mark,
    and the expressions in order."""
    out: list[str] = []
    expressions: list[str] = []
    i = 0
    while i < len(line):
        if line.startswith("{{", i):
            out.append("{{")
            i += 2
            continue
        if line[i] == "{":
            depth, j = 0, i
            while j < len(line):
                depth += {"{": 1, "}": -1}.get(line[j], 0)
                if depth == 0:
                    break
                j += 1
            if depth == 0:
                out.append(f"\ue000{len(expressions)}\ue001")
                expressions.append(line[i : j + 1])
                i = j + 1
                continue
        out.append(line[i])
        i += 1
    return "".join(out), expressions


class DisplayedError(Exception):
    """An error IPython shows as one red line (no traceback): see `_render_traceback_`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def _render_traceback_(self) -> list[str]:
        return [f"{_RED}{self.kind}: {self}{_RESET}"]


@magics_class
class AzModelsMagics(Magics):
    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.app = AzModels(parent=shell)
        shell.configurables.append(self.app)

    @no_var_expand  # IPython would expand into the raw line: a value could add flags
    @line_cell_magic
    def azmodels(self, line: str = "", cell: str | None = None) -> Any:
        """Manage Azure AI Foundry models. `%azmodels help` lists the commands."""
        if cell is None:
            return self._guarded(line)
        for raw in cell.splitlines():
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            value = self._guarded(text)
            if value is not None:
                from IPython.display import display

                display(value)
        return None

    def front_end(self) -> FrontEnd:
        """The magic's front end: steps written as `%azmodels ...` and `%config ...`; a notebook
        asks with widgets, IPython in a terminal with input()."""
        if type(self.shell).__name__ == "ZMQInteractiveShell":
            way = "widget"
        else:
            way = "input" if is_terminal(sys.stdin) else ""
        return FrontEnd("notebook", PROG, asks=asking(way))

    def _words(self, line: str) -> list[str]:
        """The command's words, each `{var}`/`$var` expanded inside its own word."""
        if "{" not in line and "$" not in line:
            return grammar.split(line)
        hidden, expressions = _hide_expressions(line)
        words = [
            _PLACEHOLDER.sub(lambda m: expressions[int(m[1])], w) for w in grammar.split(hidden)
        ]
        # depth 4: the code that called run_line_magic/run_cell_magic (the user's frame), where
        # IPython's own expansion looks names up too
        return [self.shell.var_expand(word, depth=4) for word in words]

    def _guarded(self, line: str) -> Any:
        front_end = self.front_end()
        try:
            return self._run(self._words(line), front_end)
        except HelpRequested as help_text:
            print(help_text.message)
            return None
        except AzModelsError as exc:
            if self.app.debug:
                raise
            raise DisplayedError(type(exc).__name__, exc.text(front_end.write)) from None
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if self.app.debug:
                raise
            raise DisplayedError("InternalError", internal_error_text(exc)) from None

    def _run(self, words: list[str], front_end: FrontEnd) -> Any:
        if not words:
            if front_end.forms:  # a notebook: the dashboard
                from .presentation.dashboard import dashboard  # lazy: only bare %azmodels

                return dashboard(self.app)
            raise HelpRequested(grammar.build_parser(PROG).format_help().rstrip())
        if words == ["upload"] and front_end.forms:
            # `upload` needs --source and --name; with neither, a notebook shows the form.
            from .presentation.forms import upload_form  # lazy: only the upload form

            return upload_form(self.app)
        outcome = self.app.execute(words, front_end=front_end)
        if outcome.message:
            print(outcome.message, file=sys.stdout)
        value = outcome.value
        if outcome.format == "json":
            from IPython.display import JSON

            value = JSON(outcome.json_data(), expanded=False)
        if outcome.out and outcome.value is not None:
            self.shell.user_ns[outcome.out] = outcome.value
            return None
        if value is None or not outcome.show_value:
            return None
        return value
