"""Next steps as data, and the front end that writes them in its own syntax.

Services and errors never write front-end syntax. They return (or carry) `NextStep`s, and text
that names a step holds a `{0}`, `{1}`... placeholder for each; the front end a command was typed
in (`FrontEnd`) fills them in: the notebook magic as `%azmodels deploy --name x` and
`%config AzModels.region_accounts = {...}`, the terminal as `azmodels deploy --name x` and
`export AZMODELS_REGION_ACCOUNTS='{...}'`, the Python API as `az.run('deploy --name x')` and
`az.region_accounts = {...}`.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

# How a front end writes a step (the whole command or assignment, ready to paste).
Syntax = Callable[["NextStep"], str]


@dataclass(frozen=True)
class NextStep:
    """One thing the user may do next, with what it is for ("Deploy it"): a command in the
    grammar's words, or (`NextStep.change`) a setting to change."""

    command: str = ""  # the grammar's command words: "deploy", "deployments list"
    # Positional values first, then (flag, value) pairs; a flag with value None stands alone.
    positionals: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()
    what: str = ""
    # The environment variable the command fills (`deployments key`: the notebook's magic and
    # `az.run` set it in their process; the terminal captures what the command prints).
    fills: str = ""
    setting: str = ""  # a setting to change (`region_accounts`) instead of a command...
    value: Any = None  # ...and the value to give it

    @classmethod
    def of(
        cls, command: str, *positionals: str, what: str = "", fills: str = "", **options: object
    ) -> NextStep:
        """`NextStep.of("deploy", name="gpt-4o", deployment_name="chat", no_wait=True)`:
        keyword names become flags (`deployment_name` -> `--deployment-name`); None is left
        out, True is a bare flag."""
        pairs: list[tuple[str, str | None]] = []
        for key, value in options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            pairs.append((flag, None if value is True else str(value)))
        return cls(command, tuple(str(p) for p in positionals), tuple(pairs), what, fills)

    @classmethod
    def change(cls, setting: str, value: Any, *, what: str = "") -> NextStep:
        """`NextStep.change("region_accounts", {"westus": "<account>"})`: set a setting."""
        return cls(what=what, setting=setting, value=value)

    def words(self) -> list[str]:
        """The command line after the program's name, one word per argument."""
        out = [*self.command.split(), *self.positionals]
        for flag, value in self.options:
            out.append(flag)
            if value is not None:
                out.append(value)
        return out

    def line(self) -> str:
        """The words as a shell would read them (quoted where needed)."""
        return shlex.join(self.words())


def setting_variable(setting: str) -> str:
    """The environment variable the terminal reads a setting from: `AZMODELS_REGION_ACCOUNTS`."""
    return "AZMODELS_" + setting.upper()


def setting_from_text(text: str) -> Any:
    """A setting's value as the terminal gives it in its variable: JSON (`{"westus": "a"}`,
    `30`, `1` for true), else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _notebook(step: NextStep) -> str:
    if step.setting:
        return f"%config AzModels.{step.setting} = {step.value!r}"
    return f"%azmodels {step.line()}"


def _terminal(step: NextStep) -> str:
    if step.setting:
        value = step.value
        if isinstance(value, bool):
            text = "1" if value else "0"
        else:
            text = value if isinstance(value, str) else json.dumps(value)
        return f"export {setting_variable(step.setting)}={shlex.quote(text)}"
    command = f"azmodels {step.line()}"
    if step.fills:  # a subprocess cannot set the shell's variable: the shell captures it
        return f'export {step.fills}="$({command})"'
    return command


def _python(step: NextStep) -> str:
    if step.setting:
        return f"az.{step.setting} = {step.value!r}"
    return f"az.run({step.line()!r})"


_WRITERS: dict[str, Syntax] = {"notebook": _notebook, "terminal": _terminal, "python": _python}


@dataclass(frozen=True)
class FrontEnd:
    """Where a command was typed: how it writes next steps, how it can ask the user a question,
    and whether its standard output is a terminal. Each front end makes its own (the magic, the
    CLI, `AzModels.run`) and `commands.execute` hands it to the command."""

    name: str  # "notebook" (the %azmodels magic), "terminal" (the azmodels CLI) or "python"
    prog: str  # how its commands start, for usage and help: "%azmodels", "azmodels", "az.run('"
    # How it asks (a confirmation): "widget" (a notebook's form), "input" (a terminal's prompt)
    # or "" (it cannot: a script, CI, a pipe; the command says to pass --force).
    asks: str = ""
    # A secret is printed only where stdout is known not to be a terminal (a pipe, `$(...)`).
    stdout_is_terminal: bool = True

    def write(self, step: NextStep) -> str:
        """`step` in this front end's syntax, ready to paste."""
        return _WRITERS[self.name](step)

    @property
    def stores_results(self) -> bool:
        """True where `-o VAR` stores a command's value (a notebook's namespace); a terminal has
        no variables, and Python code takes the value `az.run` returns."""
        return self.name == "notebook"

    @property
    def forms(self) -> bool:
        """True where a form can be shown and used (a notebook's widgets)."""
        return self.asks == "widget"


def is_terminal(stream: Any) -> bool:
    """True when `stream` (sys.stdin, sys.stdout) is a terminal."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # replaced by something without one, or closed
        return False


def terminal(*, asks: str = "", stdout_is_terminal: bool = True) -> FrontEnd:
    """The terminal's front end (the `azmodels` CLI, and `AzModels.execute` unless told
    otherwise): it asks as `asks` says (`environment.asking`: input() where stdin is a
    terminal). Its stdout is taken for a screen unless it says otherwise: nothing secret is
    printed there."""
    return FrontEnd("terminal", "azmodels", asks=asks, stdout_is_terminal=stdout_is_terminal)


# A terminal's front end that asks nothing: `commands.execute`'s default.
TERMINAL = FrontEnd("terminal", "azmodels")
# A notebook's widgets (the dashboard, the forms): they write steps as the magic does, and ask
# with widgets of their own.
NOTEBOOK = FrontEnd("notebook", "%azmodels", asks="widget")
# How Python code runs commands (`az.run(...)`, `az.<setting> = ...`); its commands' words go
# inside `az.run('...')`, which its help's usage line says.
PYTHON_PROG = "az.run('"
PYTHON = FrontEnd("python", PYTHON_PROG)

# The front end of the process: how text read outside any command's front end (`str()` of an
# error raised to Python code, a string a service method returns, a log line) names steps.
# Python's while the package is imported by Python code; the CLI's `main` makes it the
# terminal's while it runs. The magic leaves it Python's: its own errors and outcomes are
# written by its front end, so what is read through `str()` in a notebook was raised to the
# Python code of a cell, whose reader writes Python.
_process: list[FrontEnd] = [PYTHON]


def process_front_end() -> FrontEnd:
    """The front end of the process (see `plain`)."""
    return _process[-1]


@contextmanager
def front_end_of_process(front_end: FrontEnd) -> Iterator[FrontEnd]:
    """Within the block, text read outside any front end names steps in `front_end`'s syntax
    (the CLI's `main`: the terminal's)."""
    _process.append(front_end)
    try:
        yield front_end
    finally:
        _process.pop()


def plain(step: NextStep) -> str:
    """A step in the syntax of the process's front end (Python's unless the CLI runs)."""
    return process_front_end().write(step)


def fill(template: str, steps: Sequence[NextStep], syntax: Syntax = plain) -> str:
    """`template` with each `{i}` replaced by steps[i] in `syntax`, in backticks. Other braces in
    the template stay as they are (a service's message may hold JSON)."""
    if not steps:
        return template
    text = template
    for index, step in enumerate(steps):
        text = text.replace("{" + str(index) + "}", f"`{syntax(step)}`")
    return text
