"""The terminal front end: `azmodels <command> ...`, the same grammar as `%azmodels`.

Tables print as text, `--format json` prints JSON alone on stdout (messages go to stderr), and
errors print one line to stderr with exit status 1 (2 for usage errors) — never a traceback,
unless AZMODELS_DEBUG=1.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from typing import Any

from . import environment
from .errors import (
    CLI_DEBUG_HINT,
    AzModelsError,
    HelpRequested,
    UsageError,
    ValidationError,
    internal_error_text,
)
from .presentation.cards import card_for
from .presentation.tables import frame_text
from .records import Displayable
from .sandbox_launcher import remembered
from .steps import (
    FrontEnd,
    front_end_of_process,
    is_terminal,
    plain,
    setting_variable,
    terminal,
)


def _render(value: Any, front_end: FrontEnd) -> str:
    if value is None:
        return ""
    if hasattr(value, "columns") and hasattr(value, "to_string"):
        return frame_text(value)
    if isinstance(value, Displayable):
        return card_for(value, front_end.write).text()
    return str(value)


def _sandbox_to_attach(app, argv: list[str]) -> str | None:
    """$AZMODELS_SANDBOX, else the sandbox a previous `azmodels sandbox start` left running
    (when no Azure project is configured)."""
    if argv[:1] == ["help"] or argv[:2] in (["sandbox", "start"], ["sandbox", "stop"]):
        return None
    explicit = environment.SANDBOX.read()
    if explicit:
        return explicit
    if app.project_endpoint or app.subscription_id:
        return None
    state = remembered()
    return state["arm_endpoint"] if state else None


def _settings_from_environment(facade: Any) -> dict[str, Any]:
    """The settings a terminal gives as AZMODELS_<SETTING> variables (how the terminal writes a
    setting to change: `export AZMODELS_REGION_ACCOUNTS='{"westus": "acct"}'`). Settings read
    from an AZURE_* variable of their own are given there instead."""
    traits = facade.class_traits(config=True)
    found = {}
    for name, trait in traits.items():
        value = environment.SETTING_VARIABLES.read(name)
        if value is not None and not getattr(trait, "env", None):
            found[name] = value
    return found


def main(argv: list[str] | None = None) -> int:
    """Run one command; never a traceback unless AZMODELS_DEBUG=1.

    Exit status: 0 done, 1 error, 2 usage error, 130 interrupted."""
    with front_end_of_process(terminal()):  # what `str()` of an error says: the terminal's words
        return _main(argv)


def _main(argv: list[str] | None) -> int:
    debug = environment.DEBUG.read()
    _replace_what_cannot_be_written()
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:  # `azmodels ... | head`: the reader left, which is fine
        _silence_stdout()
        return 0
    except OutputFailed as failed:  # `azmodels list > /dev/full`: not a bug, and not ours
        _silence_stdout()
        _error(str(failed))
        return 1
    except KeyboardInterrupt:
        _say("interrupted")
        return 130
    except AzModelsError as exc:
        if debug:
            raise
        _error(exc.text(plain))  # the terminal's syntax
        return 2 if isinstance(exc, UsageError) else 1
    except Exception as exc:  # a bug: one line, and how to see more
        if debug:
            raise
        _error(internal_error_text(exc, CLI_DEBUG_HINT))
        return 1


def _run(argv: list[str]) -> int:
    # Imported inside main's handlers: a Ctrl-C or failure while it loads is one line.
    from .api import AzModels

    front_end = terminal(
        asks=environment.asking("input" if is_terminal(sys.stdin) else ""),
        stdout_is_terminal=is_terminal(sys.stdout),
    )
    settings = _settings_from_environment(AzModels)
    try:
        app = AzModels(**settings)
    except ValidationError as exc:  # a value the user exported: say which variable it was
        given = ", ".join(f"${setting_variable(name)}" for name in settings)
        raise UsageError(f"{exc.message} (given by {given})") from None
    app.detach_sandbox = True  # `azmodels sandbox start` must outlive this process
    try:
        sandbox = _sandbox_to_attach(app, argv)
        if sandbox:
            app.attach_sandbox(sandbox)
        outcome = app.execute(argv, front_end=front_end)
    except HelpRequested as help_text:
        _out(help_text.message)
        return 0
    if outcome.format == "json":
        if outcome.message:
            _say(outcome.message)
        _out(json.dumps(outcome.json_data(), indent=2, default=str))
        return 0
    if outcome.message:
        _out(outcome.message)
    text = _render(outcome.value, front_end) if outcome.show_value else ""
    if text:
        _out(text)
    return 0


class OutputFailed(Exception):
    """Standard output could not be written (a full disk, a device error)."""


def _out(text: str) -> None:
    try:
        print(_writable(text, sys.stdout))
        sys.stdout.flush()  # a closed pipe shows here, inside main, not at interpreter exit
    except BrokenPipeError:
        raise
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputFailed(f"could not write to standard output: {reason}.") from None


def _error(text: str) -> None:
    _say(f"error: {text}")


# A terminal that cannot write UTF-8 (LANG=C without coercion, PYTHONIOENCODING=ascii) still
# gets every line. The marks we print have ASCII stand-ins of the same width, so tables stay
# aligned: a cut cell's last two characters and its ellipsis become "..." (a cell too narrow
# for that, "."); anything else the encoding lacks is replaced by the stream ("?").
_CUT_END = re.compile("[^\n\u2026]{2}\u2026|\u2026")
_ASCII_MARKS = str.maketrans({"\u2713": "v", "\u2014": "-", "\u00b7": "."})


def _writable(text: str, stream: Any) -> str:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    text = _CUT_END.sub(lambda cut: "..." if len(cut.group()) == 3 else ".", text)
    return text.translate(_ASCII_MARKS)


def _replace_what_cannot_be_written() -> None:
    """Characters stdout's encoding lacks are written as '?', never an error (stderr already
    writes them as \\x.. escapes)."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError, TypeError):
            reconfigure(errors="replace")


def _say(text: str) -> None:
    """A line on stderr (messages beside JSON, errors)."""
    try:
        print(_writable(text, sys.stderr), file=sys.stderr)
        sys.stderr.flush()
    except (ValueError, OSError):
        pass  # nowhere left to say it


def _silence_stdout() -> None:
    """After a closed pipe: point stdout at /dev/null so the flush at exit says nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
