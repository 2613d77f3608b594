"""What the forms and the dashboard need from the front end that shows them.

Presentation sits below the front ends, so it names what it uses here instead of importing
them: the front end (the magic, a command, the Python API) passes an object that has these.
`AzModels` is one: the magic and the deploy command pass it as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..services.deployments import DeploymentService
    from ..services.models import ModelService
    from ..services.quota import QuotaService
    from ..steps import FrontEnd


class Result(Protocol):
    """What running a command gives back (a command's `Outcome` is one)."""

    value: Any  # shown below the form (unless show_value is False); None for pure actions
    message: str  # one line for people
    show_value: bool


class Actions(Protocol):
    """The services a form reads, and a way to run a command line the way the user would."""

    debug: bool  # show a full traceback instead of one line
    location: str  # the region a deployment goes to unless the form says otherwise

    @property
    def models(self) -> ModelService: ...

    @property
    def deployments(self) -> DeploymentService: ...

    @property
    def quota(self) -> QuotaService: ...

    def execute(self, line: list[str], *, front_end: FrontEnd | None = ...) -> Result:
        """Parse and run one command (argv without the program name), as typed in `front_end`
        (the forms and the dashboard: `steps.NOTEBOOK`)."""
        ...
