"""The IPython front end: `%azmodels` (one command) and `%%azmodels` (a batch, one per line).

Errors show as one red line; `%config AzModels.debug = True` shows the full traceback instead.
A result stored with `-o VAR` (or assigned, `df = %azmodels list`) is not displayed.
"""

from __future__ import annotations

import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from .errors import AzModelsError, HelpRequested, internal_error_text

_RED, _RESET = "\x1b[0;31m", "\x1b[0m"


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
        from .api import AzModels

        self.app = AzModels(parent=shell)
        shell.configurables.append(self.app)

    @line_cell_magic
    def azmodels(self, line: str = "", cell: str | None = None) -> Any:
        """Manage Azure AI Foundry models. `%azmodels help` lists the commands."""
        if cell is None:
            return self._guarded(line)
        for raw in cell.splitlines():
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            value = self._guarded(self.shell.var_expand(text, depth=1) if "{" in text else text)
            if value is not None:
                from IPython.display import display

                display(value)
        return None

    def _guarded(self, line: str) -> Any:
        try:
            return self._run(line)
        except HelpRequested as help_text:
            print(help_text.message)
            return None
        except AzModelsError as exc:
            if self.app.debug:
                raise
            raise DisplayedError(type(exc).__name__, str(exc)) from None
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if self.app.debug:
                raise
            raise DisplayedError("InternalError", internal_error_text(exc)) from None

    def _run(self, line: str) -> Any:
        if not line.strip():
            if self.app.interactive_forms():  # a notebook: the dashboard
                from .presentation.dashboard import dashboard

                return dashboard(self.app)
            from . import grammar

            raise HelpRequested(grammar.build_parser("%azmodels").format_help().rstrip())
        if line.split() == ["upload"] and self.app.interactive_forms():
            # `upload` needs --source and --name; with neither, a notebook shows the form.
            from .presentation.forms import upload_form

            return upload_form(self.app)
        outcome = self.app.execute(line, prog="%azmodels")
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
