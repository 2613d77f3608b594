"""What the model commands return: `list`, `show` and `delete`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..records import BASE, CUSTOM, AnyModel, CustomModel, Deployment, Displayable, StoredFile
from ..rules import suggest_deployment_name
from ..steps import NextStep, Syntax, plain
from ..wording import plural


@dataclass
class ModelList:
    """The result of `list`: base and custom models, with the counts line."""

    models: list[AnyModel]
    type: str = "all"

    @property
    def base_count(self) -> int:
        return sum(1 for m in self.models if m.type == BASE)

    @property
    def custom_count(self) -> int:
        return sum(1 for m in self.models if m.type == CUSTOM)

    def summary(self) -> str:
        found = f"{plural(len(self.models), 'model')} found"
        if self.type == "all":
            return f"{found} ({self.base_count} base, {self.custom_count} custom)"
        return f"{found} ({self.type})"

    def __len__(self) -> int:
        return len(self.models)

    def __iter__(self):
        return iter(self.models)


@dataclass
class ModelDetails(Displayable):
    """Everything `show` tells about one model (presentation shows it as a card)."""

    model: AnyModel
    versions: list[str] = field(default_factory=list)
    deployments: list[Deployment] = field(default_factory=list)
    weights: dict[str, Any] = field(default_factory=dict)  # what the upload recorded
    files: list[StoredFile] = field(default_factory=list)  # each stored file, with its SHA-256
    files_warning: str = ""  # why `files` is empty when the storage could not be read
    deploy_step: NextStep | None = None  # how to deploy it
    deployments_step: NextStep | None = None  # how to list its deployments

    @property
    def type(self) -> str:
        return self.model.type

    def to_dict(self, syntax: Syntax = plain) -> dict[str, Any]:
        """The JSON form; the next commands written in `syntax`."""
        data = self.model.to_dict()
        steps = {"deploy": self.deploy_step, "deployments": self.deployments_step}
        data.update(
            type=self.model.type,
            status=self.model.status,
            versions=list(self.versions),
            deployments=[d.name for d in self.deployments],
            weights=dict(self.weights),
            commands={key: syntax(step) for key, step in steps.items() if step is not None},
        )
        if self.files_warning:
            data["files_warning"] = self.files_warning
        if self.files:
            data["files"] = [{"path": f.path, "size": f.size, "sha256": f.sha256,
                              "sha256_basis": f.sha256_basis if f.sha256 else None}
                             for f in self.files]  # fmt: skip
        if isinstance(self.model, CustomModel):
            data.update(format=self.model.format, size=self.model.size)
        return data


@dataclass
class DeleteReport:
    model: CustomModel
    blobs_removed: int
    kept_weights: bool
    deployments: list[str] | None  # None: they could not be listed
    weights_left: str = ""  # why the weights could not be removed (they stay in storage)

    @property
    def steps(self) -> tuple[NextStep, ...]:
        """What the summary's {0} names."""
        return (NextStep.of("deployments list", model=self.model.name),)

    def summary(self) -> str:
        """One line; the command it names is {0} (`steps`)."""
        m = self.model
        count = self.blobs_removed
        if self.kept_weights:
            weights = "kept its weights in storage"
        elif self.weights_left:
            weights = f"left its weights in storage ({self.weights_left.rstrip('.')})"
        else:
            weights = f"removed its weights ({count} blob{'s' if count != 1 else ''})"
        text = f"Deleted custom model '{m.name}' version {m.version} and {weights}."
        if self.deployments is None:
            text += " Deployments are untouched (they could not be listed to check)."
        elif self.deployments:
            text += (
                f" Deployments are untouched: {', '.join(self.deployments)} still use it ({{0}})."
            )
        else:
            text += " No deployment used it."
        return text


def deploy_step(model: AnyModel, *, type: str | None = None, what: str = "") -> NextStep:
    """The deploy command for `model` at its version, with a suggested deployment name."""
    return NextStep.of(
        "deploy",
        name=model.name,
        type=type,
        version=model.version or None,
        deployment_name=suggest_deployment_name(model.name),
        what=what,
    )
