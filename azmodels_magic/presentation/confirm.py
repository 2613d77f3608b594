"""Confirmation before destroying something: type the name to go on.

In a terminal: input() (Ctrl-D or Ctrl-C there cancels). In a notebook: a small widget (type
the name, click the red button).
Where neither is possible (a script, CI, a pipe) it refuses and says to pass --force. The front
end says which (`FrontEnd.asks`).
The caller (a command) says what its result looks like while the widget waits (`pending`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import CancelledError, UsageError
from ..steps import is_terminal
from .widgets import ConfirmBox

T = TypeVar("T")


def confirm(
    *,
    expected: str,
    what: str,
    action: Callable[[], T],
    force: bool,
    pending: Callable[[Any, str], T],
    asks: str,
    verb: str = "delete",
) -> T:
    """Run `action` once the user typed `expected`, asked the way the front end asks (`asks`:
    "input", "widget" or "" for not at all). With a widget, return `pending(widget, message)`:
    the widget runs `action` when the user confirms."""
    if force:
        return action()
    if asks == "input":
        try:
            typed = input(f"Type '{expected}' to {verb} {what} (anything else cancels): ")
        except (EOFError, KeyboardInterrupt):  # Ctrl-D, Ctrl-C or a closed stdin: a "no"
            if is_terminal(sys.stdout):
                print()  # the prompt's line ends before the line that says why
            raise CancelledError(f"Nothing was {verb}d: the confirmation was cancelled.") from None
        if typed.strip() != expected:
            raise CancelledError(f"Nothing was {verb}d: the name typed did not match.")
        return action()
    if asks == "widget":
        box = ConfirmBox(expected=expected, what=what, verb=verb, action=action)
        return pending(box.widget, f"Confirm below to {verb} {what}.")
    raise UsageError(
        f"Refusing to {verb} {what} without confirmation in a non-interactive run: "
        "pass --force to confirm."
    )
