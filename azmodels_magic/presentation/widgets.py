"""ipywidgets front ends. Widgets call the same services as the commands; no logic lives here
that a command does not have. ipywidgets is imported on first use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ..errors import AzModelsError, internal_error_text


class ErrorLine:
    """An error as one line: red HTML in a notebook, `Kind: message` as text."""

    def __init__(self, exc: BaseException) -> None:
        self.kind = type(exc).__name__
        self.message = str(exc)
        if not isinstance(exc, AzModelsError):
            self.kind = "InternalError"
            self.message = internal_error_text(exc)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        return f'<div class="azmodels-error" style="color:#a4262c">{_escape(self)}</div>'


class _Stream:
    """A text stream that appends to an Output widget's outputs (used when there is no kernel)."""

    def __init__(self, output: Any, name: str) -> None:
        self.output = output
        self.name = name

    def write(self, text: str) -> int:
        if not text:
            return 0
        outputs = list(self.output.outputs)
        last = outputs[-1] if outputs else None
        if last and last.get("output_type") == "stream" and last.get("name") == self.name:
            outputs[-1] = {**last, "text": last["text"] + text}
            self.output.outputs = tuple(outputs)
        else:
            self.output.outputs = (
                *outputs, {"output_type": "stream", "name": self.name, "text": text},
            )  # fmt: skip
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _kernel() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return getattr(shell, "kernel", None) if shell is not None else None


@contextmanager
def capture(output: Any) -> Iterator[Callable[[Any], None]]:
    """Send prints, progress bars and displayed values into `output`; yields a `show(value)`.

    In a kernel this is `with output:` (the front end routes everything there). Without one (a
    terminal IPython, the tests) the same text and display data are appended to
    `output.outputs`, so what a form shows can be read back.
    """
    if _kernel() is not None:
        from IPython.display import display

        with output:
            yield display
        return
    import contextlib

    def show(value: Any) -> None:
        output.append_display_data(value)

    with (
        contextlib.redirect_stdout(_Stream(output, "stdout")),
        contextlib.redirect_stderr(_Stream(output, "stderr")),
    ):
        yield show


def clear(output: Any) -> None:
    if _kernel() is not None:
        output.clear_output()
    else:
        output.outputs = ()


def show_outcome(output: Any, run: Callable[[], Any], *, debug: bool = False) -> Any:
    """Run `run` inside an Output area: its message and value show there, errors as one line.

    Any exception shows as one line (an unexpected one says it is a bug); with `debug` the full
    traceback shows instead. KeyboardInterrupt is not caught.
    """
    clear(output)
    with capture(output) as show:
        try:
            outcome = run()
        except Exception as exc:
            if debug:
                import traceback

                traceback.print_exc()
            else:
                show(ErrorLine(exc))
            return None
        message = getattr(outcome, "message", "")
        if message:
            print(message)
        value = getattr(outcome, "value", None)
        if value is not None and getattr(outcome, "show_value", True):
            show(value)
        return outcome


def _escape(value: object) -> str:
    import html

    return html.escape(str(value))


class ConfirmBox:
    """Type the name, click the button: the action runs and its result shows below."""

    def __init__(self, *, expected: str, what: str, verb: str, action: Callable[[], Any]) -> None:
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
