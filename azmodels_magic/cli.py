"""The terminal front end: `azmodels <command> ...`, the same grammar as `%azmodels`.

Tables print as text, `--format json` prints JSON alone on stdout (messages go to stderr), and
errors print one line to stderr with exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from .errors import AzModelsError, HelpRequested, UsageError

SANDBOX_ENV = "AZMODELS_SANDBOX"  # an ARM endpoint of a running sandbox to attach to


def _terminal(text: str) -> str:
    """Hints are written for the notebook (`%azmodels ...`); in a terminal the command is
    `azmodels ...`."""
    return text.replace("%azmodels ", "azmodels ")


def _render(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "columns") and hasattr(value, "to_string"):
        from .presentation.tables import frame_text

        return frame_text(value)
    return str(value)


def _sandbox_to_attach(app, argv: list[str]) -> str | None:
    """$AZMODELS_SANDBOX, else the sandbox a previous `azmodels sandbox start` left running
    (when no Azure project is configured)."""
    if argv[:1] == ["help"] or argv[:2] in (["sandbox", "start"], ["sandbox", "stop"]):
        return None
    explicit = os.environ.get(SANDBOX_ENV)
    if explicit:
        return explicit
    if app.project_endpoint or app.subscription_id:
        return None
    from .sandbox.launcher import remembered

    state = remembered()
    return state["arm_endpoint"] if state else None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .api import AzModels

    app = AzModels()
    app.detach_sandbox = True  # `azmodels sandbox start` must outlive this process
    debug = app.debug or os.environ.get("AZMODELS_DEBUG") == "1"
    try:
        sandbox = _sandbox_to_attach(app, argv)
        if sandbox:
            app.attach_sandbox(sandbox)
        outcome = app.execute(argv, prog="azmodels")
    except HelpRequested as help_text:
        print(help_text.message)
        return 0
    except AzModelsError as exc:
        if debug:
            raise
        print(f"error: {_terminal(str(exc))}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    try:
        if outcome.format == "json":
            if outcome.message:
                print(_terminal(outcome.message), file=sys.stderr)
            print(json.dumps(outcome.json_data(), indent=2, default=str))
            return 0
        if outcome.message:
            print(_terminal(outcome.message))
        text = _render(outcome.value) if outcome.show_value else ""
        if text:
            print(_terminal(text))
    except BrokenPipeError:  # `azmodels list | head`: the reader left, which is fine
        sys.stderr.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
