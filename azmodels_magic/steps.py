"""Next steps as data: a command the user may run next, written by each front end in its syntax.

Services and errors never write front-end syntax. They return (or carry) `NextStep`s, and text
that names a command holds a `{0}`, `{1}`... placeholder for each; a front end fills them in with
its own `Syntax`: the notebook magic with its `%` prefix, the CLI as `azmodels deploy --name x`,
the Python API as `az.run("deploy --name x")`.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# How a front end writes a step (the whole command, ready to paste).
Syntax = Callable[["NextStep"], str]


@dataclass(frozen=True)
class NextStep:
    """One command in the grammar's words, with what it is for ("Deploy it")."""

    command: str  # the grammar's command words: "deploy", "deployments list"
    # Positional values first, then (flag, value) pairs; a flag with value None stands alone.
    positionals: tuple[str, ...] = ()
    options: tuple[tuple[str, str | None], ...] = ()
    what: str = ""

    @classmethod
    def of(cls, command: str, *positionals: str, what: str = "", **options: object) -> NextStep:
        """`NextStep.of("deploy", name="gpt-4o", deployment_name="chat", no_wait=True)`:
        keyword names become flags (`deployment_name` -> `--deployment-name`); None is left
        out, True is a bare flag."""
        pairs: list[tuple[str, str | None]] = []
        for key, value in options.items():
            if value is None or value is False:
                continue
            flag = "--" + key.replace("_", "-")
            pairs.append((flag, None if value is True else str(value)))
        return cls(command, tuple(str(p) for p in positionals), tuple(pairs), what)

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


def plain(step: NextStep) -> str:
    """The syntax of text read outside any front end (logs, `str()` of an error): the terminal's."""
    return f"azmodels {step.line()}"


def fill(template: str, steps: Sequence[NextStep], syntax: Syntax = plain) -> str:
    """`template` with each `{i}` replaced by steps[i] in `syntax`, in backticks. Other braces in
    the template stay as they are (a service's message may hold JSON)."""
    if not steps:
        return template
    text = template
    for index, step in enumerate(steps):
        text = text.replace("{" + str(index) + "}", f"`{syntax(step)}`")
    return text
