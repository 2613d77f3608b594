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


def _render(value: Any) -> str:
    if value is None:
        return ""
    if hasattr(value, "columns") and hasattr(value, "to_string"):
        from .presentation.tables import frame_text

        return frame_text(value)
    return str(value)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from .api import AzModels

    app = AzModels()
    debug = app.debug or os.environ.get("AZMODELS_DEBUG") == "1"
    try:
        sandbox = os.environ.get(SANDBOX_ENV)
        if sandbox and argv[:1] not in (["help"], ["sandbox"]):
            app.attach_sandbox(sandbox)
        outcome = app.execute(argv, prog="azmodels")
    except HelpRequested as help_text:
        print(help_text.message)
        return 0
    except AzModelsError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, UsageError) else 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    if outcome.format == "json":
        if outcome.message:
            print(outcome.message, file=sys.stderr)
        print(json.dumps(outcome.json_data(), indent=2, default=str))
        return 0
    if outcome.message:
        print(outcome.message)
    text = _render(outcome.value) if outcome.show_value else ""
    if text:
        print(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
