"""What the deployment commands return: `deployments list`, `show`, `scale`, and `deploy`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..records import BASE, Deployment, Displayable
from ..steps import NextStep, Syntax, fill, plain
from ..wording import plural

KEY_ENV = "AZURE_AI_API_KEY"  # where `deployments key` puts the key, and the snippets read it


@dataclass
class DeploymentList:
    deployments: list[Deployment]

    def summary(self) -> str:
        base = sum(1 for d in self.deployments if d.type == BASE)
        custom = len(self.deployments) - base
        found = f"{plural(len(self.deployments), 'deployment')} found"
        return f"{found} ({base} base, {custom} custom)"

    def __len__(self) -> int:
        return len(self.deployments)

    def __iter__(self):
        return iter(self.deployments)


@dataclass
class MetricPoint:
    time: datetime
    requests: int
    average_latency_ms: float | None
    client_errors: int
    server_errors: int


@dataclass
class DeploymentMetrics:
    """Hourly metrics of one deployment, as Azure Monitor reports them."""

    deployment: str
    points: list[MetricPoint]

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.points)

    @property
    def errors(self) -> int:
        return sum(p.client_errors + p.server_errors for p in self.points)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def average_latency_ms(self) -> float | None:
        weighted = [(p.average_latency_ms, p.requests) for p in self.points if p.requests]
        total = sum(n for _, n in weighted if _ is not None)
        if not total:
            return None
        return sum(v * n for v, n in weighted if v is not None) / total


@dataclass
class DeploymentDetails(Displayable):
    """What `deploy` and `deployments show` tell about one deployment (presentation shows it
    as a card)."""

    deployment: Deployment
    region: str
    endpoint: str
    metrics: DeploymentMetrics | None = None
    notes: list[str] = field(default_factory=list)
    # Why the outcome of an accepted deploy could not be followed ("" when it was).
    state_unknown: str = ""

    @property
    def name(self) -> str:
        return self.deployment.name

    @property
    def status(self) -> str:
        return self.deployment.status

    def snippets(self) -> dict[str, str]:
        # OpenAI/v1: the deployment is the body's `model` (json.dumps quotes any name safely).
        body = json.dumps({"model": self.name, "messages": [{"role": "user", "content": "Hello!"}]})
        python = (
            "import os, requests\n"
            f'url = "{self.endpoint}"\n'
            f'headers = {{"api-key": os.environ["{KEY_ENV}"]}}\n'
            f"body = {body}\n"
            "print(requests.post(url, headers=headers, json=body, timeout=60).json())"
        )
        curl = (
            f'curl -s "{self.endpoint}" -H "api-key: ${KEY_ENV}" '
            f"-H 'Content-Type: application/json' -d '{body}'"
        )
        return {"python": python, "curl": curl}

    def steps(self) -> dict[str, NextStep]:
        """The commands to use it next: its key, scale, delete."""
        n = self.deployment.name
        return {
            "key": NextStep.of("deployments key", name=n, what="Key", fills=KEY_ENV),
            "scale": NextStep.of("deployments scale", name=n, capacity="N", what="Scale"),
            "delete": NextStep.of("deployments delete", name=n, what="Delete"),
        }

    def to_dict(self, syntax: Syntax = plain) -> dict[str, Any]:
        """The JSON form; the next commands written in `syntax`."""
        steps = self.steps()
        data = self.deployment.to_dict()
        data.update(
            type=self.deployment.type,
            status=self.status,
            region=self.region,
            endpoint=self.endpoint,
            snippets=self.snippets(),
            commands={key: syntax(steps[key]) for key in ("scale", "delete")},
        )
        if self.state_unknown:
            data["state_unknown"] = self.state_unknown
        if self.metrics is not None:
            data["metrics_24h"] = {
                "requests": self.metrics.requests,
                "average_latency_ms": self.metrics.average_latency_ms,
                "error_rate": self.metrics.error_rate,
            }
        return data


def accepted_text(verb: str, name: str, reason: str, syntax: Syntax = plain) -> str:
    """What a command says when the service accepted its change but the outcome is unknown,
    naming the command to check with in `syntax` (the process's unless a front end says)."""
    check = "{0}" + (" (once it is not found, it is deleted)" if verb == "delete" else "")
    return fill(
        f"The service accepted the {verb} of '{name}', but its state is unknown ({reason}). "
        f"Check with {check}; running the same command again picks it up.",
        [NextStep.of("deployments show", name=name)],
        syntax,
    )


@dataclass
class ScaleReport:
    deployment: Deployment
    previous: int
    target: int
    waited: bool
    state_unknown: str = ""  # why an accepted scale could not be followed ("" when it was)

    def summary(self, syntax: Syntax = plain) -> str:
        """One line; the command it names is written in `syntax` (the front end's)."""
        d = self.deployment
        if self.state_unknown:
            return accepted_text("scale", d.name, self.state_unknown, syntax)
        if self.previous == self.target:
            return f"Deployment '{d.name}' already has capacity {self.target}: nothing to do."
        check = NextStep.of("deployments show", name=d.name)
        state = "" if self.waited else fill(" (still updating: check with {0})", [check], syntax)
        return f"Scaled '{d.name}' ({d.sku}) from {self.previous} to {self.target}{state}."
