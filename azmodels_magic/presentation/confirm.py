"""Confirmation before destroying something: type the name to go on.

In a terminal: input(). In a notebook: a small widget (type the name, click the red button).
Where neither is possible (a script, CI, a pipe) it refuses and says to pass --force.
The caller (a command) says what its result looks like while the widget waits (`pending`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

from ..environment import INTERACTIVE
from ..errors import CancelledError, UsageError
from .widgets import ConfirmBox

T = TypeVar("T")


def interaction_mode() -> str:
    """'notebook', 'terminal' or 'none'."""
    forced = INTERACTIVE.read()
    if forced:
        return forced
    shell = sys.modules.get("IPython") and _ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        return "notebook"
    try:
        if sys.stdin is not None and sys.stdin.isatty():
            return "terminal"
    except (AttributeError, ValueError):
        pass
    return "none"


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    return get_ipython()


def confirm(
    *,
    expected: str,
    what: str,
    action: Callable[[], T],
    force: bool,
    pending: Callable[[Any, str], T],
    verb: str = "delete",
) -> T:
    """Run `action` once the user typed `expected`. In a notebook, return `pending(widget,
    message)`: the widget runs `action` when the user confirms."""
    if force:
        return action()
    mode = interaction_mode()
    if mode == "terminal":
        typed = input(f"Type '{expected}' to {verb} {what} (anything else cancels): ")
        if typed.strip() != expected:
            raise CancelledError(f"Nothing was {verb}d: the name typed did not match.")
        return action()
    if mode == "notebook":
        box = ConfirmBox(expected=expected, what=what, verb=verb, action=action)
        return pending(box.widget, f"Confirm below to {verb} {what}.")
    raise UsageError(
        f"Refusing to {verb} {what} without confirmation in a non-interactive run: "
        "pass --force to confirm."
    )
