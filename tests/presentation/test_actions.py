"""Presentation acts only through the `Actions` it is given: any front end can host the forms and
the dashboard, and every click goes through that front end's `execute`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from presentation_support import *  # noqa: F403 (the shared fixtures)
from presentation_support import output_text

from azmodels_magic.presentation.actions import Actions
from azmodels_magic.presentation.dashboard import Dashboard
from azmodels_magic.presentation.forms import DeployForm, UploadForm


@dataclass
class FrontEnd:
    """A front end other than AzModels: the same services, its own way of running commands."""

    app: Any
    debug: bool = False
    location: str = "westus"
    ran: list[tuple[list[str], str]] = field(default_factory=list)

    @property
    def models(self):
        return self.app.models

    @property
    def deployments(self):
        return self.app.deployments

    @property
    def quota(self):
        return self.app.quota

    def execute(self, line: list[str], *, front_end=None):
        self.ran.append((list(line), front_end.prog if front_end else "azmodels"))
        return self.app.execute(line, front_end=front_end)


def test_the_deploy_form_runs_its_command_through_the_front_end(app, unique):
    front: Actions = FrontEnd(app, location="swedencentral")
    form = DeployForm(front)
    assert form.region.value == "swedencentral"  # the front end's region, not the app's
    name = unique("via-front")
    form.model.value = form.key_for("gpt-4o-mini")
    form.name.value = name
    form.region.value = app.location
    form.button.click()
    assert front.ran == [(form.argv(), "%azmodels")]
    assert app.deployments.get(name).status == "Running"
    assert f"Deployment '{name}'" in output_text(form.output)


def test_the_upload_form_checks_locally_and_runs_nothing_until_clicked(app, weights, unique):
    front = FrontEnd(app)
    form = UploadForm(front)
    form.path.value = str(weights)
    form.base_model.value = "gpt-4o"
    assert form.info is not None and form.info.format == "safetensors"
    form.name.value = "9-not-a-name"
    assert form.button.disabled and "model name" in form.problem
    form.name.value = unique("via-front")
    assert form.problem is None and front.ran == []  # typing runs no command


def test_the_dashboard_lists_through_the_front_end(app, custom_model):
    front = FrontEnd(app)
    board = Dashboard(front)
    assert [argv for argv, _prog in front.ran] == [
        ["list"],
        ["deployments", "list"],
        ["uploads", "list"],
    ]
    assert f"custom:{custom_model.name}:{custom_model.version}" in board.row_values("models")
