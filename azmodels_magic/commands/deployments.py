"""Handlers of deploy and the deployments commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..cache import bulk_objects
from ..errors import UsageError
from ..presentation.confirm import confirm
from ..presentation.forms import deploy_form
from ..presentation.progress import StatusProgress
from ..presentation.tables import deployments_frame, metrics_frame
from ..services.deployments import KEY_ENV, accepted_text
from ..steps import NextStep
from . import Outcome
from .quota import deployments_all_accounts

if TYPE_CHECKING:
    import argparse

    from ..api import AzModels


def _status_bar(app: AzModels, args: argparse.Namespace, what: str):
    """A bar that follows the operation; none with --no-progress or when not waiting for it."""
    waits = not getattr(args, "no_wait", False)
    shown = app.progress and waits and not getattr(args, "no_progress", False)
    return StatusProgress(what, enabled=shown)


def _shown(bar) -> Callable[[str], None] | None:
    """The bar as the service's status callback, or None when it shows nothing: a state nobody
    sees is not worth a request (the service reads the deployment to report it)."""
    return bar if bar.enabled else None


def deploy(app: AzModels, args: argparse.Namespace) -> Outcome:
    missing = [flag for flag, value in (("--name", args.name),
               ("--deployment-name", args.deployment_name)) if not value]  # fmt: skip
    if missing:
        if not args.name and not args.deployment_name and args.front_end.forms:
            return Outcome(value=deploy_form(app), message="")
        raise UsageError(
            f"deploy needs {' and '.join(missing)}: e.g. {{0}}.",
            steps=[NextStep.of("deploy", name="gpt-4o", deployment_name="chat")],
        )
    with _status_bar(app, args, f"Deploying {args.deployment_name}") as bar:
        details = app.deployments.deploy(
            model=args.name,
            deployment_name=args.deployment_name,
            type=args.type,
            sku=args.sku,
            capacity=args.capacity,
            region=args.region,
            version=args.version,
            model_format=args.model_format,
            wait=not args.no_wait,
            on_status=_shown(bar),
        )
    d = details.deployment
    if details.state_unknown:  # accepted: not a failure, but say what is not known
        text = accepted_text("deploy", d.name, details.state_unknown)
        return Outcome(value=details, message=text)
    message = (
        f"Deployment '{d.name}' of {d.type} model {d.model_name} {d.model_version}: {d.status} "
        f"({d.sku} x {d.capacity})."
    )
    steps = []
    if args.no_wait:
        message += " Check progress with {0}."
        steps.append(NextStep.of("deployments show", name=d.name))
    return Outcome(value=details, message=message, steps=tuple(steps))


def deployments_list(app: AzModels, args: argparse.Namespace) -> Outcome:
    if getattr(args, "all_accounts", False):
        return deployments_all_accounts(app, args)

    with bulk_objects():
        found = app.deployments.list(model=args.model, type=args.type, status=args.status)
        frame = deployments_frame(found.deployments)
    return Outcome(value=frame, message=found.summary())


def deployments_show(app: AzModels, args: argparse.Namespace) -> Outcome:
    if args.metrics:
        metrics = app.deployments.metrics(args.name)
        rate = metrics.error_rate
        return Outcome(
            value=metrics_frame(metrics),
            message=(
                f"Last 24 hours of '{args.name}': {metrics.requests} requests, error rate "
                + (f"{rate:.1%}" if rate is not None else "n/a")
                + "."
            ),
        )
    return Outcome(value=app.deployments.show(args.name))


def deployments_scale(app: AzModels, args: argparse.Namespace) -> Outcome:
    current = app.deployments.settled(args.name)  # a scale in flight is waited for
    app.deployments.check_capacity(current, args.capacity)  # refusals stay one line
    if current.capacity != args.capacity:
        print(
            f"Scaling '{current.name}' ({current.sku}): capacity {current.capacity} -> "
            f"{args.capacity}"
        )
    with _status_bar(app, args, f"Scaling {args.name}") as bar:
        report = app.deployments.scale(
            args.name, capacity=args.capacity, wait=not args.no_wait, on_status=_shown(bar)
        )
    return Outcome(value=report.deployment, message=report.summary(), show_value=False)


def deployments_delete(app: AzModels, args: argparse.Namespace) -> Outcome:
    deployment = app.deployments.get(args.name)

    def run() -> Outcome:
        with _status_bar(app, args, f"Deleting {deployment.name}") as bar:
            return Outcome(message=app.deployments.delete(deployment.name, on_status=_shown(bar)))

    return confirm(
        expected=deployment.name,
        what=f"deployment '{deployment.name}' ({deployment.model_name})",
        action=run,
        force=args.force,
        pending=lambda widget, message: Outcome(value=widget, message=message),
        asks=args.front_end.asks,
    )


def deployments_key(app: AzModels, args: argparse.Namespace) -> Outcome:
    """The account key where the Try it snippets read it, $AZURE_AI_API_KEY; never on a screen.

    The notebook's magic and Python keep it in their own process's environment. A terminal cannot
    receive a variable from a child process, so the CLI prints the key alone where its output is
    captured (`export AZURE_AI_API_KEY="$(azmodels deployments key --name X)"`, as Azure CLI
    prints keys) and, on a screen, says how to capture it instead."""
    import os

    front_end = args.front_end
    deployment = app.deployments.get(args.name)  # a typo is an error, not a silent key
    if front_end.name == "terminal":
        if front_end.stdout_is_terminal:
            return Outcome(
                message=(
                    f"The key is printed only where it is captured, never on a screen: {{0}} "
                    f"puts it into ${KEY_ENV} of this shell, where the Try it snippets of "
                    f"'{deployment.name}' read it."
                ),
                steps=(NextStep.of("deployments key", name=deployment.name, fills=KEY_ENV),),
            )
        return Outcome(message=app.deployments.api_key())
    os.environ[KEY_ENV] = app.deployments.api_key()
    return Outcome(
        message=(
            f"${KEY_ENV} now holds the API key of account {app.deployments.arm.account} (this "
            f"process only; not shown). The Try it snippets of '{deployment.name}' read it: {{0}}."
        ),
        steps=(NextStep.of("deployments show", name=deployment.name),),
    )
