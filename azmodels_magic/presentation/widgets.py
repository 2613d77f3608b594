"""ipywidgets front ends. Widgets call the same services as the commands; no logic lives here
that a command does not have. ipywidgets is imported on first use."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AzModelsError

if TYPE_CHECKING:
    from ..commands import Outcome


def show_outcome(output: Any, run: Callable[[], Any]) -> Any:
    """Run `run` inside an Output area: its message and value show there, errors as one line."""
    from IPython.display import HTML, display

    output.clear_output()
    with output:
        try:
            outcome = run()
        except AzModelsError as exc:
            display(HTML(f'<div style="color:#a4262c">{type(exc).__name__}: {_escape(exc)}</div>'))
            return None
        message = getattr(outcome, "message", "")
        if message:
            print(message)
        value = getattr(outcome, "value", None)
        if value is not None:
            display(value)
        return outcome


def _escape(value: object) -> str:
    import html

    return html.escape(str(value))


class ConfirmBox:
    """Type the name, click the button: the action runs and its result shows below."""

    def __init__(
        self, *, expected: str, what: str, verb: str, action: Callable[[], Outcome]
    ) -> None:
        import ipywidgets as w

        self.expected = expected
        self.action = action
        self.text = w.Text(placeholder=expected, description="Name:")
        self.button = w.Button(
            description=verb.capitalize(), button_style="danger", disabled=True, icon="trash"
        )
        self.output = w.Output()
        self.done = False
        label = w.HTML(f"Type <b>{_escape(expected)}</b> to {verb} {_escape(what)}.")
        self.text.observe(self._typed, names="value")
        self.button.on_click(self._clicked)
        self.widget = w.VBox([label, w.HBox([self.text, self.button]), self.output])

    def _typed(self, change: dict[str, Any]) -> None:
        self.button.disabled = self.done or change["new"].strip() != self.expected

    def _clicked(self, _button: Any) -> None:
        if self.done or self.text.value.strip() != self.expected:
            return
        self.done = True
        self.button.disabled = True
        self.text.disabled = True
        show_outcome(self.output, self.action)
